"""Timeouts: enforced within a second of expiry, counted as a failed attempt, retried."""

from __future__ import annotations

import statistics

import httpx

from tests.reliability.helpers import (
    FAST_RETRY,
    at,
    claim,
    complete,
    events,
    get,
    register,
    start,
    submit,
    wait_status,
)


def test_timeout_then_retry_then_success(api: httpx.Client, uid: str) -> None:
    cap = f"timeout-{uid}:v1"
    agent = register(api, cap)
    task_id = submit(api, cap, f"c-{uid}", timeout_seconds=0.5, retry_policy=FAST_RETRY)["task_id"]
    first = claim(api, agent, task_id)
    assert first["timeout_at"] is not None
    start(api, first)
    wait_status(api, task_id, "RETRY_SCHEDULED", "PENDING", "ASSIGNED")
    second = claim(api, agent, task_id)
    assert second["attempt_id"] != first["attempt_id"]
    late = complete(api, first, {"late": True})
    assert late.status_code == 409, late.text
    assert complete(api, second, {"second": True}).status_code == 200
    task = get(api, task_id)
    assert task["status"] == "COMPLETED"
    assert task["result_data"] == {"second": True}
    assert task["retry_count"] == 1
    assert [a["status"] for a in task["attempts"]] == ["TIMED_OUT", "COMPLETED"]
    (timed_out,) = events(task, "task.timed_out")
    lag = (at(timed_out["at"]) - at(first["timeout_at"])).total_seconds()
    assert 0 <= lag < 1.0


def test_timeout_without_retries_left_is_dead_lettered(api: httpx.Client, uid: str) -> None:
    cap = f"timeout-dlq-{uid}:v1"
    agent = register(api, cap)
    task_id = submit(api, cap, f"c-{uid}", timeout_seconds=0.3, retry_policy={"max_retries": 0})[
        "task_id"
    ]
    claim(api, agent, task_id)
    task = wait_status(api, task_id, "TIMED_OUT")
    assert task["dead_lettered"] is True
    assert events(task, "task.dead_lettered")
    beat = api.post(f"/ains/agents/{agent}/heartbeat", json={"in_flight": [task_id]}).json()
    assert beat["cancel_task_ids"] == [task_id]  # the agent is told to stop


def test_timeout_can_be_changed_while_running(api: httpx.Client, uid: str) -> None:
    cap = f"timeout-put-{uid}:v1"
    agent = register(api, cap)
    task_id = submit(api, cap, f"c-{uid}", timeout_seconds=600, retry_policy={"max_retries": 0})[
        "task_id"
    ]
    start(api, claim(api, agent, task_id))
    r = api.put(f"/aitp/tasks/{task_id}/timeout", json={"timeout_seconds": 0.5})
    assert r.status_code == 200, r.text
    wait_status(api, task_id, "TIMED_OUT", timeout=5)


def test_timeouts_are_enforced_within_one_second(api: httpx.Client, uid: str) -> None:
    cap = f"timeout-lag-{uid}:v1"
    agent = register(api, cap, concurrency=100)
    policy = {"max_retries": 0}
    ids = [
        submit(api, cap, f"c-{uid}", timeout_seconds=0.2 + 0.05 * i, retry_policy=policy)["task_id"]
        for i in range(30)
    ]
    expiry = {i: claim(api, agent, i)["timeout_at"] for i in ids}
    lags = []
    for task_id in ids:
        task = wait_status(api, task_id, "TIMED_OUT", timeout=10)
        (timed_out,) = events(task, "task.timed_out")
        lags.append((at(timed_out["at"]) - at(expiry[task_id])).total_seconds())
    assert min(lags) >= 0
    assert max(lags) < 1.0, f"lags p50={statistics.median(lags):.3f} max={max(lags):.3f}"
