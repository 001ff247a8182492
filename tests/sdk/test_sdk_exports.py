"""The public surface of the SDK packages is exactly what `__all__` says."""

from __future__ import annotations

import ains_agent
import ains_client


def test_ains_client_exports() -> None:
    assert set(ains_client.__all__) == {
        "DEFAULT_TIMEOUT", "DEFAULT_URL", "TERMINAL_STATUSES", "AinsError", "AsyncClient",
        "AuthError", "Client", "Conflict", "JSONObject", "NetworkError", "NotFound", "Page",
        "RateLimited", "Report", "ReportResult", "ServerError", "ValidationError", "WaitTimeout",
        "WebhookVerificationError",
    }  # fmt: skip
    for name in ains_client.__all__:
        assert hasattr(ains_client, name), name
    public = {n for n in dir(ains_client) if not n.startswith("_")}
    assert public - set(ains_client.__all__) <= {"cli", "webhooks"}


def test_ains_agent_exports() -> None:
    assert set(ains_agent.__all__) == {
        "Agent", "AgentStats", "Handler", "PermanentError", "TaskContext", "TaskResult",
    }  # fmt: skip
    public = {n for n in dir(ains_agent) if not n.startswith("_")}
    assert public - set(ains_agent.__all__) <= {"cli", "sample"}


def test_exceptions_share_one_root() -> None:
    for name in ("AuthError", "Conflict", "NetworkError", "NotFound", "RateLimited",
                 "ServerError", "ValidationError", "WaitTimeout"):  # fmt: skip
        assert issubclass(getattr(ains_client, name), ains_client.AinsError)
