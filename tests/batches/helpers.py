"""An agent driven by hand over HTTP, for tests that need tasks to finish."""

from __future__ import annotations

from typing import Any

import httpx


def register_agent(api: httpx.Client, capability: str, concurrency: int = 10) -> str:
    r = api.post(
        "/ains/agents",
        json={
            "name": f"agent-{capability}",
            "capabilities": [capability],
            "max_concurrency": concurrency,
        },
    )
    assert r.status_code == 201, r.text
    return str(r.json()["agent_id"])


def claim(api: httpx.Client, agent_id: str, max_tasks: int = 1, wait: float = 5) -> list[Any]:
    r = api.post(
        f"/aitp/agents/{agent_id}/claim", json={"max_tasks": max_tasks, "wait_seconds": wait}
    )
    assert r.status_code == 200, r.text
    return list(r.json()["tasks"])


def complete(api: httpx.Client, task: dict[str, Any], result: Any) -> None:
    r = api.post(
        f"/aitp/tasks/{task['task_id']}/complete",
        json={"attempt_id": task["attempt_id"], "result_data": result},
    )
    assert r.status_code == 200, r.text


def fail(api: httpx.Client, task: dict[str, Any], error: str, retryable: bool = False) -> None:
    r = api.post(
        f"/aitp/tasks/{task['task_id']}/fail",
        json={"attempt_id": task["attempt_id"], "error": error, "retryable": retryable},
    )
    assert r.status_code == 200, r.text


def task(capability: str, **extra: Any) -> dict[str, Any]:
    return {"task_type": "t", "capability_required": capability, "input_data": {}, **extra}
