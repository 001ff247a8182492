"""AINS client SDK: `Client` / `AsyncClient` for the AINS task network HTTP API."""

from ains_client._base import DEFAULT_TIMEOUT, DEFAULT_URL
from ains_client._client import AsyncClient, Client
from ains_client._exceptions import (
    AinsError,
    AuthError,
    Conflict,
    NetworkError,
    NotFound,
    RateLimited,
    ServerError,
    ValidationError,
    WaitTimeout,
)
from ains_client._types import TERMINAL_STATUSES, JSONObject, Page, Report, ReportResult
from ains_client.webhooks import WebhookVerificationError

__all__ = [
    "DEFAULT_TIMEOUT",
    "DEFAULT_URL",
    "TERMINAL_STATUSES",
    "AinsError",
    "AsyncClient",
    "AuthError",
    "Client",
    "Conflict",
    "JSONObject",
    "NetworkError",
    "NotFound",
    "Page",
    "RateLimited",
    "Report",
    "ReportResult",
    "ServerError",
    "ValidationError",
    "WaitTimeout",
    "WebhookVerificationError",
]
