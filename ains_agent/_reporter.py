"""Batches task reports into `POST /aitp/agents/{agent_id}/reports` calls.

Reports finished close together share one request: the batch is sent when it is full or
`flush_interval` seconds after its first report. Transient failures (network, 5xx, 429) are
retried with backoff, so a restarting server loses nothing; a report refused by the server
(e.g. 409 for a stale attempt) is logged and dropped.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence

from ains_agent._backoff import Backoff
from ains_client import (
    AinsError,
    AsyncClient,
    NetworkError,
    NotFound,
    RateLimited,
    Report,
    ReportResult,
    ServerError,
)

__all__ = ["ReportBatcher"]

log = logging.getLogger("ains_agent")

TRANSIENT = (NetworkError, ServerError, RateLimited)

Rejected = Callable[[Report, str], None]


class ReportBatcher:
    """Collects reports with `add()` and delivers them from one background worker."""

    def __init__(
        self,
        client: AsyncClient,
        agent_id: str,
        *,
        max_batch: int = 100,
        flush_interval: float = 0.005,
        close_timeout: float = 30.0,
        on_rejected: Rejected | None = None,
        backoff: Backoff | None = None,
    ) -> None:
        self._client = client
        self._agent_id = agent_id
        self.max_batch = max_batch
        self.flush_interval = flush_interval
        self.close_timeout = close_timeout
        self._on_rejected = on_rejected
        self._backoff = backoff or Backoff()
        self._pending: list[Report] = []
        self._has_items = asyncio.Event()
        self._full = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._closing = False
        self._give_up_at = float("inf")
        self._bulk = True  # False once the server proved it has no bulk endpoint
        self._worker: asyncio.Task[None] | None = None
        self.batches_sent = 0

    def start(self) -> None:
        """Start the background worker (inside a running event loop)."""
        self._worker = asyncio.get_running_loop().create_task(self._run())

    def add(self, report: Report) -> None:
        """Queue one report; it is sent within `flush_interval` seconds or sooner."""
        self._pending.append(report)
        self._idle.clear()
        self._has_items.set()
        if len(self._pending) >= self.max_batch:
            self._full.set()

    @property
    def pending(self) -> int:
        """Reports not yet delivered."""
        return len(self._pending)

    async def close(self) -> None:
        """Send everything queued (retrying up to `close_timeout` seconds), then stop."""
        self._closing = True
        self._give_up_at = asyncio.get_running_loop().time() + self.close_timeout
        self._full.set()
        if self._worker is not None and not self._worker.done():
            await self._idle.wait()
            self._worker.cancel()
            await asyncio.gather(self._worker, return_exceptions=True)

    async def _run(self) -> None:
        while True:
            await self._has_items.wait()
            if not self._closing and len(self._pending) < self.max_batch:
                try:
                    async with asyncio.timeout(self.flush_interval):
                        await self._full.wait()
                except TimeoutError:
                    pass
            batch = self._pending[: self.max_batch]
            del self._pending[: self.max_batch]
            if len(self._pending) < self.max_batch and not self._closing:
                self._full.clear()
            if not self._pending:
                self._has_items.clear()
            await self._deliver(batch)
            if not self._pending:
                self._idle.set()

    async def _deliver(self, batch: list[Report]) -> None:
        while True:
            try:
                if self._bulk:
                    results = await self._client.agents.reports(self._agent_id, batch)
                else:
                    results = await self._send_one_by_one(batch)
            except TRANSIENT as exc:
                if not await self._wait_to_retry(exc, len(batch)):
                    self._reject_all(batch, f"server unreachable: {exc.message}")
                    return
                continue
            except NotFound as exc:
                if not self._bulk:
                    self._reject_all(batch, exc.message)
                    return
                log.warning("bulk reports unavailable (%s); reporting one by one", exc.message)
                self._bulk = False
                continue
            except AinsError as exc:
                self._reject_all(batch, exc.message)
                return
            self._backoff.reset()
            self.batches_sent += 1
            self._check_results(batch, results)
            return

    async def _wait_to_retry(self, exc: AinsError, size: int) -> bool:
        loop = asyncio.get_running_loop()
        delay = self._backoff.next()
        if isinstance(exc, RateLimited) and exc.retry_after is not None:
            delay = exc.retry_after
        if loop.time() + delay > self._give_up_at:
            return False
        log.warning("sending %d report(s) failed (%s); retrying in %.2fs", size, exc, delay)
        await asyncio.sleep(delay)
        return True

    async def _send_one_by_one(self, batch: Sequence[Report]) -> list[ReportResult]:
        results: list[ReportResult] = []
        agents = self._client.agents
        for report in batch:
            task_id, attempt_id = report["task_id"], report["attempt_id"]
            try:
                if report["outcome"] == "complete":
                    task = await agents.complete(
                        task_id, attempt_id, report.get("result_data"),
                        cost=report.get("cost"), quality_score=report.get("quality_score"),
                    )  # fmt: skip
                else:
                    task = await agents.fail(
                        task_id, attempt_id, report.get("error", ""),
                        error_type=report.get("error_type"),
                        retryable=report.get("retryable", True),
                    )  # fmt: skip
            except TRANSIENT:
                raise
            except AinsError as exc:
                problem = {"status": exc.status, "title": exc.title, "detail": exc.detail}
                results.append({"task_id": task_id, "ok": False, "error": problem})
                continue
            results.append({"task_id": task_id, "ok": True, "status": str(task.get("status"))})
        return results

    def _check_results(self, batch: list[Report], results: list[ReportResult]) -> None:
        by_task = {r.get("task_id"): r for r in results}
        for report in batch:
            result = by_task.get(report["task_id"])
            if result is None or result.get("ok"):
                continue
            problem = result.get("error") or {}
            status = problem.get("status")
            reason = f"{status} {problem.get('title', '')}: {problem.get('detail', '')}"
            level = logging.INFO if status == 409 else logging.WARNING
            log.log(level, "report for %s refused: %s", report["task_id"], reason)
            if self._on_rejected is not None:
                self._on_rejected(report, reason)

    def _reject_all(self, batch: list[Report], reason: str) -> None:
        log.error("dropping %d report(s): %s", len(batch), reason)
        if self._on_rejected is not None:
            for report in batch:
                self._on_rejected(report, reason)
