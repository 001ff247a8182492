"""Small HTTP helpers for the reliability tests: an agent driven by hand through the API."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

import httpx

from tests.support.server import wait_for

# tasks delivered to an agent in one claim but not asked for yet, by agent then task id
_delivered: dict[str, dict[str, dict[str, Any]]] = {}

FAST_RETRY = {"max_retries": 2, "base_delay_seconds": 0.05, "max_delay_seconds": 0.2}


def register(api: httpx.Client, capability: str, *, concurrency: int = 10) -> str:
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


def submit(api: httpx.Client, capability: str, client_id: str, **fields: Any) -> dict[str, Any]:
    body = {
        "client_id": client_id,
        "task_type": fields.pop("task_type", "reliability"),
        "capability_required": capability,
        "input_data": fields.pop("input_data", {"n": 1}),
        **fields,
    }
    r = api.post("/aitp/tasks", json=body)
    assert r.status_code == 201, r.text
    return dict(r.json())


def claim(api: httpx.Client, agent_id: str, task_id: str, timeout: float = 10.0) -> dict[str, Any]:
    """Claim until `task_id` is delivered to `agent_id`; returns the claimed task."""
    stash = _delivered.setdefault(agent_id, {})
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if task_id in stash:
            return stash.pop(task_id)
        r = api.post(f"/aitp/agents/{agent_id}/claim", json={"max_tasks": 10, "wait_seconds": 1})
        assert r.status_code == 200, r.text
        for task in r.json()["tasks"]:
            stash[task["task_id"]] = dict(task)
    raise AssertionError(f"task {task_id} was never delivered to {agent_id}")


def start(api: httpx.Client, task: dict[str, Any]) -> None:
    r = api.post(f"/aitp/tasks/{task['task_id']}/start", json={"attempt_id": task["attempt_id"]})
    assert r.status_code == 200, r.text


def complete(api: httpx.Client, task: dict[str, Any], result: Any = None) -> httpx.Response:
    return api.post(
        f"/aitp/tasks/{task['task_id']}/complete",
        json={"attempt_id": task["attempt_id"], "result_data": result or {"ok": True}},
    )


def fail(
    api: httpx.Client, task: dict[str, Any], *, retryable: bool = True, error: str = "boom"
) -> httpx.Response:
    return api.post(
        f"/aitp/tasks/{task['task_id']}/fail",
        json={
            "attempt_id": task["attempt_id"],
            "error": error,
            "error_type": "Boom" if retryable else "BadInput",
            "retryable": retryable,
        },
    )


def get(api: httpx.Client, task_id: str) -> dict[str, Any]:
    r = api.get(f"/aitp/tasks/{task_id}")
    assert r.status_code == 200, r.text
    return dict(r.json())


def wait_status(
    api: httpx.Client, task_id: str, *statuses: str, timeout: float = 15.0
) -> dict[str, Any]:
    def check() -> dict[str, Any] | None:
        task = get(api, task_id)
        return task if task["status"] in statuses else None

    return dict(wait_for(check, timeout=timeout, message=f"{task_id} to reach {statuses}"))


def events(task: dict[str, Any], event_type: str) -> list[dict[str, Any]]:
    return [e for e in task["history"] if e["event"] == event_type]


def at(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))
