"""Bad input is a 4xx problem+json naming the field and the reason, on both databases: never a
500, never a partial write, and the keep-alive connection stays usable for the next request."""

from __future__ import annotations

import base64
import math
from typing import Any

import httpx
import pytest

from tests.support.flows import claim, register_agent, submit
from tests.support.hostile import SUBMISSIONS, task_body

JSON = {"content-type": "application/json"}


def _peer(response: httpx.Response) -> Any:
    """The client side of the TCP connection that carried `response`."""
    return response.extensions["network_stream"].get_extra_info("client_addr")


def _assert_problem(r: httpx.Response, status: int, field: str | None = None) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = r.json()
    assert body["status"] == status and body["detail"]
    if field is not None:
        assert [e["field"] for e in body["errors"]] == [field], body
        assert body["errors"][0]["reason"]
    return body


def _still_served_on_the_same_connection(api: httpx.Client, bad: httpx.Response) -> None:
    assert bad.headers.get("connection", "").lower() != "close"
    ok = api.get("/health")
    assert ok.status_code == 200
    assert _peer(ok) == _peer(bad), "the server dropped the keep-alive connection"


@pytest.mark.parametrize("kind", list(SUBMISSIONS))
def test_hostile_submission_is_a_422_naming_the_field_and_writes_nothing(
    api: httpx.Client, uid: str, kind: str
) -> None:
    fields, field = SUBMISSIONS[kind]
    r = api.post("/aitp/tasks", content=task_body(uid, **fields), headers=JSON)
    _assert_problem(r, 422, field)
    _still_served_on_the_same_connection(api, r)
    listed = api.get("/aitp/tasks", params={"client_id": f"c-{uid}"})
    assert listed.status_code == 200 and listed.json()["items"] == []


def test_a_body_that_is_not_json_is_a_422_on_the_body(api: httpx.Client) -> None:
    r = api.post("/aitp/tasks", content=b'{"task_type": "t",', headers=JSON)
    _assert_problem(r, 422, "body")
    _still_served_on_the_same_connection(api, r)


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml"]
)
def test_a_body_that_is_not_sent_as_json_is_a_415_and_writes_nothing(
    api: httpx.Client, uid: str, content_type: str
) -> None:
    body = task_body(uid).encode()
    r = api.post("/aitp/tasks", content=body, headers={"content-type": content_type})
    assert r.status_code == 415, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["errors"] == [{"field": "Content-Type", "reason": "must be application/json"}]
    listed = api.get("/aitp/tasks", params={"client_id": f"c-{uid}"}).json()["items"]
    assert listed == []
    # the same body sent as JSON is accepted
    assert api.post("/aitp/tasks", content=body, headers=JSON).status_code == 201


def test_an_oversized_chunked_body_is_a_413_like_a_sized_one(api: httpx.Client) -> None:
    def chunks() -> Any:  # no Content-Length: the size shows only while reading
        for _ in range(2048):
            yield b" " * 1024

    r = api.post("/aitp/tasks", content=chunks(), headers=JSON)
    assert r.status_code == 413, r.text
    assert "AINS_MAX_BODY_BYTES" in r.json()["detail"]
    sized = api.post("/aitp/tasks", content=b" " * (2048 * 1024), headers=JSON)
    assert sized.status_code == 413


def test_nesting_up_to_the_limit_is_accepted(api: httpx.Client, uid: str) -> None:
    # AINS_MAX_JSON_DEPTH (64) levels of objects and arrays: the body and 63 below it
    task = submit(api, f"cap-{uid}", input_data=_nest(63))
    assert api.get(f"/aitp/tasks/{task['task_id']}").json()["input_data"] == _nest(63)
    r = api.post("/aitp/tasks", content=task_body(uid, input_data=_nest_text(64)), headers=JSON)
    _assert_problem(r, 422, "input_data" + "[0]" * 63)


def _nest(levels: int) -> Any:
    value: Any = "leaf"
    for _ in range(levels):
        value = [value]
    return value


