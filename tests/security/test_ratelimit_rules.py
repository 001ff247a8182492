"""The pure parts of ains/security/ratelimit.py: route classes by template, and the setting."""

from __future__ import annotations

from pathlib import Path

import pytest

from ains.app import create_app
from ains.config import Settings
from ains.security.ratelimit import DEFAULT_RATE_LIMITS, parse_rate_limits, route_class


def test_every_route_of_the_app_has_the_expected_class(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'unused.db'}"
    app = create_app(Settings(database_url=url, migrate_on_start=False))
    classes: dict[str, set[str]] = {}
    for route in app.routes:
        methods, path = getattr(route, "methods", None), getattr(route, "path", "")
        if methods:
            name = route_class(frozenset(methods), path)
            classes.setdefault(name, set()).add(f"{sorted(methods)[-1]} {path}")
    assert classes["claim"] == {"POST /aitp/agents/{agent_id}/claim"}
    assert "POST /aitp/tasks/{task_id}/complete" in classes["report"]
    assert "POST /aitp/agents/{agent_id}/reports" in classes["report"]
    assert {"POST /aitp/tasks", "POST /aitp/tasks/batch", "DELETE /aitp/tasks/{task_id}"} <= (
        classes["submit"]
    )
    assert {"GET /ains/keys", "POST /ains/keys", "DELETE /aitp/dlq"} <= classes["admin"]
    assert {"POST /api/ai/tasks/cleanup/old", "POST /api/ai/tasks/cleanup/timeout-stale"} <= (
        classes["admin"]
    )
    assert {"POST /api/ai/tasks", "GET /api/ai/tasks/{task_id}/retry"} <= classes["submit"]
    assert "GET /aitp/tasks/{task_id}" in classes["read"]
    assert not any(r.startswith(("POST", "PUT", "PATCH", "DELETE")) for r in classes["read"])
    assert "GET /api/ai/tasks/queue/status" in classes["read"]


def test_named_classes_override_the_defaults_and_null_lifts_one() -> None:
    rules = parse_rate_limits({"read": "100/minute;10/second", "admin": None})
    assert [str(item) for item in rules["read"]] == ["100 per 1 minute", "10 per 1 second"]
    assert "admin" not in rules
    assert rules["submit"][0].amount == 10000
    assert set(parse_rate_limits({})) == set(DEFAULT_RATE_LIMITS)


@pytest.mark.parametrize("value", ["", "lots", "10 per fortnight", "0/second"])
def test_a_bad_limit_is_an_error_naming_the_setting(value: str) -> None:
    with pytest.raises(ValueError, match=r"^AINS_RATE_LIMITS: read="):
        parse_rate_limits({"read": value})
