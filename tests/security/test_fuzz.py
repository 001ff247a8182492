"""A little fuzzing: hostile bodies, and hostile values in every field of a valid body, posted
to every write endpoint; hostile query strings and paths on the reads. Whatever comes back is
never a 5xx, every error is problem+json, and the server still answers /health afterwards."""

from __future__ import annotations

from typing import Any

import httpx
import orjson

from tests.support.flows import register_agent, submit
from tests.support.hostile import DEEP

# JSON literals, spliced into a body as text so that NaN and lone surrogates survive
HOSTILE_VALUES = [
    '"\\u0000"', '"a\\u0000b"', '"\\ud800"', '"\\udfff\\ud800"', DEEP, "NaN", "Infinity",
    "-Infinity", "1e999", "-1e999", "1e308", "-1e308", "5e-324", "100000000000000000000000000000",
    "-100000000000000000000000000000", "18446744073709551615", "9223372036854775808", "-1", "0",
    "1.5", '""', '" "', f'"{"x" * 20_000}"', "[]", "{}", "null", "true",
    '"9999-12-31T23:59:59-14:00"', '"0001-01-01T00:00:00+14:00"', '"2030-01-01T00:00:00"',
    '{"":1}', '{"\\u0000":[]}', '["\\u0000"]', '"../../../etc/passwd"', '"=HYPERLINK(1)"',
    '"\\u202e\\ufeff"',
]  # fmt: skip
HOSTILE_BODIES = [
    b"null", b"[]", b'"text"', b"123", b"{}", b'{"":1}', b'{"\\u0000":1}', DEEP.encode(), b"NaN",
    b"{", b"\xff\xfe{}", b'{"a":1,"a":2}', b"[" * 5000 + b"]" * 5000,
]  # fmt: skip


def _endpoints(api: httpx.Client, uid: str) -> list[tuple[str, str, dict[str, Any]]]:
    cap = f"fuzz-{uid}"
    agent = register_agent(api, cap, max_concurrency=2)["agent_id"]
    task = submit(api, cap, client_id=f"fuzz-{uid}")["task_id"]
    r = api.post("/aitp/templates", json={"name": f"tpl-{uid}", "task_type": "t",
                                          "capability_required": cap})  # fmt: skip
    assert r.status_code == 201, r.text
    template = r.json()["template_id"]
    r = api.post("/aitp/tasks/schedule", json={"task_type": "t", "capability_required": cap,
                                               "cron_expression": "0 0 1 1 *"})  # fmt: skip
    assert r.status_code == 201, r.text
    schedule = r.json()["schedule_id"]
    a_task = {
        "client_id": f"fuzz-{uid}", "task_type": "t", "capability_required": cap,
        "input_data": {"k": "v"}, "priority": 5, "timeout_seconds": 30, "max_retries": 1,
        "retry_policy": {"max_retries": 1, "strategy": "linear", "base_delay_seconds": 1},
        "deadline": "2030-01-01T00:00:00Z", "visibility": "private", "allowed_viewers": ["x"],
        "metadata": {"m": 1}, "depends_on": [task],
    }  # fmt: skip
    timing = {"cron_expression": "0 0 1 1 *", "timezone": "Europe/Paris"}
    report = {"task_id": task, "attempt_id": "att_x", "outcome": "complete", "result_data": {},
              "cost": 1.0, "quality_score": 0.5}  # fmt: skip
    return [
        ("POST", "/aitp/tasks", a_task),
        ("POST", "/aitp/tasks/batch", {"tasks": [a_task], "batch_options": {"atomic": True}}),
        ("POST", "/aitp/tasks/schedule", {"task_type": "t", "capability_required": cap,
                                          "priority": 3, "input_data": {}, **timing}),
        ("PUT", f"/aitp/tasks/schedule/{schedule}", {"description": "d", **timing}),
        ("POST", "/aitp/templates", {"name": f"n-{uid}", "task_type": "t",
                                     "capability_required": cap, "priority": 2}),
        ("PATCH", f"/aitp/templates/{template}", {"description": "d", "input_data": {}}),
        ("PUT", f"/aitp/templates/{template}", {"priority": 4, "metadata": {}}),
        ("POST", f"/aitp/templates/{template}/tasks", {"input_data": {}, "priority": 6,
                                                       "deadline": "2030-01-01T00:00:00Z"}),
        ("POST", "/aitp/webhooks", {"url": "https://example.invalid/h", "events": ["*"],
                                    "secret": "s"}),
        ("PATCH", "/aitp/webhooks/wh_missing", {"enabled": False, "url": "https://x.invalid"}),
        ("POST", "/ains/agents", {"name": "a", "capabilities": [cap], "max_concurrency": 1,
                                  "metadata": {}}),
        ("PATCH", f"/ains/agents/{agent}", {"trust_score": 0.5, "max_concurrency": 2,
                                            "reason": "r"}),
        ("POST", f"/ains/agents/{agent}/heartbeat", {"in_flight": [task]}),
        ("POST", f"/aitp/agents/{agent}/claim", {"max_tasks": 1, "wait_seconds": 0}),
        ("POST", f"/aitp/tasks/{task}/start", {"attempt_id": "att_x"}),
        ("POST", f"/aitp/tasks/{task}/heartbeat", {"attempt_id": "att_x", "progress": {}}),
        ("POST", f"/aitp/tasks/{task}/complete", {"attempt_id": "att_x", "result_data": {},
                                                  "cost": 1, "quality_score": 1}),
        ("POST", f"/aitp/tasks/{task}/fail", {"attempt_id": "att_x", "error": "e",
                                              "error_type": "x", "retryable": False}),
        ("POST", f"/aitp/agents/{agent}/reports", {"reports": [report]}),
        ("PUT", f"/aitp/tasks/{task}/priority", {"priority": 7}),
        ("PUT", f"/aitp/tasks/{task}/timeout", {"timeout_seconds": 60}),
        ("POST", f"/aitp/tasks/{task}/retry", {"reason": "r"}),
        ("POST", "/aitp/dlq/requeue", {"filters": {"capability": cap, "since":
                                       "2020-01-01T00:00:00Z"}, "limit": 10, "reason": "r"}),
        ("POST", f"/aitp/dlq/{task}/requeue", {"reason": "r"}),
        ("POST", "/ains/keys", {"role": "client", "principal_id": f"p-{uid}", "name": "n",
                                "team": "t"}),
        ("DELETE", "/aitp/tasks/batch/batch_missing", {"reason": "r"}),
        ("DELETE", f"/aitp/tasks/{task}", {"reason": "r"}),
    ]  # fmt: skip


