"""The agent side of the protocol, spoken directly over HTTP by the benches that time its calls
(the sample agent, `ains agent`, is what the throughput benches run)."""

from __future__ import annotations

from typing import Any

import httpx

Task = dict[str, Any]


def register(api: httpx.Client, name: str, capability: str, max_concurrency: int = 1000) -> str:
    r = api.post(
        "/ains/agents",
        json={"name": name, "capabilities": [capability], "max_concurrency": max_concurrency},
    )
    r.raise_for_status()
    return str(r.json()["agent_id"])


def claim(api: httpx.Client, agent_id: str, max_tasks: int, wait_seconds: float) -> list[Task]:
    r = api.post(
        f"/aitp/agents/{agent_id}/claim",
        json={"max_tasks": max_tasks, "wait_seconds": wait_seconds},
        timeout=wait_seconds + 30,
    )
    r.raise_for_status()
    return list(r.json()["tasks"])


def complete(api: httpx.Client, agent_id: str, claimed: list[Task]) -> None:
    """One bulk report completing every claimed task."""
    if not claimed:
        return
    reports = [
        {"task_id": t["task_id"], "attempt_id": t["attempt_id"], "outcome": "complete",
         "result_data": {}}
        for t in claimed
    ]  # fmt: skip
    r = api.post(f"/aitp/agents/{agent_id}/reports", json={"reports": reports})
    r.raise_for_status()


def submit_batches(api: httpx.Client, capability: str, total: int, size: int = 100) -> None:
    body = [
        {"task_type": "noop", "capability_required": capability, "input_data": {"i": i}}
        for i in range(size)
    ]
    for start in range(0, total, size):
        tasks = body[: min(size, total - start)]
        r = api.post("/aitp/tasks/batch", json={"client_id": "bench", "tasks": tasks})
        r.raise_for_status()