def _nest_text(levels: int) -> str:
    return "[" * levels + '"leaf"' + "]" * levels


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/aitp/tasks/batch", '{"tasks":[{"task_type":"t","capability_required":"c",'
         '"input_data":{"x":"\\u0000"}}]}', "tasks[0].input_data.x"),
        ("/aitp/tasks/schedule", '{"task_type":"t","capability_required":"c",'
         '"cron_expression":"* * * * *","input_data":"\\ud800"}', "input_data"),
        ("/aitp/tasks/schedule", '{"task_type":"t","capability_required":"c",'
         '"run_at":"9999-12-31T23:59:59-14:00"}', "run_at"),
        ("/aitp/templates", '{"name":"n","description":"\\u0000"}', "description"),
        ("/aitp/tasks/t1/complete", '{"attempt_id":"a","result_data":{"k":"\\ud83d"}}',
         "result_data.k"),
        ("/aitp/tasks/t1/complete", '{"attempt_id":"a","result_data":{},"cost":1e999}', "cost"),
        ("/aitp/tasks/t1/complete", '{"attempt_id":"a","result_data":{},"cost":NaN}', "cost"),
        ("/aitp/tasks/t1/complete", '{"attempt_id":"a","result_data":{},"cost":1e300}', "cost"),
        ("/aitp/tasks/t1/fail", '{"attempt_id":"a","error":"boom\\u0000"}', "error"),
        ("/aitp/tasks/t1/heartbeat", '{"attempt_id":"a","progress":{"p":Infinity}}',
         "progress.p"),
        ("/aitp/agents/a1/reports", '{"reports":[{"task_id":"t","attempt_id":"a",'
         '"outcome":"complete","result_data":"\\u0000"}]}', "reports[0].result_data"),
        ("/aitp/agents/a1/reports", '{"reports":[{"task_id":"t","attempt_id":"a",'
         '"outcome":"complete","cost":1e999}]}', "reports[0].cost"),
        ("/aitp/webhooks", '{"url":"https://example.com/\\u0000"}', "url"),
        ("/ains/agents", '{"name":"a","capabilities":["c"],"metadata":{"m":"\\udfff"}}',
         "metadata.m"),
        ("/ains/keys", '{"role":"client","principal_id":"p\\u0000"}', "principal_id"),
    ],
)  # fmt: skip
def test_every_kind_of_body_gets_the_same_checks(
    api: httpx.Client, path: str, body: str, field: str
) -> None:
    r = api.post(path, content=body, headers=JSON)
    _assert_problem(r, 422, field)
    _still_served_on_the_same_connection(api, r)


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("PATCH", "/ains/agents/a1", '{"reason":"\\u0000"}', "reason"),
        ("PUT", "/aitp/tasks/schedule/s1", '{"description":"\\ud800"}', "description"),
        ("PUT", "/aitp/templates/t1", '{"metadata":{"x":1e999}}', "metadata.x"),
        ("PATCH", "/aitp/templates/t1", '{"input_data":"\\u0000"}', "input_data"),
        ("PATCH", "/aitp/webhooks/w1", '{"description":"\\u0000"}', "description"),
        ("PUT", "/aitp/tasks/t1/timeout", '{"timeout_seconds":1e999}', "timeout_seconds"),
        ("PUT", "/aitp/tasks/t1/priority", '{"priority":NaN}', "priority"),
        ("DELETE", "/aitp/tasks/t1", '{"reason":"\\u0000"}', "reason"),
    ],
)
def test_patch_put_and_delete_bodies_get_the_same_checks(
    api: httpx.Client, method: str, path: str, body: str, field: str
) -> None:
    r = api.request(method, path, content=body, headers=JSON)
    _assert_problem(r, 422, field)
    _still_served_on_the_same_connection(api, r)


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


HUGE = "100000000000000000000"
LISTS = [
    "/ains/audit",
    "/aitp/tasks",
    "/ains/agents",
    "/aitp/dlq",
    "/aitp/tasks/schedule",
    "/ains/keys",
    "/aitp/templates",
    "/aitp/webhooks",
    "/ains/agents/a1/trust",
]
NO_CURSOR = ("/aitp/templates", "/aitp/webhooks", "/ains/agents/a1/trust")
BAD_CURSORS = [HUGE, "-1", "abc", "1e5", "9" * 5000, _b64("t:\x00"), _b64("key:x|y")]
BAD_LIMITS = [HUGE, "-1", "0", "abc", "1e5", "9" * 5000]


