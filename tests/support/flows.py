"""Small helpers that drive the HTTP protocol the way an agent or a client would."""

from __future__ import annotations

from typing import Any

import httpx

from tests.support.server import wait_for

TERMINAL = {"COMPLETED", "FAILED", "CANCELLED", "TIMED_OUT"}


def register_agent(
    api: httpx.Client,
    capability: str,
    *,
    max_concurrency: int = 1,
    trust: float | None = None,
    name: str = "agent",
) -> dict[str, Any]:
    r = api.post(
        "/ains/agents",
        json={"name": name, "capabilities": [capability], "max_concurrency": max_concurrency},
    )
    assert r.status_code == 201, r.text
    agent = r.json()
    if trust is not None:
        p = api.patch(
            f"/ains/agents/{agent['agent_id']}", json={"trust_score": trust, "reason": "test"}
        )
        assert p.status_code == 200, p.text
    return dict(agent)


def submit(api: httpx.Client, capability: str, **fields: Any) -> dict[str, Any]:
    body = {
        "client_id": "c1",
        "task_type": "t",
        "capability_required": capability,
        "input_data": {},
    }
    body.update(fields)
    r = api.post("/aitp/tasks", json=body)
    assert r.status_code == 201, r.text
    return dict(r.json())


def claim(
    api: httpx.Client, agent_id: str, max_tasks: int = 1, wait: float = 0
) -> list[dict[str, Any]]:
    r = api.post(
        f"/aitp/agents/{agent_id}/claim", json={"max_tasks": max_tasks, "wait_seconds": wait}
    )
    assert r.status_code == 200, r.text
    return list(r.json()["tasks"])


def get_task(api: httpx.Client, task_id: str) -> dict[str, Any]:
    r = api.get(f"/aitp/tasks/{task_id}")
    assert r.status_code == 200, r.text
    return dict(r.json())


def wait_status(
    api: httpx.Client, task_id: str, statuses: set[str] | str, timeout: float = 20
) -> dict[str, Any]:
    wanted = {statuses} if isinstance(statuses, str) else statuses
    return dict(
        wait_for(
            lambda: (t := get_task(api, task_id))["status"] in wanted and t,
            timeout=timeout,
            message=f"task {task_id} to reach {wanted}",
        )
    )


def wait_parked(api: httpx.Client, *agent_ids: str) -> None:
    """Wait until each agent is parked in a long-poll claim (asking for work), so that routing
    counts it among the agents a task may go to."""
    for agent_id in agent_ids:
        wait_for(
            lambda a=agent_id: api.get(f"/ains/agents/{a}").json()["asking_for_work"],
            timeout=10,
            message=f"agent {agent_id} to park in a claim",
        )
