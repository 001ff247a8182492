"""Agents: registration, heartbeats, claims, reports and admin calls (`/ains/agents`, `/aitp`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from ains_client._base import AsyncRequester, Call, Requester, drop_none
from ains_client._types import JSONObject, Page, Report, ReportResult

__all__ = ["AgentCalls", "Agents", "AsyncAgents"]

ReportResults = list[ReportResult]
Tasks = list[JSONObject]


class AgentCalls:
    """Builds the `Call` of every agent-side request; shared by `Agents` and `AsyncAgents`."""

    @staticmethod
    def register(
        name: str,
        capabilities: Sequence[str],
        max_concurrency: int,
        metadata: JSONObject | None,
        agent_id: str | None,
    ) -> Call:
        body = {
            "name": name,
            "capabilities": list(capabilities),
            "max_concurrency": max_concurrency,
        }
        body.update(drop_none(metadata=metadata, agent_id=agent_id))
        return Call("POST", "/ains/agents", json=body)

    @staticmethod
    def heartbeat(agent_id: str, in_flight: Sequence[str] | None) -> Call:
        body = {} if in_flight is None else {"in_flight": list(in_flight)}
        return Call("POST", f"/ains/agents/{agent_id}/heartbeat", json=body)

    @staticmethod
    def claim(agent_id: str, max_tasks: int, wait_seconds: float) -> Call:
        body = {"max_tasks": max_tasks, "wait_seconds": wait_seconds}
        return Call("POST", f"/aitp/agents/{agent_id}/claim", json=body, extra_timeout=wait_seconds)

    @staticmethod
    def start(task_id: str, attempt_id: str) -> Call:
        return Call("POST", f"/aitp/tasks/{task_id}/start", json={"attempt_id": attempt_id})

    @staticmethod
    def task_heartbeat(task_id: str, attempt_id: str, progress: Any) -> Call:
        body: JSONObject = {"attempt_id": attempt_id}
        if progress is not None:
            body["progress"] = progress
        return Call("POST", f"/aitp/tasks/{task_id}/heartbeat", json=body)

    @staticmethod
    def complete(
        task_id: str,
        attempt_id: str,
        result_data: Any,
        cost: float | None,
        quality_score: float | None,
    ) -> Call:
        body = {"attempt_id": attempt_id, "result_data": result_data}
        body.update(drop_none(cost=cost, quality_score=quality_score))
        return Call("POST", f"/aitp/tasks/{task_id}/complete", json=body)

    @staticmethod
    def fail(
        task_id: str, attempt_id: str, error: str, error_type: str | None, retryable: bool
    ) -> Call:
        body: JSONObject = {"attempt_id": attempt_id, "error": error, "retryable": retryable}
        body.update(drop_none(error_type=error_type))
        return Call("POST", f"/aitp/tasks/{task_id}/fail", json=body)

    @staticmethod
    def reports(agent_id: str, reports: Sequence[Report]) -> Call:
        body = {"reports": [dict(r) for r in reports]}
        return Call("POST", f"/aitp/agents/{agent_id}/reports", json=body)

    @staticmethod
    def patch(agent_id: str, trust_score: float | None, status: str | None, reason: str) -> Call:
        body = drop_none(trust_score=trust_score, status=status, reason=reason)
        return Call("PATCH", f"/ains/agents/{agent_id}", json=body)

    @staticmethod
    def list(cursor: str | None, limit: int | None) -> Call:
        return Call("GET", "/ains/agents", params=drop_none(cursor=cursor, limit=limit))


def _claimed(answer: Any) -> Tasks:
    tasks = answer.get("tasks") if isinstance(answer, dict) else answer
    return [t for t in tasks or [] if isinstance(t, dict)]


def _report_results(answer: Any) -> ReportResults:
    results = answer.get("results") if isinstance(answer, dict) else answer
    return cast(ReportResults, [r for r in results or [] if isinstance(r, dict)])


class Agents:
    """Agent calls of the synchronous `Client` (`client.agents`)."""

    def __init__(self, client: Requester) -> None:
        self._client = client

    def register(
        self,
        name: str,
        capabilities: Sequence[str],
        *,
        max_concurrency: int = 1,
        metadata: JSONObject | None = None,
        agent_id: str | None = None,
    ) -> JSONObject:
        """Register an agent; the answer holds `agent_id` and its `api_key` (shown once)."""
        call = AgentCalls.register(name, capabilities, max_concurrency, metadata, agent_id)
        result: JSONObject = self._client.send_call(call)
        return result

    def heartbeat(self, agent_id: str, in_flight: Sequence[str] | None = None) -> JSONObject:
        """Agent heartbeat; the answer's `cancel_task_ids` lists tasks to stop working on."""
        result: JSONObject = self._client.send_call(AgentCalls.heartbeat(agent_id, in_flight))
        return result

    def claim(self, agent_id: str, max_tasks: int = 1, wait_seconds: float = 0) -> Tasks:
        """Long-poll for up to `max_tasks` tasks, waiting at most `wait_seconds`."""
        return _claimed(self._client.send_call(AgentCalls.claim(agent_id, max_tasks, wait_seconds)))

    def start(self, task_id: str, attempt_id: str) -> JSONObject:
        """Mark a claimed task RUNNING."""
        result: JSONObject = self._client.send_call(AgentCalls.start(task_id, attempt_id))
        return result

    def task_heartbeat(self, task_id: str, attempt_id: str, progress: Any = None) -> JSONObject:
        """Extend the task's lease and report progress; see `cancel_requested` in the answer."""
        call = AgentCalls.task_heartbeat(task_id, attempt_id, progress)
        result: JSONObject = self._client.send_call(call)
        return result

    def complete(
        self,
        task_id: str,
        attempt_id: str,
        result_data: Any = None,
        *,
        cost: float | None = None,
        quality_score: float | None = None,
    ) -> JSONObject:
        """Report success for an attempt."""
        call = AgentCalls.complete(task_id, attempt_id, result_data, cost, quality_score)
        result: JSONObject = self._client.send_call(call)
        return result

    def fail(
        self,
        task_id: str,
        attempt_id: str,
        error: str,
        *,
        error_type: str | None = None,
        retryable: bool = True,
    ) -> JSONObject:
        """Report failure for an attempt; `retryable=False` makes it permanent."""
        call = AgentCalls.fail(task_id, attempt_id, error, error_type, retryable)
        result: JSONObject = self._client.send_call(call)
        return result

    def reports(self, agent_id: str, reports: Sequence[Report]) -> ReportResults:
        """Send many completions/failures in one call; answered item by item."""
        return _report_results(self._client.send_call(AgentCalls.reports(agent_id, reports)))

    def list(self, *, cursor: str | None = None, limit: int | None = None) -> Page:
        """One page of agents."""
        return Page.from_json(self._client.send_call(AgentCalls.list(cursor, limit)))

    def get(self, agent_id: str) -> JSONObject:
        """Fetch one agent."""
        result: JSONObject = self._client.send_call(Call("GET", f"/ains/agents/{agent_id}"))
        return result

    def trust(self, agent_id: str) -> Page:
        """The agent's trust records."""
        call = Call("GET", f"/ains/agents/{agent_id}/trust")
        return Page.from_json(self._client.send_call(call))

    def deregister(self, agent_id: str) -> None:
        """Deregister an agent; its leased tasks are re-routed."""
        self._client.send_call(Call("DELETE", f"/ains/agents/{agent_id}"))

    def patch(
        self,
        agent_id: str,
        *,
        reason: str,
        trust_score: float | None = None,
        status: str | None = None,
    ) -> JSONObject:
        """Admin: set an agent's trust score and/or status (ACTIVE/QUARANTINED)."""
        call = AgentCalls.patch(agent_id, trust_score, status, reason)
        result: JSONObject = self._client.send_call(call)
        return result