def _with(body: dict[str, Any], field: str, literal: str) -> bytes:
    """`body` as JSON text with `field` set to the raw JSON `literal`."""
    marker = "__FUZZ__"
    text = orjson.dumps({**body, field: marker}).decode()
    return text.replace(f'"{marker}"', literal).encode()


def _check(r: httpx.Response, what: str) -> None:
    assert r.status_code < 500, (what, r.status_code, r.text[:500])
    if r.status_code >= 400:
        assert r.headers["content-type"] == "application/problem+json", (what, r.text[:300])


# each endpoint gets every hostile value in one field of three, and each field one value of
# three: every value and every field of every endpoint is tried, in a third of the requests
SPREAD = 3


def test_hostile_bodies_and_fields_never_get_a_5xx(api: httpx.Client, uid: str) -> None:
    headers = {"content-type": "application/json"}
    for method, path, body in _endpoints(api, uid):
        for raw in HOSTILE_BODIES:
            r = api.request(method, path, content=raw, headers=headers)
            _check(r, f"{method} {path} {raw[:40]!r}")
        fields = [*body, "", "\u0000"]
        assert len(fields) >= SPREAD, path
        for i, field in enumerate(fields):
            for j, literal in enumerate(HOSTILE_VALUES):
                if (i + j) % SPREAD:
                    continue
                r = api.request(method, path, content=_with(body, field, literal), headers=headers)
                _check(r, f"{method} {path} {field}={literal[:40]}")
    assert api.get("/health").status_code == 200
    assert api.get("/ready").status_code == 200


# raw query-string values (already percent-encoded where needed)
HOSTILE_QUERY_VALUES = [
    "%ED%A0%80", "%00", "%FF%FE", "100000000000000000000", "-1", "1e999", "nan", "inf", "9" * 5000,
    "9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00%2B14:00", "2030-01-01T00:00:00", "x" * 5000,
    "", "true", "[]",
]  # fmt: skip
READS = {
    "/aitp/tasks": ["status", "client_id", "agent_id", "task_type", "capability", "batch_id",
                    "created_after", "created_before", "cursor", "limit"],
    "/ains/agents": ["capability", "online", "cursor", "limit"],
    "/ains/audit": ["principal_id", "action", "target_id", "outcome", "cursor", "limit"],
    "/aitp/dlq": ["capability", "task_type", "client_id", "error_type", "since", "cursor",
                  "limit"],
    "/aitp/tasks/schedule": ["status", "cursor", "limit"],
    "/aitp/tasks/schedule/preview": ["cron_expression", "interval_seconds", "run_at", "timezone",
                                     "count"],
    "/aitp/analytics/summary": ["period", "start", "end"],
    "/aitp/analytics/trends": ["period", "start", "end", "bucket"],
    "/aitp/analytics/export": ["period", "start", "end", "format", "report", "bucket", "limit"],
    "/aitp/analytics/agents": ["limit"],
    "/aitp/tasks/batch/status": ["task_ids"],
    "/aitp/queue/stats": ["capability"],
    "/ains/keys": ["cursor", "limit"],
    "/aitp/templates": ["limit"],
    "/aitp/webhooks": ["limit"],
    "/ains/agents/a1/trust": ["limit"],
    "/aitp/tasks/schedule/s1/executions": ["cursor", "limit"],
}  # fmt: skip
CUSTOM = "period=custom&start=2020-01-01T00:00:00Z&end=2030-01-01T00:00:00Z&"


def test_hostile_query_strings_and_paths_never_get_a_5xx(api: httpx.Client) -> None:
    for path, params in READS.items():
        for param in params:
            for value in HOSTILE_QUERY_VALUES:
                custom = CUSTOM if param in ("start", "end") else ""
                r = api.get(f"{path}?{custom}{param}={value}")
                _check(r, f"GET {path}?{param}={value[:40]}")
    for value in ("%ED%A0%80", "%00", "x" * 3000, "%FF"):
        for path in ("/aitp/tasks/", "/ains/agents/", "/aitp/tasks/schedule/", "/aitp/templates/",
                     "/aitp/webhooks/", "/aitp/tasks/batch/", "/aitp/dlq?capability="):  # fmt: skip
            _check(api.get(path + value), f"GET {path}{value[:20]}")
    _check(api.delete(f"/aitp/dlq?capability={'x' * 300}"), "DELETE /aitp/dlq")
    assert api.get("/health").status_code == 200
