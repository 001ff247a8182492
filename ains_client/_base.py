"""What the sync and async clients share: settings, request building and response parsing."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from ains_client._exceptions import AinsError, NetworkError, error_from_problem

__all__ = ["DEFAULT_TIMEOUT", "DEFAULT_URL", "AsyncRequester", "BaseClient", "Call", "Requester"]

DEFAULT_URL = "http://127.0.0.1:8000"
DEFAULT_TIMEOUT = 30.0
USER_AGENT = "ains-client/0.1"


@dataclass(frozen=True)
class Call:
    """One HTTP call, described independently of how (sync or async) it is sent."""

    method: str
    path: str
    json: Any = None
    params: dict[str, Any] | None = None
    headers: dict[str, str] | None = None
    extra_timeout: float = 0.0  # added to the client timeout, for long-polls


class Requester(Protocol):
    """What the sync resource classes need from their client."""

    def send_call(self, call: Call) -> Any:
        """Send `call` and return the decoded JSON answer (None when empty)."""
        ...


class AsyncRequester(Protocol):
    """What the async resource classes need from their client."""

    async def send_call(self, call: Call) -> Any:
        """Send `call` and return the decoded JSON answer (None when empty)."""
        ...


def drop_none(**fields: Any) -> dict[str, Any]:
    """The keyword arguments whose value is not None, for optional JSON fields and params."""
    return {k: v for k, v in fields.items() if v is not None}


class BaseClient:
    """Configuration and the request/response logic common to `Client` and `AsyncClient`."""

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        url = base_url or os.environ.get("AINS_URL") or DEFAULT_URL
        self.base_url = url.rstrip("/")
        self.api_key: str | None = api_key or os.environ.get("AINS_API_KEY") or None
        self.timeout = timeout

    def _headers(self, call: Call) -> dict[str, str]:
        headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        if call.headers:
            headers.update(call.headers)
        return headers

    def _request_kwargs(self, call: Call) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "headers": self._headers(call),
            "timeout": httpx.Timeout(self.timeout + call.extra_timeout),
        }
        if call.json is not None:
            kwargs["json"] = call.json
        if call.params:
            kwargs["params"] = call.params
        return kwargs

    def _network_error(self, exc: httpx.TransportError) -> NetworkError:
        """One readable line: unreachable (refused, DNS) or no answer in time."""
        if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):
            message = f"the server is unreachable at {self.base_url}"
        elif isinstance(exc, httpx.TimeoutException):
            message = f"no answer from {self.base_url} within {self.timeout:g}s"
        else:
            message = f"the connection to {self.base_url} failed ({type(exc).__name__})"
        return NetworkError(message, url=self.base_url)

    @staticmethod
    def _parse(response: httpx.Response) -> Any:
        """Decode a 2xx answer, or raise the `AinsError` subclass matching its status."""
        if response.is_success:
            if response.status_code == 204 or not response.content:
                return None
            try:
                return response.json()
            except ValueError as exc:
                raise AinsError(
                    f"invalid JSON in {response.status_code} answer", status=response.status_code
                ) from exc
        try:
            body: Any = response.json()
        except ValueError:
            body = {"title": response.reason_phrase, "detail": response.text[:500] or None}
        raise error_from_problem(
            response.status_code, body, retry_after=_retry_after(response.headers)
        )


def _retry_after(headers: httpx.Headers) -> float | None:
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None