@pytest.mark.parametrize("path", LISTS)
def test_huge_or_malformed_cursors_and_limits_are_4xx(api: httpx.Client, path: str) -> None:
    params = [{"cursor": c} for c in BAD_CURSORS] + [{"limit": v} for v in BAD_LIMITS]
    for query in params:
        r = api.get(path, params=query)
        if r.status_code == 200:  # a list that takes no cursor ignores it
            assert "cursor" in query and path in NO_CURSOR, (query, r.text)
            continue
        body = _assert_problem(r, r.status_code)
        assert 400 <= r.status_code < 500, (path, query, body)
        _still_served_on_the_same_connection(api, r)


def test_the_audit_cursor_past_64_bits_is_a_422(api: httpx.Client) -> None:
    r = api.get("/ains/audit", params={"cursor": HUGE})
    _assert_problem(r, 422, "cursor")
    _still_served_on_the_same_connection(api, r)


@pytest.mark.parametrize("after", [HUGE, "9" * 5000, "²", "-1"])
def test_event_stream_cursors_past_64_bits_are_a_422(api: httpx.Client, after: str) -> None:
    r = api.get("/aitp/events", params={"after": after})
    _assert_problem(r, 422, "after")
    _still_served_on_the_same_connection(api, r)


@pytest.mark.parametrize(
    ("path", "param"),
    [
        ("/aitp/tasks", "created_after"),
        ("/aitp/tasks", "created_before"),
        ("/aitp/analytics/summary", "start"),
        ("/aitp/dlq", "since"),
        ("/aitp/tasks/schedule/preview", "run_at"),
    ],
)
def test_query_times_out_of_range_are_a_422(api: httpx.Client, path: str, param: str) -> None:
    query = {param: "9999-12-31T23:59:59-14:00"}
    if param == "start":
        query |= {"period": "custom", "end": "2030-01-01T00:00:00Z"}
    r = api.get(path, params=query)
    _assert_problem(r, 422, param)
    _still_served_on_the_same_connection(api, r)


def test_nul_in_the_query_string_or_path_is_a_400(api: httpx.Client) -> None:
    r = api.get("/aitp/tasks?client_id=a%00b")
    _assert_problem(r, 400, "query")
    _still_served_on_the_same_connection(api, r)
    r = api.get("/aitp/tasks/t%00x")
    _assert_problem(r, 400, "path")
    _still_served_on_the_same_connection(api, r)


# --- cost, and what reaches analytics ----------------------------------------------------------


def test_a_non_finite_cost_is_refused_and_analytics_stay_finite(
    api: httpx.Client, uid: str
) -> None:
    client = f"c-{uid}"
    agent = register_agent(api, f"cap-{uid}", max_concurrency=3)
    for _ in range(3):
        submit(api, f"cap-{uid}", client_id=client)
    tasks: list[dict[str, Any]] = []
    while len(tasks) < 3:  # routing is asynchronous: the tasks may reach the agent one by one
        tasks += claim(api, agent["agent_id"], max_tasks=3 - len(tasks), wait=5)
    for literal in ("1e999", "NaN", "Infinity"):
        r = api.post(
            f"/aitp/tasks/{tasks[0]['task_id']}/complete",
            content=f'{{"attempt_id":"{tasks[0]["attempt_id"]}","result_data":{{}},'
            f'"cost":{literal}}}',
            headers=JSON,
        )
        _assert_problem(r, 422, "cost")
    for task, cost in zip(tasks, (1.5, 2.5, 1e15), strict=True):
        r = api.post(
            f"/aitp/tasks/{task['task_id']}/complete",
            json={"attempt_id": task["attempt_id"], "result_data": {}, "cost": cost},
        )
        assert r.status_code == 200, r.text
    summary = api.get("/aitp/analytics/summary", params={"period": "all"}).json()
    assert isinstance(summary["total_cost"], float) and math.isfinite(summary["total_cost"])
    assert summary["total_cost"] >= 1e15 + 4.0
    types = api.get("/aitp/analytics/tasks", params={"period": "all"})
    assert "Infinity" not in types.text and "NaN" not in types.text
