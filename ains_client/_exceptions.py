"""Exceptions raised by the AINS client.

The hierarchy::

    AinsError                 root; carries the problem+json fields (status, title, detail, errors)
    ├── NetworkError          the server could not be reached (connection refused, reset, timeout)
    ├── WaitTimeout           `wait()` gave up before the task reached a terminal state
    ├── AuthError             401 / 403
    ├── NotFound              404
    ├── Conflict              409 (e.g. a report for a stale attempt)
    ├── ValidationError       400 / 422
    ├── RateLimited           429 (with `retry_after` seconds when the server says)
    └── ServerError           5xx
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "AinsError",
    "AuthError",
    "Conflict",
    "NetworkError",
    "NotFound",
    "RateLimited",
    "ServerError",
    "ValidationError",
    "WaitTimeout",
    "error_from_problem",
]


class AinsError(Exception):
    """Root of every AINS client error; HTTP errors carry the RFC 9457 problem fields."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        title: str | None = None,
        detail: str | None = None,
        errors: list[dict[str, Any]] | None = None,
        body: Any = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.title = title
        self.detail = detail
        self.errors: list[dict[str, Any]] = errors or []
        self.body = body


class NetworkError(AinsError):
    """The request did not get an HTTP answer (connection refused, reset, read timeout); `url`
    is the server that was asked."""

    def __init__(self, message: str, *, url: str | None = None) -> None:
        super().__init__(message)
        self.url = url


class WaitTimeout(AinsError, TimeoutError):
    """A `wait()` call ran out of time; `last` holds the last task seen."""

    def __init__(self, message: str, *, last: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.last = last


class AuthError(AinsError):
    """401 (missing or wrong credentials) or 403 (visible but not allowed)."""


class NotFound(AinsError):
    """404: the resource does not exist or is not visible to the caller."""


class Conflict(AinsError):
    """409: the request conflicts with the current state (e.g. a stale attempt)."""


class ValidationError(AinsError):
    """400 or 422: the request was malformed; `errors` lists the offending fields."""


class RateLimited(AinsError):
    """429: too many requests; `retry_after` is the server's hint in seconds, if any."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after


class ServerError(AinsError):
    """5xx: the server failed; usually worth retrying later."""


_BY_STATUS: dict[int, type[AinsError]] = {
    400: ValidationError,
    401: AuthError,
    403: AuthError,
    404: NotFound,
    409: Conflict,
    422: ValidationError,
}


def _error_class(status: int) -> type[AinsError]:
    if status in _BY_STATUS:
        return _BY_STATUS[status]
    if status >= 500:
        return ServerError
    return AinsError


def error_from_problem(status: int, problem: Any, *, retry_after: float | None = None) -> AinsError:
    """Build the exception matching `status` from a problem+json body (or any body)."""
    fields: dict[str, Any] = problem if isinstance(problem, dict) else {}
    title = fields.get("title") if isinstance(fields.get("title"), str) else None
    detail = fields.get("detail") if isinstance(fields.get("detail"), str) else None
    raw_errors = fields.get("errors")
    errors = [e for e in raw_errors if isinstance(e, dict)] if isinstance(raw_errors, list) else []
    message = f"{status} {title or 'error'}" + (f": {detail}" if detail else "")
    kw: dict[str, Any] = {
        "status": status,
        "title": title,
        "detail": detail,
        "errors": errors,
        "body": problem,
    }
    if status == 429:
        return RateLimited(message, retry_after=retry_after, **kw)
    return _error_class(status)(message, **kw)
