"""Retries, the dead-letter queue and manual retry, against a real server on both backends."""

from __future__ import annotations

from typing import Any

import httpx

from tests.reliability.helpers import (
    FAST_RETRY,
    claim,
    complete,
    events,
    fail,
    get,
    register,
    submit,
    wait_status,
)


def _fail_until_dead(api: httpx.Client, agent: str, task_id: str, times: int) -> dict[str, Any]:
    answer: dict[str, Any] = {}
    for n in range(times):
        task = claim(api, agent, task_id)
        r = fail(api, task, error=f"boom {n}")
        assert r.status_code == 200, r.text
        answer = r.json()
        if n < times - 1:
            assert answer["status"] == "RETRY_SCHEDULED"
            assert answer["next_retry_at"] is not None
            assert answer["retry_count"] == n + 1
    return answer


def test_failed_task_retries_with_backoff_then_goes_to_dlq(api: httpx.Client, uid: str) -> None:
    cap = f"retry-{uid}:v1"
    agent = register(api, cap)
    task_id = submit(api, cap, f"c-{uid}", retry_policy=FAST_RETRY)["task_id"]
    final = _fail_until_dead(api, agent, task_id, times=3)
    assert final["status"] == "FAILED"
    assert final["dead_lettered"] is True
    task = get(api, task_id)
    assert task["retry_count"] == 2
    assert [a["status"] for a in task["attempts"]] == ["FAILED"] * 3
    assert len(events(task, "task.retrying")) == 2
    assert len(events(task, "task.dead_lettered")) == 1
    listed = api.get("/aitp/dlq", params={"capability": cap}).json()
    assert [t["task_id"] for t in listed["items"]] == [task_id]


def test_permanent_error_goes_straight_to_dlq(api: httpx.Client, uid: str) -> None:
    cap = f"perm-{uid}:v1"
    agent = register(api, cap)
    task_id = submit(api, cap, f"c-{uid}", retry_policy={"max_retries": 5})["task_id"]
    r = fail(api, claim(api, agent, task_id), retryable=False, error="bad input")
    assert r.status_code == 200, r.text
    task = get(api, task_id)
    assert (task["status"], task["dead_lettered"], task["retry_count"]) == ("FAILED", True, 0)
    assert len(task["attempts"]) == 1
    assert not events(task, "task.retrying")
    listed = api.get("/aitp/dlq", params={"error_type": "BadInput", "capability": cap}).json()
    assert [t["task_id"] for t in listed["items"]] == [task_id]


def test_manual_retry_runs_a_failed_task_again(api: httpx.Client, uid: str) -> None:
    cap = f"manual-{uid}:v1"
    agent = register(api, cap)
    task_id = submit(api, cap, f"c-{uid}", retry_policy={"max_retries": 0})["task_id"]
    fail(api, claim(api, agent, task_id))
    assert get(api, task_id)["status"] == "FAILED"
    r = api.post(f"/aitp/tasks/{task_id}/retry", json={"reason": "fixed the input"})
    assert r.status_code == 200, r.text
    assert r.json()["dead_lettered"] is False
    assert complete(api, claim(api, agent, task_id), {"second": "try"}).status_code == 200
    task = get(api, task_id)
    assert task["status"] == "COMPLETED"
    assert task["result_data"] == {"second": "try"}
    manual = [e for e in events(task, "task.retrying") if e["reason"] == "fixed the input"]
    assert manual and manual[0]["actor"] == "admin:local-admin"
    assert api.post(f"/aitp/tasks/{task_id}/retry").status_code == 409  # completed


def _dead_tasks(api: httpx.Client, uid: str, cap: str, n: int, **fields: Any) -> list[str]:
    agent = register(api, cap)
    ids = [
        submit(api, cap, f"c-{uid}", retry_policy={"max_retries": 0}, **fields)["task_id"]
        for _ in range(n)
    ]
    for task_id in ids:
        fail(api, claim(api, agent, task_id), retryable=False)
    return ids


def test_dlq_lists_with_filters_and_cursor_pagination(api: httpx.Client, uid: str) -> None:
    cap = f"dlqlist-{uid}:v1"
    ids = _dead_tasks(api, uid, cap, 5, task_type=f"tt-{uid}")
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"capability": cap, "limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = api.get("/aitp/dlq", params=params).json()
        seen += [t["task_id"] for t in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == sorted(ids)
    assert len(api.get("/aitp/dlq", params={"task_type": f"tt-{uid}"}).json()["items"]) == 5
    assert len(api.get("/aitp/dlq", params={"client_id": f"c-{uid}"}).json()["items"]) == 5
    assert api.get("/aitp/dlq", params={"client_id": "nobody"}).json()["items"] == []
    assert api.get("/aitp/dlq", params={"since": "2999-01-01T00:00:00Z"}).json()["items"] == []
    assert api.get("/aitp/dlq", params={"since": "2999-01-01T00:00:00"}).status_code == 422


def test_dlq_requeue_one_and_in_bulk(api: httpx.Client, uid: str) -> None:
    cap = f"dlqreq-{uid}:v1"
    ids = _dead_tasks(api, uid, cap, 5)
    r = api.post(f"/aitp/dlq/{ids[0]}/requeue", json={"reason": "one"})
    assert r.status_code == 200, r.text
    assert r.json()["status"] in ("PENDING", "ASSIGNED")
    assert api.post(f"/aitp/dlq/{ids[0]}/requeue").status_code == 404  # no longer dead
    r = api.post("/aitp/dlq/requeue", json={"task_ids": [*ids[1:3], "task_nope"]})
    assert r.status_code == 200, r.text
    assert r.json()["requeued"] == ids[1:3]
    assert [e["task_id"] for e in r.json()["errors"]] == ["task_nope"]
    r = api.post("/aitp/dlq/requeue", json={"filters": {"capability": cap}})
    assert sorted(r.json()["requeued"]) == sorted(ids[3:])
    assert api.get("/aitp/dlq", params={"capability": cap}).json()["items"] == []
    for task_id in ids:
        assert get(api, task_id)["status"] in ("PENDING", "ASSIGNED")


def test_dlq_purge_is_admin_only_and_audited(api: httpx.Client, uid: str) -> None:
    cap = f"dlqpurge-{uid}:v1"
    ids = _dead_tasks(api, uid, cap, 3)
    r = api.delete("/aitp/dlq", params={"capability": cap})
    assert r.status_code == 200, r.text
    assert r.json() == {"purged": 3}
    assert api.get("/aitp/dlq", params={"capability": cap}).json()["items"] == []
    assert api.get(f"/aitp/tasks/{ids[0]}").status_code == 404
    audit = api.get("/ains/audit", params={"action": "dlq.purge"})
    assert audit.status_code == 200, audit.text
    body = audit.json()
    records = body["items"] if isinstance(body, dict) else body
    assert any(sorted(rec["detail"]["task_ids"]) == sorted(ids) for rec in records)


def test_a_live_task_is_not_requeued_from_the_dlq(api: httpx.Client, uid: str) -> None:
    cap = f"dlqlive-{uid}:v1"
    task_id = submit(api, cap, f"c-{uid}")["task_id"]
    assert api.post(f"/aitp/dlq/{task_id}/requeue").status_code == 404
    wait_status(api, task_id, "PENDING")
