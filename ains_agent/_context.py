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

    `cancelled` is set when the server cancels the task (or the lease is lost); async handlers
    are also cancelled at their next `await`, sync handlers should check `is_cancelled`.
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

    def progress_threadsafe(self, data: Any = None) -> None:
        """`progress()` for sync handlers running in a thread: sent in the background."""

        def schedule() -> None:
            task = self._loop.create_task(self._send_progress(self, data))
            _background.add(task)
            task.add_done_callback(_background.discard)

        self._loop.call_soon_threadsafe(schedule)


Handler = Callable[[TaskContext], Any]
"""A handler: `async def h(task) -> result` or a plain function (run in a thread)."""
