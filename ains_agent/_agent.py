"""`Agent`: registers, heartbeats, long-polls for tasks, runs handlers and reports results."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import httpx

from ains_agent._backoff import Backoff
from ains_agent._context import Handler, TaskContext
from ains_agent._errors import PermanentError
from ains_agent._execution import (
    Execution,
    call_handler,
    failure_report,
    lease_seconds_left,
    success_report,
)
from ains_agent._reporter import TRANSIENT, ReportBatcher
from ains_agent._stats import AgentStats
from ains_agent._stream import CancellationStream
from ains_client import (
    AinsError,
    AsyncClient,
    Conflict,
    JSONObject,
    NotFound,
    RateLimited,
    Report,
)

__all__ = ["Agent"]

log = logging.getLogger("ains_agent")
T = TypeVar("T")
H = TypeVar("H", bound=Handler)
SDK_VERSION = "ains-agent/0.1"


class Agent:
    """An AINS agent: decorate handlers with `@agent.handler("capability")`, then `run()`.

    The capabilities registered are the handlers' names. With `agent_id` and `api_key` given,
    an existing registration is reused. With `stream_cancellations` (the default) the agent also
    follows the server's event stream and stops a cancelled (or timed-out) task's handler at
    once; the heartbeat still tells it every `heartbeat_interval` as a fallback. `transport` is
    an httpx async transport (tests).
    """

    def __init__(
        self,
        name: str,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        agent_id: str | None = None,
        max_concurrency: int = 1,
        wait_seconds: float = 10.0,
        heartbeat_interval: float = 5.0,
        lease_renew_interval: float = 15.0,
        start_after: float = 0.25,
        report_batch_size: int = 100,
        report_flush_interval: float = 0.005,
        metadata: JSONObject | None = None,
        on_ready: Callable[[str], None] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        stream_cancellations: bool = True,
    ) -> None:
        if max_concurrency < 1:
            raise ValueError("max_concurrency must be at least 1")
        self.name = name
        self.max_concurrency = max_concurrency
        self.wait_seconds = wait_seconds
        self.heartbeat_interval = heartbeat_interval
        self.lease_renew_interval = lease_renew_interval
        self.start_after = start_after
        self.report_batch_size = report_batch_size
        self.report_flush_interval = report_flush_interval
        self.metadata = dict(metadata or {})
        self.on_ready = on_ready
        self.stream_cancellations = stream_cancellations
        self.stats = AgentStats()
        self._agent_id = agent_id
        self._reuse = agent_id is not None and bool(api_key or os.environ.get("AINS_API_KEY"))
        self._base_url = base_url
        self._api_key = api_key
        self._transport = transport
        self._handlers: dict[str, Handler] = {}
        self._running: dict[str, Execution] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._slot_freed: asyncio.Event | None = None
        self._client: AsyncClient | None = None
        self._reporter: ReportBatcher | None = None
        self._stream: CancellationStream | None = None

    # -- configuration ------------------------------------------------------------------------

    def handler(self, capability: str) -> Callable[[H], H]:
        """Decorator registering a handler for `capability` (e.g. "translation:v1")."""

        def register(fn: H) -> H:
            self.add_handler(capability, fn)
            return fn

        return register

    def add_handler(self, capability: str, fn: Handler) -> None:
        """Register `fn` for `capability`; async functions are awaited, others run in a thread."""
        self._handlers[capability] = fn

    @property
    def capabilities(self) -> list[str]:
        """The capabilities this agent offers (its handlers' names)."""
        return list(self._handlers)

    @property
    def agent_id(self) -> str | None:
        """The agent's id once registered (or as given)."""
        return self._agent_id

    @property
    def in_flight(self) -> list[str]:
        """Ids of the tasks being handled right now."""
        return list(self._running)

    # -- running ------------------------------------------------------------------------------

    def run(self) -> AgentStats:
        """Run until SIGTERM/SIGINT or `stop()`; return the final counters."""
        return asyncio.run(self.run_async())

    def stop(self) -> None:
        """Stop claiming, finish the tasks in flight, send their reports and return.

        Safe to call from any thread or a signal handler.
        """
        if self._loop is not None and self._stopping is not None:
            self._loop.call_soon_threadsafe(self._stopping.set)

    async def run_async(self, *, install_signal_handlers: bool = True) -> AgentStats:
        """The agent's main coroutine; see `run()`."""
        if not self._handlers:
            raise ValueError("register at least one handler before running the agent")
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        self._slot_freed = asyncio.Event()
        self._client = AsyncClient(self._base_url, self._api_key, transport=self._transport)
        signals = self._install_signals() if install_signal_handlers else []
        try:
            if await self._register():
                await self._serve(self._client)
        finally:
            for sig in signals:
                self._loop.remove_signal_handler(sig)
            await self._client.aclose()
        log.info("agent %s stopped: %s", self._agent_id, self.stats.summary())
        return self.stats

    async def _serve(self, client: AsyncClient) -> None:
        assert self._agent_id is not None
        if self.on_ready is not None:
            self.on_ready(self._agent_id)
        self._reporter = ReportBatcher(
            client, self._agent_id, max_batch=self.report_batch_size,
            flush_interval=self.report_flush_interval, on_rejected=self._on_rejected,
        )  # fmt: skip
        self._reporter.start()
        background = [asyncio.create_task(self._heartbeat_loop(client))]
        if self.stream_cancellations:
            self._stream = CancellationStream(
                client.base_url, lambda: client.api_key, self._on_stream_event,
                transport=self._transport,
            )  # fmt: skip
            background.append(asyncio.create_task(self._stream.run()))
        try:
            await self._claim_loop(client)
        finally:
            await self._drain()
            await self._reporter.close()
            for task in background:
                task.cancel()
            await asyncio.gather(*background, return_exceptions=True)

    def _install_signals(self) -> list[signal.Signals]:
        assert self._loop is not None
        installed = []
        for sig in (signal.SIGTERM, signal.SIGINT):
            try:
                self._loop.add_signal_handler(sig, self._on_signal)
            except (NotImplementedError, RuntimeError, ValueError):
                continue  # not the main thread, or no signal support: stop() still works
            installed.append(sig)
        return installed

    def _on_signal(self) -> None:
        assert self._stopping is not None
        if self._stopping.is_set():
            log.warning("second signal: cancelling %d task(s) in flight", len(self._running))
            for execution in list(self._running.values()):
                execution.cancel("shutdown")
            return
        log.info("stopping: finishing %d task(s) in flight", len(self._running))
        self._stopping.set()

    async def _unless_stopping(self, coro: Coroutine[Any, Any, T]) -> tuple[bool, T | None]:
        """Run `coro` unless a stop is requested first: (True, value) or (False, None)."""
        assert self._stopping is not None
        if self._stopping.is_set():
            coro.close()
            return False, None
        work = asyncio.ensure_future(coro)
        stop = asyncio.ensure_future(self._stopping.wait())
        try:
            await asyncio.wait({work, stop}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop.cancel()
        if work.done():
            return True, work.result()
        work.cancel()
        await asyncio.gather(work, return_exceptions=True)
        return False, None

    async def _register(self) -> bool:
        """Register (or check the given registration), retrying while the server is away."""
        assert self._client is not None
        backoff = Backoff()
        while True:
            try:
                ok, _ = await self._unless_stopping(self._register_once(self._client))
                return ok
            except TRANSIENT as exc:
                delay = backoff.next()
                log.warning("cannot register (%s); retrying in %.1fs", exc.message, delay)
                ok, _ = await self._unless_stopping(asyncio.sleep(delay))
                if not ok:
                    return False

    async def _register_once(self, client: AsyncClient) -> None:
        if self._reuse and self._agent_id is not None:
            try:
                await client.agents.heartbeat(self._agent_id)
                return
            except NotFound:
                log.info("agent %s unknown to the server; registering it", self._agent_id)
        metadata = {"sdk": SDK_VERSION, "hostname": socket.gethostname(), "pid": os.getpid()}
        metadata.update(self.metadata)
        try:
            answer = await client.agents.register(
                self.name, self.capabilities, max_concurrency=self.max_concurrency,
                metadata=metadata, agent_id=self._agent_id,
            )  # fmt: skip
        except Conflict:
            if self._agent_id is None:
                raise
            log.info("agent %s already registered; reusing it", self._agent_id)
            return
        self._agent_id = str(answer["agent_id"])
        if answer.get("api_key"):
            client.api_key = str(answer["api_key"])

    async def _claim_loop(self, client: AsyncClient) -> None:
        assert self._agent_id is not None and self._slot_freed is not None
        assert self._stopping is not None
        backoff = Backoff()
        while not self._stopping.is_set():
            free = self.max_concurrency - len(self._running)
            if free <= 0:
                self._slot_freed.clear()
                await self._unless_stopping(self._slot_freed.wait())
                continue
            claim = client.agents.claim(self._agent_id, min(free, 100), self.wait_seconds)
            try:
                ok, tasks = await self._unless_stopping(claim)
            except TRANSIENT as exc:
                delay = backoff.next()
                if isinstance(exc, RateLimited) and exc.retry_after is not None:
                    delay = exc.retry_after
                log.warning("claim failed (%s); retrying in %.1fs", exc.message, delay)
                await self._unless_stopping(asyncio.sleep(delay))
                continue
            if not ok or tasks is None:
                break
            backoff.reset()
            for task in tasks:
                self._launch(task)
            if not tasks and self.wait_seconds <= 0:
                await self._unless_stopping(asyncio.sleep(0.5))

    async def _heartbeat_loop(self, client: AsyncClient) -> None:
        assert self._agent_id is not None
        while True:
            await asyncio.sleep(self.heartbeat_interval)
            try:
                answer = await client.agents.heartbeat(self._agent_id, self.in_flight)
            except AinsError as exc:
                log.warning("heartbeat failed: %s", exc.message)
                continue
            for task_id in answer.get("cancel_task_ids") or []:
                self.cancel_task(str(task_id))

    def _on_stream_event(self, message: JSONObject) -> None:
        """A `task.cancelled` / `task.timed_out` event from the stream: stop that handler if it
        runs here (a time-out only for the attempt it ended)."""
        data = message.get("data")
        details: JSONObject = data if isinstance(data, dict) else {}
        task_id = message.get("task_id") or details.get("task_id")
        execution = self._running.get(str(task_id)) if task_id else None
        if execution is None:
            return
        kind = message.get("type") or message.get("event")
        attempt_id = details.get("attempt_id")
        if kind == "task.timed_out" and attempt_id != execution.ctx.attempt_id:
            return
        if kind in ("task.cancelled", "task.timed_out"):
            self.cancel_task(execution.task_id, via=f"stream: {kind}")

    def cancel_task(self, task_id: str, *, via: str = "heartbeat") -> bool:
        """Cancel a task in flight (as the server asked): its handler stops, nothing is reported."""
        execution = self._running.get(task_id)
        if execution is None or not execution.cancel("server"):
            return False
        log.info("task %s cancelled by the server (%s)", task_id, via)
        self.stats.cancelled += 1
        return True

    # -- one task -----------------------------------------------------------------------------

    def _launch(self, task: JSONObject) -> None:
        assert self._loop is not None
        ctx = TaskContext(task, self._send_progress, self._loop)
        handler = self._handlers.get(ctx.capability) or self._handlers.get(ctx.task_type)
        if handler is None:
            handler = _no_handler
        left = lease_seconds_left(ctx.lease_expires_at)
        renew = (
            self.lease_renew_interval if left is None else min(self.lease_renew_interval, left / 3)
        )
        execution = Execution(ctx=ctx, handler=handler, renew_every=max(0.05, renew))
        self._running[ctx.task_id] = execution
        self.stats.claimed += 1
        execution.handler_task = asyncio.create_task(call_handler(handler, ctx))
        execution.companion = asyncio.create_task(self._companion(execution))
        execution.handler_task.add_done_callback(lambda _: self._finish(execution))

    def _finish(self, execution: Execution) -> None:
        """Called when the handler is over: report it and free the slot."""
        execution.finished = True
        assert execution.handler_task is not None and self._reporter is not None
        report = self._report_for(execution)
        companion = execution.companion
        if companion is not None and execution.sending:
            # the start/heartbeat request in flight goes first, then the report
            def after(_: object) -> None:
                self._enqueue(execution, report)

            companion.add_done_callback(after)
        else:
            if companion is not None:
                companion.cancel()
            self._enqueue(execution, report)

    def _report_for(self, execution: Execution) -> Report | None:
        task = execution.handler_task
        assert task is not None
        ctx = execution.ctx
        if execution.cancel_reason == "server":
            return None  # the task is already CANCELLED server-side; a report would be refused
        if task.cancelled():
            err = ConnectionAbortedError("agent shut down before the task finished")
            return failure_report(ctx, err)
        exc = task.exception()
        if exc is not None:
            log.info("task %s failed: %s: %s", ctx.task_id, type(exc).__name__, exc)
            return failure_report(ctx, exc)
        return success_report(ctx, task.result())

    def _enqueue(self, execution: Execution, report: Report | None) -> None:
        assert self._reporter is not None and self._slot_freed is not None
        if report is not None:
            if report["outcome"] == "complete":
                self.stats.completed += 1
            else:
                self.stats.failed += 1
            self._reporter.add(report)
        self._running.pop(execution.task_id, None)
        self._slot_freed.set()

    async def _companion(self, execution: Execution) -> None:
        """Mark the task RUNNING if it outlasts `start_after`, then keep its lease alive."""
        assert self._client is not None
        ctx = execution.ctx
        await asyncio.sleep(self.start_after)
        execution.sending = True
        try:
            await self._client.agents.start(ctx.task_id, ctx.attempt_id)
        except AinsError as exc:
            log.debug("start %s refused: %s", ctx.task_id, exc.message)
        finally:
            execution.sending = False
        while not execution.finished:
            await asyncio.sleep(execution.renew_every)
            execution.sending = True
            try:
                await self._send_progress(ctx, None)
            finally:
                execution.sending = False

    async def _send_progress(self, ctx: TaskContext, data: Any) -> None:
        """Task heartbeat: renews the lease, reports progress, learns of cancellation."""
        assert self._client is not None
        try:
            answer = await self._client.agents.task_heartbeat(ctx.task_id, ctx.attempt_id, data)
        except Conflict:
            log.info("task %s no longer ours (409); cancelling its handler", ctx.task_id)
            self.cancel_task(ctx.task_id, via="task heartbeat: 409")
            return
        except AinsError as exc:
            log.warning("task heartbeat for %s failed: %s", ctx.task_id, exc.message)
            return
        if answer.get("lease_expires_at"):
            ctx.lease_expires_at = str(answer["lease_expires_at"])
        if answer.get("cancel_requested"):
            self.cancel_task(ctx.task_id, via="task heartbeat")

    async def _drain(self) -> None:
        """Wait for every task in flight to finish and be queued for reporting."""
        while self._running:
            pending = [e.handler_task for e in self._running.values() if e.handler_task]
            companions = [e.companion for e in self._running.values() if e.companion]
            await asyncio.gather(*pending, *companions, return_exceptions=True)
            await asyncio.sleep(0)

    def _on_rejected(self, report: Report, reason: str) -> None:
        self.stats.reports_rejected += 1


async def _no_handler(ctx: TaskContext) -> Any:
    raise PermanentError(f"no handler for capability {ctx.capability!r}")
