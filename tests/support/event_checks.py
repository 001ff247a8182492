"""A finished batch and a fired schedule, and what their `batch.completed` / `schedule.fired`
messages must say — shared by the webhook and stream tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.support.flows import claim, register_agent, wait_status
from tests.support.server import wait_for

SCHEDULES = "/aitp/tasks/schedule"


def finish_a_batch(api: httpx.Client, uid: str) -> dict[str, Any]:
    """A batch of two tasks an agent completes; returns the batch as submitted."""
    capability = f"batch-events-{uid}:v1"
    agent = register_agent(api, capability, max_concurrency=2)
    body = {
        "client_id": f"c-{uid}",
        "tasks": [
            {"task_type": "t", "capability_required": capability, "input_data": {"n": n}}
            for n in range(2)
        ],
    }
    r = api.post("/aitp/tasks/batch", json=body)
    assert r.status_code == 201, r.text
    batch = dict(r.json())
    claimed: list[dict[str, Any]] = []
    while len(claimed) < 2:
        claimed += claim(api, agent["agent_id"], max_tasks=2, wait=5)
    for task in claimed:
        done = api.post(
            f"/aitp/tasks/{task['task_id']}/complete",
            json={"attempt_id": task["attempt_id"], "result_data": {"ok": True}},
        )
        assert done.status_code == 200, done.text
    for task_id in batch["task_ids"]:
        wait_status(api, task_id, "COMPLETED")
    return batch


def fire_a_schedule(api: httpx.Client, uid: str) -> tuple[str, list[dict[str, Any]]]:
    """A one-time schedule due in a second, fired by the scheduler, and once more by hand;
    returns its id and its two executions."""
    run_at = (datetime.now(UTC) + timedelta(seconds=1)).isoformat()
    body = {"task_type": "t", "capability_required": f"sched-events-{uid}:v1", "input_data": {},
            "client_id": f"c-{uid}", "run_at": run_at}  # fmt: skip
    r = api.post(SCHEDULES, json=body)
    assert r.status_code == 201, r.text
    schedule_id = str(r.json()["schedule_id"])

    def executions() -> list[dict[str, Any]]:
        got = api.get(f"{SCHEDULES}/{schedule_id}/executions").json()["items"]
        return list(got)

    wait_for(executions, timeout=10, message="the scheduler to fire the one-time schedule")
    manual = api.post(f"{SCHEDULES}/{schedule_id}/execute")
    assert manual.status_code == 201, manual.text
    runs = executions()
    assert sorted(e["trigger"] == "manual" for e in runs) == [False, True], runs
    return schedule_id, runs


def check_batch_completed(messages: list[dict[str, Any]], batch: dict[str, Any]) -> None:
    mine = [
        m for m in messages
        if m["type"] == "batch.completed" and m["data"].get("batch_id") == batch["batch_id"]
    ]  # fmt: skip
    assert len(mine) == 1, f"batch.completed for {batch['batch_id']}: {mine}"
    [message] = mine
    assert message["event"] == "batch.completed"
    assert message["task_id"] is None
    assert message["data"]["details"] == {"status": "COMPLETED", "total_tasks": 2}
    assert message["timestamp"].endswith("Z")


def check_schedule_fired(
    messages: list[dict[str, Any]], schedule_id: str, runs: list[dict[str, Any]]
) -> None:
    fired = [
        m for m in messages
        if m["type"] == "schedule.fired" and m["data"].get("schedule_id") == schedule_id
    ]  # fmt: skip
    assert len(fired) == len(runs), f"schedule.fired for {schedule_id}: {fired}"
    by_execution = {m["data"]["details"]["execution_id"]: m for m in fired}
    for run in runs:
        message = by_execution[run["execution_id"]]
        assert message["event"] == "schedule.fired"
        assert message["task_id"] == run["task_id"] == message["data"]["task_id"]
        assert message["data"]["details"]["trigger"] == run["trigger"]
        due = datetime.fromisoformat(message["data"]["details"]["due_at"])
        assert due == datetime.fromisoformat(run["due_at"].replace("Z", "+00:00"))
        assert message["data"]["capability_required"].startswith("sched-events-")