class AsyncAgents:
    """Agent calls of the `AsyncClient` (`client.agents`); see `Agents` for each call."""

    def __init__(self, client: AsyncRequester) -> None:
        self._client = client

    async def register(
        self,
        name: str,
        capabilities: Sequence[str],
        *,
        max_concurrency: int = 1,
        metadata: JSONObject | None = None,
        agent_id: str | None = None,
    ) -> JSONObject:
        """Register an agent; the answer holds `agent_id` and its `api_key` (shown once)."""
        call = AgentCalls.register(name, capabilities, max_concurrency, metadata, agent_id)
        result: JSONObject = await self._client.send_call(call)
        return result

    async def heartbeat(self, agent_id: str, in_flight: Sequence[str] | None = None) -> JSONObject:
        """Agent heartbeat; the answer's `cancel_task_ids` lists tasks to stop working on."""
        call = AgentCalls.heartbeat(agent_id, in_flight)
        result: JSONObject = await self._client.send_call(call)
        return result

    async def claim(self, agent_id: str, max_tasks: int = 1, wait_seconds: float = 0) -> Tasks:
        """Long-poll for up to `max_tasks` tasks, waiting at most `wait_seconds`."""
        call = AgentCalls.claim(agent_id, max_tasks, wait_seconds)
        return _claimed(await self._client.send_call(call))

    async def start(self, task_id: str, attempt_id: str) -> JSONObject:
        """Mark a claimed task RUNNING."""
        result: JSONObject = await self._client.send_call(AgentCalls.start(task_id, attempt_id))
        return result

    async def task_heartbeat(
        self, task_id: str, attempt_id: str, progress: Any = None
    ) -> JSONObject:
        """Extend the task's lease and report progress; see `cancel_requested` in the answer."""
        call = AgentCalls.task_heartbeat(task_id, attempt_id, progress)
        result: JSONObject = await self._client.send_call(call)
        return result

    async def complete(
        self,
        task_id: str,
        attempt_id: str,
        result_data: Any = None,
        *,
        cost: float | None = None,
        quality_score: float | None = None,
    ) -> JSONObject:
        """Report success for an attempt."""
        call = AgentCalls.complete(task_id, attempt_id, result_data, cost, quality_score)
        result: JSONObject = await self._client.send_call(call)
        return result

    async def fail(
        self,
        task_id: str,
        attempt_id: str,
        error: str,
        *,
        error_type: str | None = None,
        retryable: bool = True,
    ) -> JSONObject:
        """Report failure for an attempt; `retryable=False` makes it permanent."""
        call = AgentCalls.fail(task_id, attempt_id, error, error_type, retryable)
        result: JSONObject = await self._client.send_call(call)
        return result

    async def reports(self, agent_id: str, reports: Sequence[Report]) -> ReportResults:
        """Send many completions/failures in one call; answered item by item."""
        call = AgentCalls.reports(agent_id, reports)
        return _report_results(await self._client.send_call(call))

    async def list(self, *, cursor: str | None = None, limit: int | None = None) -> Page:
        """One page of agents."""
        return Page.from_json(await self._client.send_call(AgentCalls.list(cursor, limit)))

    async def get(self, agent_id: str) -> JSONObject:
        """Fetch one agent."""
        call = Call("GET", f"/ains/agents/{agent_id}")
        result: JSONObject = await self._client.send_call(call)
        return result

    async def trust(self, agent_id: str) -> Page:
        """The agent's trust records."""
        call = Call("GET", f"/ains/agents/{agent_id}/trust")
        return Page.from_json(await self._client.send_call(call))

    async def deregister(self, agent_id: str) -> None:
        """Deregister an agent; its leased tasks are re-routed."""
        await self._client.send_call(Call("DELETE", f"/ains/agents/{agent_id}"))

    async def patch(
        self,
        agent_id: str,
        *,
        reason: str,
        trust_score: float | None = None,
        status: str | None = None,
    ) -> JSONObject:
        """Admin: set an agent's trust score and/or status (ACTIVE/QUARANTINED)."""
        call = AgentCalls.patch(agent_id, trust_score, status, reason)
        result: JSONObject = await self._client.send_call(call)
        return result
