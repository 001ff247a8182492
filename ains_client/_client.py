"""`Client` and `AsyncClient`: the entry points of the SDK."""

from __future__ import annotations

from collections.abc import Awaitable
from types import TracebackType
from typing import Any, Self

import httpx

from ains_client._admin import Admin
from ains_client._agents import Agents, AsyncAgents
from ains_client._analytics import Analytics
from ains_client._base import DEFAULT_TIMEOUT, BaseClient, Call
from ains_client._batches import Batches
from ains_client._dlq import DeadLetters
from ains_client._keys import AsyncKeys, Keys
from ains_client._schedules import Schedules
from ains_client._send import AsyncSender, SyncSender
from ains_client._tasks import AsyncTasks, Tasks
from ains_client._templates import Templates
from ains_client._types import JSONObject, Page
from ains_client._webhook_calls import Webhooks

__all__ = ["AsyncClient", "Client"]


class Client(BaseClient):
    """Synchronous AINS client.

    `base_url` defaults to `$AINS_URL` or http://127.0.0.1:8000, `api_key` to `$AINS_API_KEY`.
    Calls are grouped by resource: `client.tasks`, `client.batches`, `client.schedules`,
    `client.templates`, `client.webhooks`, `client.dlq`, `client.analytics`, `client.agents`,
    `client.keys` and `client.admin`. Errors raise `AinsError` subclasses carrying the
    problem+json (`status`, `title`, `detail`, `errors` of `{field, reason}`).
    """

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        super().__init__(base_url, api_key, timeout)
        self._http = httpx.Client(base_url=self.base_url, transport=transport)
        self.tasks = Tasks(self)
        self.agents = Agents(self)
        self.keys = Keys(self)
        sender = SyncSender(self)
        self.batches: Batches[JSONObject, Page] = Batches(sender)
        self.schedules: Schedules[JSONObject, Page] = Schedules(sender)
        self.templates: Templates[JSONObject, Page] = Templates(sender)
        self.webhooks: Webhooks[JSONObject, Page] = Webhooks(sender)
        self.dlq: DeadLetters[JSONObject, Page] = DeadLetters(sender)
        self.analytics: Analytics[JSONObject, Page] = Analytics(sender)
        self.admin: Admin[JSONObject, Page] = Admin(sender)

    def send_call(self, call: Call) -> Any:
        """Send one described call; raise an `AinsError` subclass on any failure."""
        try:
            response = self._http.request(call.method, call.path, **self._request_kwargs(call))
        except httpx.TransportError as exc:
            raise self._network_error(exc) from exc
        return self._parse(response)

    def close(self) -> None:
        """Close the underlying connection pool."""
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class AsyncClient(BaseClient):
    """Asynchronous AINS client; the same calls as `Client`, awaited."""

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__(base_url, api_key, timeout)
        self._http = httpx.AsyncClient(base_url=self.base_url, transport=transport)
        self.tasks = AsyncTasks(self)
        self.agents = AsyncAgents(self)
        self.keys = AsyncKeys(self)
        sender = AsyncSender(self)
        self.batches: Batches[Awaitable[JSONObject], Awaitable[Page]] = Batches(sender)
        self.schedules: Schedules[Awaitable[JSONObject], Awaitable[Page]] = Schedules(sender)
        self.templates: Templates[Awaitable[JSONObject], Awaitable[Page]] = Templates(sender)
        self.webhooks: Webhooks[Awaitable[JSONObject], Awaitable[Page]] = Webhooks(sender)
        self.dlq: DeadLetters[Awaitable[JSONObject], Awaitable[Page]] = DeadLetters(sender)
        self.analytics: Analytics[Awaitable[JSONObject], Awaitable[Page]] = Analytics(sender)
        self.admin: Admin[Awaitable[JSONObject], Awaitable[Page]] = Admin(sender)

    async def send_call(self, call: Call) -> Any:
        """Send one described call; raise an `AinsError` subclass on any failure."""
        try:
            response = await self._http.request(
                call.method, call.path, **self._request_kwargs(call)
            )
        except httpx.TransportError as exc:
            raise self._network_error(exc) from exc
        return self._parse(response)

    async def aclose(self) -> None:
        """Close the underlying connection pool."""
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
