"""Running one claimed task: the handler call and the report it produces."""

from __future__ import annotations

import asyncio
import inspect
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ains_agent._context import Handler, TaskContext, TaskResult
from ains_agent._errors import PermanentError
from ains_client import Report

__all__ = ["Execution", "call_handler", "failure_report", "lease_seconds_left", "success_report"]


@dataclass
class Execution:
    """Book-keeping for one task in flight on this agent."""

    ctx: TaskContext
    handler: Handler
    renew_every: float
    handler_task: asyncio.Task[Any] | None = None
    companion: asyncio.Task[None] | None = None
    sending: bool = False  # the companion is in the middle of a request
    finished: bool = False
    cancel_reason: str | None = None  # "server" or "shutdown" once cancelled
    started_at: float = field(default_factory=time.monotonic)

    @property
    def task_id(self) -> str:
        """The task's id."""
        return self.ctx.task_id

    def cancel(self, reason: str) -> bool:
        """Set `ctx.cancelled` and cancel the handler; False if it was already over."""
        if self.finished or self.cancel_reason is not None:
            return False
        self.cancel_reason = reason
        self.ctx.cancelled.set()
        if self.handler_task is not None:
            self.handler_task.cancel()
        return True


async def call_handler(handler: Handler, ctx: TaskContext) -> Any:
    """Await an async handler; run a sync one in a worker thread."""
    if inspect.iscoroutinefunction(handler):
        return await handler(ctx)
    result = await asyncio.to_thread(handler, ctx)
    if inspect.isawaitable(result):
        result = await result
    return result


def success_report(ctx: TaskContext, value: Any) -> Report:
    """The `complete` report for a handler's return value (a `TaskResult` or plain JSON)."""
    report: Report = {"task_id": ctx.task_id, "attempt_id": ctx.attempt_id, "outcome": "complete"}
    if isinstance(value, TaskResult):
        report["result_data"] = value.result_data
        if value.cost is not None:
            report["cost"] = value.cost
        if value.quality_score is not None:
            report["quality_score"] = value.quality_score
    else:
        report["result_data"] = value
    return report


def failure_report(ctx: TaskContext, exc: BaseException) -> Report:
    """The `fail` report for a handler's exception; `PermanentError` is not retryable."""
    return {
        "task_id": ctx.task_id,
        "attempt_id": ctx.attempt_id,
        "outcome": "fail",
        "error": str(exc) or type(exc).__name__,
        "error_type": type(exc).__name__,
        "retryable": not isinstance(exc, PermanentError),
    }


def lease_seconds_left(lease_expires_at: str | None) -> float | None:
    """Seconds until an ISO 8601 lease expiry, or None when absent or unreadable."""
    if not lease_expires_at:
        return None
    try:
        expires = datetime.fromisoformat(lease_expires_at.replace("Z", "+00:00"))
    except ValueError:
        return None
    if expires.tzinfo is None:
        expires = expires.replace(tzinfo=UTC)
    return (expires - datetime.now(UTC)).total_seconds()
