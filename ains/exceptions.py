"""The root error: every error a client may see carries its HTTP status and renders as
RFC 9457 problem+json (rendered by `ains.http.problem`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class FieldError:
    field: str
    reason: str


class AinsError(Exception):
    status_code = 500
    title = "Internal Server Error"

    def __init__(
        self,
        detail: str,
        *,
        errors: list[FieldError] | None = None,
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or []
        self.extra = extra or {}
        self.headers = headers or {}


class BadRequest(AinsError):
    status_code = 400
    title = "Bad Request"


class Unauthorized(AinsError):
    status_code = 401
    title = "Unauthorized"


class Forbidden(AinsError):
    status_code = 403
    title = "Forbidden"


class NotFound(AinsError):
    status_code = 404
    title = "Not Found"


class Conflict(AinsError):
    status_code = 409
    title = "Conflict"


class PayloadTooLarge(AinsError):
    status_code = 413
    title = "Content Too Large"


class UnsupportedMediaType(AinsError):
    status_code = 415
    title = "Unsupported Media Type"


class Unprocessable(AinsError):
    status_code = 422
    title = "Unprocessable Content"

    @classmethod
    def field(cls, field: str, reason: str) -> Unprocessable:
        return cls(f"{field}: {reason}", errors=[FieldError(field, reason)])


class TooManyRequests(AinsError):
    status_code = 429
    title = "Too Many Requests"


class ServiceUnavailable(AinsError):
    status_code = 503
    title = "Service Unavailable"
