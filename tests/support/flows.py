"""Small helpers that drive the HTTP protocol the way an agent or a client would."""

from __future__ import annotations

import uuid
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


# Routing passes take the capabilities woken since the last pass in sorted order, so a marker
# capability that sorts after every test capability is routed last in its pass.
MARKER_PREFIX = "zzz-router-mark"


def router_caught_up(api: httpx.Client, uid: str) -> None:
    """Return once the router has finished a pass over every capability woken before the call.

    A marker task goes to an idle agent of its own; the pass that assigns it began after every
    earlier wake-up, and routes the marker after any other capability in it."""
    capability = f"{MARKER_PREFIX}-{uid}-{uuid.uuid4().hex[:6]}:v1"
    register_agent(api, capability, name="router-marker")
    marker = submit(api, capability, client_id=f"marker-{uid}")
    wait_status(api, marker["task_id"], "ASSIGNED", timeout=10)


def wait_claims_arrived(api: httpx.Client, agents: list[dict[str, Any]]) -> None:
    """Wait until each agent's claim has reached the server (a claim refreshes the agent's
    `last_heartbeat_at`, so it moves past the value registration gave it)."""
    for agent in agents:
        registered = agent["last_heartbeat_at"]
        wait_for(
            lambda a=agent, r=registered: (
                api.get(f"/ains/agents/{a['agent_id']}").json()["last_heartbeat_at"] != r
            ),
            timeout=10,
            message=f"a claim from {agent['agent_id']}",
        )
