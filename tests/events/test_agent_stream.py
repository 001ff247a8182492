"""The sample agent learns of cancellations over the event stream, not the (slow) heartbeat.

A real server and a real `ains agent --handler sleep` process with a 30 s heartbeat: only the
stream can stop its handler within a second of the cancellation.
"""

from __future__ import annotations

import re
import time
from typing import Any

import httpx

from tests.support.server import AgentProcess, ServerProcess, wait_for

STREAM_CANCEL = "cancelled by the server (stream: "


def start_agent(server: ServerProcess, capability: str) -> AgentProcess:
    args = ["-c", capability, "--handler", "sleep", "--heartbeat-interval", "30"]
    agent = AgentProcess(server.url, [*args, "--log-level", "info"]).start()
    wait_for(
        lambda: "following cancellations on the event stream" in agent.log(),
        timeout=20,
        message="the agent to attach to the event stream",
    )
    return agent


def submit(api: httpx.Client, capability: str, uid: str, **fields: Any) -> str:
    body = {
        "client_id": f"c-{uid}",
        "task_type": "stream-cancel",
        "capability_required": capability,
        "input_data": {"seconds": 60},
        **fields,
    }
    r = api.post("/aitp/tasks", json=body)
    assert r.status_code == 201, r.text
    return str(r.json()["task_id"])


def status(api: httpx.Client, task_id: str) -> dict[str, Any]:
    r = api.get(f"/aitp/tasks/{task_id}")
    assert r.status_code == 200, r.text
    return dict(r.json())


def stop_quickly(agent: AgentProcess) -> str:
    """SIGTERM the agent; it drains its tasks in flight, so it exits at once only if the
    60 s handler was stopped. Returns its output."""
    began = time.monotonic()
    agent.stop()
    assert time.monotonic() - began < 10, "the agent waited for a handler it should have stopped"
    return agent.log()


def test_a_cancellation_reaches_the_running_agent_over_the_stream_within_a_second(
    server: ServerProcess, api: httpx.Client, uid: str
) -> None:
    capability = f"stream-cancel-{uid}:v1"
    agent = start_agent(server, capability)
    try:
        task_id = submit(api, capability, uid)
        wait_for(lambda: status(api, task_id)["status"] == "RUNNING", timeout=20)
        r = api.delete(f"/aitp/tasks/{task_id}", params={"reason": "user"})
        assert r.status_code == 200, r.text
        cancelled_at = time.monotonic()
        wait_for(
            lambda: f"task {task_id} {STREAM_CANCEL}task.cancelled)" in agent.log(),
            timeout=1.0,
            interval=0.01,
            message="the stream to deliver the cancellation",
        )
        latency = time.monotonic() - cancelled_at
        assert latency < 1.0
        time.sleep(0.3)  # nothing is reported for a cancelled task, late or not
        task = status(api, task_id)
        assert task["status"] == "CANCELLED" and task["result_data"] is None
        assert not [e for e in task["history"] if e["event"] in ("task.completed", "task.failed")]
    finally:
        log = stop_quickly(agent)
    assert re.search(r"tasks done: 0, failed: 0, cancelled: 1, claimed: 1", log), log


def test_a_timed_out_attempt_is_stopped_over_the_stream(
    server: ServerProcess, api: httpx.Client, uid: str
) -> None:
    capability = f"stream-timeout-{uid}:v1"
    agent = start_agent(server, capability)
    try:
        task_id = submit(api, capability, uid, timeout_seconds=1, retry_policy={"max_retries": 0})
        wait_for(lambda: status(api, task_id)["status"] == "TIMED_OUT", timeout=20)
        timed_out_at = time.monotonic()
        wait_for(
            lambda: f"task {task_id} {STREAM_CANCEL}task.timed_out)" in agent.log(),
            timeout=1.0,
            interval=0.01,
            message="the stream to deliver the time-out",
        )
        assert time.monotonic() - timed_out_at < 1.0
    finally:
        log = stop_quickly(agent)
    assert "cancelled: 1, claimed: 1" in log, log


def test_an_agent_sees_the_events_of_a_task_assigned_to_it_when_they_happened() -> None:
    """A timed-out attempt put back in the queue is no longer assigned; its agent must still
    be told, so the stream judges by the event's agent as well as the task's row."""
    from ains.events.feed import may_see
    from ains.security.principals import Principal

    row = {
        "visibility": "private",
        "client_id": "c1",
        "team": None,
        "assigned_agent_id": None,
        "allowed_viewers": None,
    }
    ev = {"event_type": "task.timed_out", "task_id": "t1", "agent_id": "agt_1"}
    assert may_see(Principal(role="agent", principal_id="agt_1"), ev, row)
    assert not may_see(Principal(role="agent", principal_id="agt_2"), ev, row)
    assert not may_see(Principal(role="client", principal_id="agt_1"), ev, row)
    assert may_see(Principal(role="client", principal_id="c1"), ev, row)
