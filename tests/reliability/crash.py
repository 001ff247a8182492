"""Load and checks shared by the crash tests: a client thread submitting tasks, and the
exactly-once audit of every task whose submission was acknowledged."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.support.server import AgentProcess, ServerProcess, wait_for


@dataclass
class Submitter:
    """Submits tasks in a loop; remembers the ids of those answered 2xx."""

    url: str
    capability: str
    client_id: str
    acked: list[str] = field(default_factory=list)
    refused: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> Submitter:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        n = 0
        with httpx.Client(base_url=self.url, timeout=5) as api:
            while not self._stop.is_set():
                n += 1
                body = {
                    "client_id": self.client_id,
                    "task_type": "crash",
                    "capability_required": self.capability,
                    "input_data": {"n": n},
                    "retry_policy": {"max_retries": 20, "base_delay_seconds": 0.1},
                }
                try:
                    r = api.post("/aitp/tasks", json=body)
                except httpx.HTTPError:
                    self.refused += 1
                    time.sleep(0.05)
                    continue
                if r.is_success:
                    self.acked.append(r.json()["task_id"])
                else:
                    self.refused += 1
                    time.sleep(0.05)
                time.sleep(0.01)

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=10)


def echo_agents(server: ServerProcess, capability: str, n: int) -> list[AgentProcess]:
    args = ["-c", capability, "--handler", "echo", "--heartbeat-interval", "0.5"]
    return [
        AgentProcess(server.url, [*args, "--wait-seconds", "1", "--name", f"crash-{i}"]).start()
        for i in range(n)
    ]


@dataclass
class Audit:
    tasks: int
    completed: int
    lost: int
    duplicated: int
    problems: list[str]


def audit(api: httpx.Client, client_id: str, acked: list[str], timeout: float = 90.0) -> Audit:
    """Wait until every task of the client is terminal, then check each acknowledged task
    exists and completed exactly once."""

    def settled() -> bool:
        items = _all_tasks(api, client_id)
        return bool(items) and all(t["status"] == "COMPLETED" for t in items)

    wait_for(settled, timeout=timeout, interval=0.5, message="every task to complete")
    lost = duplicated = completed = 0
    problems: list[str] = []
    for task_id in acked:
        r = api.get(f"/aitp/tasks/{task_id}")
        if r.status_code == 404:
            lost += 1
            problems.append(f"{task_id} lost")
            continue
        task = r.json()
        done = [e for e in task["history"] if e["event"] == "task.completed"]
        won = [a for a in task["attempts"] if a["status"] == "COMPLETED"]
        if task["status"] == "COMPLETED":
            completed += 1
        if len(done) != 1 or len(won) != 1:
            duplicated += len(done) > 1
            problems.append(f"{task_id}: {len(done)} completed events, {len(won)} attempts")
        elif won[0]["attempt_id"] != task["attempt_id"]:
            problems.append(f"{task_id}: completed attempt is not the task's attempt")
    return Audit(len(acked), completed, lost, duplicated, problems)


def _all_tasks(api: httpx.Client, client_id: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"client_id": client_id, "limit": 500}
        if cursor:
            params["cursor"] = cursor
        page = api.get("/aitp/tasks", params=params).json()
        items += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            return items
