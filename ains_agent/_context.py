"""What a handler receives (`TaskContext`) and may return (`TaskResult`)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from ains_client import JSONObject

__all__ = ["Handler", "TaskContext", "TaskResult"]


@dataclass(frozen=True)
class TaskResult:
    """Return this from a handler to report a cost or quality score with the result."""

    result_data: Any = None
    cost: float | None = None
    quality_score: float | None = None


_background: set[asyncio.Task[None]] = set()  # keeps fire-and-forget sends referenced

ProgressSender = Callable[["TaskContext", Any], Coroutine[Any, Any, None]]


class TaskContext:
    """One claimed task as a handler sees it.

    What the task is: `task_id`, `attempt_id`, `task_type`, `capability`, `input_data`,
    `priority`, `metadata`, `dependency_results` (the results of the tasks it depends on, by
    task id), `timeout_seconds` and `lease_expires_at`; `task` is the whole claimed object.

    Progress: `await task.progress({"done": 3, "of": 10})` sends a task heartbeat carrying the
    progress (shown in `GET /aitp/tasks/{id}` as `progress`); from a sync handler use
    `progress_threadsafe()`.

    Heartbeats and leases: the agent renews the lease of a running task on its own (every
    `lease_renew_interval`, and well before it runs out), so a handler need not; `heartbeat()`
    renews it at once, e.g. before a long blocking call.

    Cancellation: `cancelled` (an `asyncio.Event`) is set when the server cancels the task, it
    times out or the lease is lost. Async handlers are also cancelled at their next `await`;
    sync handlers (run in a thread) should check `is_cancelled` now and then and return.
    """

    def __init__(
        self,
        task: JSONObject,
        progress_sender: ProgressSender,
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        self.task = task
        self.task_id: str = task["task_id"]
        self.attempt_id: str = task["attempt_id"]
        self.task_type: str = task.get("task_type") or ""
        self.capability: str = task.get("capability_required") or ""
        self.input_data: Any = task.get("input_data")
        self.priority: int | None = task.get("priority")
        self.metadata: JSONObject = task.get("metadata") or {}
        self.dependency_results: JSONObject = task.get("dependency_results") or {}
        self.timeout_seconds: float | None = task.get("timeout_seconds")
        self.lease_expires_at: str | None = task.get("lease_expires_at")
        self.cancelled = asyncio.Event()
        self._send_progress = progress_sender
        self._loop = loop

    @property
    def is_cancelled(self) -> bool:
        """Whether the task was cancelled; safe to read from a sync handler's thread."""
        return self.cancelled.is_set()

    async def progress(self, data: Any = None) -> None:
        """Send a task heartbeat with `data` as progress; it also renews the lease."""
        await self._send_progress(self, data)

    async def heartbeat(self) -> None:
        """Renew the lease now (a task heartbeat without progress data)."""
        await self._send_progress(self, None)

    def progress_threadsafe(self, data: Any = None) -> None:
        """`progress()` for sync handlers running in a thread: sent in the background."""

        def schedule() -> None:
            task = self._loop.create_task(self._send_progress(self, data))
            _background.add(task)
            task.add_done_callback(_background.discard)

        self._loop.call_soon_threadsafe(schedule)


Handler = Callable[[TaskContext], Any]
"""A handler: `async def h(task) -> result` or a plain function (run in a thread)."""
