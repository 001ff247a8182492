"""An in-memory fake of the AINS agent protocol, served through `httpx.MockTransport`."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx


def make_task(n: int, capability: str = "echo:v1", **extra: Any) -> dict[str, Any]:
    """A claimed task as the server would hand it out."""
    lease = (datetime.now(UTC) + timedelta(seconds=60)).isoformat()
    task = {
        "task_id": f"task_{n}",
        "attempt_id": f"att_{n}",
        "task_type": "t",
        "capability_required": capability,
        "input_data": {"n": n},
        "priority": 5,
        "lease_expires_at": lease,
        "timeout_seconds": None,
        "dependency_results": {},
        "metadata": {},
    }
    task.update(extra)
    return task


@dataclass
class FakeServer:
    """Records every request; hands out `queue`d tasks to claims; answers reports."""

    queue: list[dict[str, Any]] = field(default_factory=list)
    requests: list[httpx.Request] = field(default_factory=list)
    report_calls: list[list[dict[str, Any]]] = field(default_factory=list)
    single_reports: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    claims: list[dict[str, Any]] = field(default_factory=list)
    starts: list[str] = field(default_factory=list)
    task_heartbeats: list[tuple[str, Any]] = field(default_factory=list)
    cancel_on_heartbeat: set[str] = field(default_factory=set)
    cancel_on_task_heartbeat: set[str] = field(default_factory=set)
    refuse_reports: dict[str, int] = field(default_factory=dict)  # task_id -> status
    failures: dict[str, list[Any]] = field(default_factory=dict)  # path suffix -> errors
    known_agents: set[str] = field(default_factory=set)
    bulk_reports: bool = True
    on_report: Callable[[dict[str, Any]], None] | None = None
    claim_wait_cap: float = 0.05

    def transport(self) -> httpx.MockTransport:
        """The transport to hand to a client or an agent."""
        return httpx.MockTransport(self.handle)

    @property
    def reports(self) -> list[dict[str, Any]]:
        """Every report received, bulk or one by one, in order."""
        bulk = [r for call in self.report_calls for r in call]
        return bulk + [r for _, r in self.single_reports]

    def _injected(self, path: str) -> httpx.Response | None:
        for suffix, errors in self.failures.items():
            if path.endswith(suffix) and errors:
                error = errors.pop(0)
                if isinstance(error, int):
                    return httpx.Response(error, json={"title": "injected", "status": error})
                raise error
        return None

    async def handle(self, request: httpx.Request) -> httpx.Response:
        """Route one request."""
        self.requests.append(request)
        path = request.url.path
        injected = self._injected(path)
        if injected is not None:
            return injected
        body: Any = json.loads(request.content) if request.content else {}
        parts = path.strip("/").split("/")
        if path == "/ains/agents" and request.method == "POST":
            agent_id = body.get("agent_id") or f"agt_{len(self.known_agents) + 1}"
            self.known_agents.add(agent_id)
            return httpx.Response(201, json={**body, "agent_id": agent_id, "api_key": "agent-key"})
        if parts[:2] == ["ains", "agents"] and parts[-1] == "heartbeat":
            return self._agent_heartbeat(parts[2])
        if parts[-1] == "claim":
            return await self._claim(body)
        if parts[-1] == "reports":
            return self._reports(body)
        if parts[:2] == ["aitp", "tasks"]:
            return self._task_call(parts[2], parts[3], body)
        return httpx.Response(404, json={"title": "Not Found", "status": 404})

    def _agent_heartbeat(self, agent_id: str) -> httpx.Response:
        if agent_id not in self.known_agents:
            return httpx.Response(404, json={"title": "Not Found", "status": 404})
        cancel = sorted(self.cancel_on_heartbeat)
        self.cancel_on_heartbeat.clear()
        answer = {"agent_id": agent_id, "online": True, "cancel_task_ids": cancel}
        return httpx.Response(200, json={**answer, "server_time": "now"})

    async def _claim(self, body: dict[str, Any]) -> httpx.Response:
        self.claims.append(body)
        if not self.queue:
            await asyncio.sleep(min(body.get("wait_seconds", 0), self.claim_wait_cap))
        n = body.get("max_tasks", 1)
        tasks, self.queue = self.queue[:n], self.queue[n:]
        return httpx.Response(200, json={"tasks": tasks})

    def _result_for(self, report: dict[str, Any]) -> dict[str, Any]:
        status = self.refuse_reports.get(report["task_id"])
        if status is not None:
            problem = {"title": "Conflict", "status": status, "detail": "stale attempt"}
            return {"task_id": report["task_id"], "ok": False, "error": problem}
        if self.on_report is not None:
            self.on_report(report)
        done = "COMPLETED" if report["outcome"] == "complete" else "FAILED"
        return {"task_id": report["task_id"], "ok": True, "status": done}

    def _reports(self, body: dict[str, Any]) -> httpx.Response:
        if not self.bulk_reports:
            return httpx.Response(404, json={"title": "Not Found", "status": 404})
        self.report_calls.append(body["reports"])
        return httpx.Response(200, json={"results": [self._result_for(r) for r in body["reports"]]})

    def _task_call(self, task_id: str, verb: str, body: dict[str, Any]) -> httpx.Response:
        if verb == "start":
            self.starts.append(task_id)
            return httpx.Response(200, json={"task_id": task_id, "status": "RUNNING"})
        if verb == "heartbeat":
            self.task_heartbeats.append((task_id, body.get("progress")))
            cancel = task_id in self.cancel_on_task_heartbeat
            return httpx.Response(200, json={"lease_expires_at": "2099-01-01T00:00:00Z",
                                             "cancel_requested": cancel})  # fmt: skip
        outcome = "complete" if verb == "complete" else "fail"
        report = {"task_id": task_id, "outcome": outcome, **body}
        self.single_reports.append((verb, report))
        result = self._result_for(report)
        if not result["ok"]:
            return httpx.Response(result["error"]["status"], json=result["error"])
        return httpx.Response(200, json={"task_id": task_id, "status": result["status"]})


async def eventually(predicate: Callable[[], bool], within: float = 5.0) -> None:
    """Wait until `predicate()` holds, failing the test after `within` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.005)
