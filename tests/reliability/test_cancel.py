"""Cancellation in every non-terminal state, the agent being told, and late reports refused."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.reliability.helpers import (
    claim,
    complete,
    events,
    fail,
    get,
    register,
    start,
    submit,
    wait_status,
)
from tests.support.server import AgentProcess, ServerProcess, wait_for


def _blocked(api: httpx.Client, uid: str, cap: str) -> str:
    dep = submit(api, f"nobody-{uid}:v1", f"c-{uid}")["task_id"]
    task_id = submit(api, cap, f"c-{uid}", depends_on=[dep])["task_id"]
    wait_status(api, task_id, "BLOCKED")
    return task_id


def _pending(api: httpx.Client, uid: str, cap: str) -> str:
    task_id = submit(api, cap, f"c-{uid}")["task_id"]
    wait_status(api, task_id, "PENDING")
    return task_id


def _assigned(api: httpx.Client, uid: str, cap: str) -> str:
    agent = register(api, cap)
    task_id = submit(api, cap, f"c-{uid}")["task_id"]
    claim(api, agent, task_id)
    wait_status(api, task_id, "ASSIGNED")
    return task_id


def _running(api: httpx.Client, uid: str, cap: str) -> str:
    agent = register(api, cap)
    task_id = submit(api, cap, f"c-{uid}")["task_id"]
    start(api, claim(api, agent, task_id))
    wait_status(api, task_id, "RUNNING")
    return task_id


def _retry_scheduled(api: httpx.Client, uid: str, cap: str) -> str:
    agent = register(api, cap)
    policy = {"max_retries": 3, "base_delay_seconds": 60, "max_delay_seconds": 60}
    task_id = submit(api, cap, f"c-{uid}", retry_policy=policy)["task_id"]
    fail(api, claim(api, agent, task_id))
    wait_status(api, task_id, "RETRY_SCHEDULED")
    return task_id


SETUPS: dict[str, Callable[[httpx.Client, str, str], str]] = {
    "BLOCKED": _blocked,
    "PENDING": _pending,
    "ASSIGNED": _assigned,
    "RUNNING": _running,
    "RETRY_SCHEDULED": _retry_scheduled,
}


@pytest.mark.parametrize("state", list(SETUPS))
def test_cancel_in_every_non_terminal_state(api: httpx.Client, uid: str, state: str) -> None:
    cap = f"cancel-{uid}:v1"
    task_id = SETUPS[state](api, uid, cap)
    assert get(api, task_id)["status"] == state
    r = api.request("DELETE", f"/aitp/tasks/{task_id}", json={"reason": f"stop {state}"})
    assert r.status_code == 200, r.text
    task = get(api, task_id)
    assert task["status"] == "CANCELLED"
    assert task["cancelled_by"] == "admin:local-admin"
    assert task["cancelled_at"] is not None
    assert task["cancellation_reason"] == f"stop {state}"
    (cancelled,) = events(task, "task.cancelled")
    assert (cancelled["from_status"], cancelled["reason"]) == (state, f"stop {state}")
    again = api.delete(f"/aitp/tasks/{task_id}")
    assert again.status_code == 409, again.text


def test_cancelling_a_completed_task_is_409(api: httpx.Client, uid: str) -> None:
    cap = f"cancel-done-{uid}:v1"
    agent = register(api, cap)
    task_id = submit(api, cap, f"c-{uid}")["task_id"]
    assert complete(api, claim(api, agent, task_id)).status_code == 200
    r = api.delete(f"/aitp/tasks/{task_id}", params={"reason": "too late"})
    assert r.status_code == 409
    assert get(api, task_id)["status"] == "COMPLETED"


def test_agent_is_told_in_heartbeat_and_late_reports_are_refused(
    api: httpx.Client, uid: str
) -> None:
    cap = f"cancel-hb-{uid}:v1"
    agent = register(api, cap)
    task_id = submit(api, cap, f"c-{uid}")["task_id"]
    task = claim(api, agent, task_id)
    start(api, task)
    beat = api.post(f"/ains/agents/{agent}/heartbeat", json={"in_flight": [task_id]}).json()
    assert beat["cancel_task_ids"] == []
    assert api.delete(f"/aitp/tasks/{task_id}", params={"reason": "user"}).status_code == 200
    beat = api.post(f"/ains/agents/{agent}/heartbeat", json={"in_flight": [task_id]}).json()
    assert beat["cancel_task_ids"] == [task_id]
    progress = api.post(f"/aitp/tasks/{task_id}/heartbeat", json={"attempt_id": task["attempt_id"]})
    assert progress.json()["cancel_requested"] is True
    late = complete(api, task, {"late": True})
    assert late.status_code == 409, late.text
    assert fail(api, task).status_code == 409
    final = get(api, task_id)
    assert final["status"] == "CANCELLED"
    assert final["result_data"] is None
    assert not events(final, "task.completed")


def _agent(server: ServerProcess, cap: str, *extra: str) -> AgentProcess:
    args = ["-c", cap, "--handler", "sleep", "--heartbeat-interval", "0.2", "--log-level", "info"]
    return AgentProcess(server.url, [*args, *extra]).start()


def test_a_running_sample_agent_stops_a_cancelled_handler(
    server: ServerProcess, api: httpx.Client, uid: str
) -> None:
    cap = f"cancel-agent-{uid}:v1"
    agent = _agent(server, cap)
    try:
        task_id = submit(api, cap, f"c-{uid}", input_data={"seconds": 4})["task_id"]
        wait_status(api, task_id, "RUNNING", timeout=20)
        assert api.delete(f"/aitp/tasks/{task_id}", params={"reason": "user"}).status_code == 200
        wait_for(
            lambda: "cancelled by the server" in agent.log(),
            timeout=5,
            message="the agent to cancel the handler",
        )
        time.sleep(4.5)  # past the moment the handler would have finished
        task: dict[str, Any] = get(api, task_id)
        assert task["status"] == "CANCELLED"
        assert task["result_data"] is None
        assert not events(task, "task.completed") and not events(task, "task.failed")
    finally:
        agent.stop()
    assert "cancelled" in agent.log()


def test_cancel_before_pickup_never_reaches_the_agent(api: httpx.Client, uid: str) -> None:
    cap = f"cancel-pickup-{uid}:v1"
    agent = register(api, cap)
    task_id = submit(api, cap, f"c-{uid}")["task_id"]
    wait_status(api, task_id, "PENDING")
    api.delete(f"/aitp/tasks/{task_id}")
    wait_status(api, task_id, "CANCELLED")
    r = api.post(f"/aitp/agents/{agent}/claim", json={"max_tasks": 10, "wait_seconds": 0})
    assert task_id not in [t["task_id"] for t in r.json()["tasks"]]
