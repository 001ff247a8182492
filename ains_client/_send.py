"""One definition per resource for both clients: a resource sends `Call`s through a `Sender`,
which answers at once (`Client`) or with an awaitable (`AsyncClient`)."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any, Generic, Protocol, TypeVar

from ains_client._base import AsyncRequester, Call, Requester
from ains_client._types import JSONObject, Page

__all__ = ["AsyncSender", "Resource", "Sender", "SyncSender"]

J = TypeVar("J", covariant=True)
P = TypeVar("P", covariant=True)
JT = TypeVar("JT")
PT = TypeVar("PT")


def _object(data: Any) -> JSONObject:
    """A JSON object answer; an empty answer (204) is `{}`."""
    return data if isinstance(data, dict) else {} if data is None else {"items": data}


class Sender(Protocol[J, P]):
    """Sends a call and gives its answer as a JSON object (`J`) or a page (`P`)."""

    def json(self, call: Call) -> J:
        """The answer as a JSON object."""
        ...

    def page(self, call: Call) -> P:
        """The answer as a `Page`."""
        ...


class SyncSender:
    """`Sender[JSONObject, Page]` for the synchronous `Client`."""

    def __init__(self, client: Requester) -> None:
        self._client = client

    def json(self, call: Call) -> JSONObject:
        return _object(self._client.send_call(call))

    def page(self, call: Call) -> Page:
        return Page.from_json(self._client.send_call(call))


class AsyncSender:
    """`Sender[Awaitable[JSONObject], Awaitable[Page]]` for the `AsyncClient`."""

    def __init__(self, client: AsyncRequester) -> None:
        self._client = client

    async def _json(self, call: Call) -> JSONObject:
        return _object(await self._client.send_call(call))

    async def _page(self, call: Call) -> Page:
        return Page.from_json(await self._client.send_call(call))

    def json(self, call: Call) -> Awaitable[JSONObject]:
        return self._json(call)

    def page(self, call: Call) -> Awaitable[Page]:
        return self._page(call)


class Resource(Generic[JT, PT]):
    """A group of calls (`client.batches`, `client.dlq`, …); sync or async by its sender."""

    def __init__(self, sender: Sender[JT, PT]) -> None:
        self._send = sender
