"""The agent SDK against an in-memory fake server: registration, batching, failures, cancel."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from sdk_fakes import FakeServer, eventually, make_task

from ains_agent import Agent, AgentStats, PermanentError, TaskContext, TaskResult


def make_agent(server: FakeServer, **options: Any) -> Agent:
    defaults: dict[str, Any] = {
        "base_url": "http://ains.test",
        "wait_seconds": 1.0,
        "heartbeat_interval": 0.05,
        "report_flush_interval": 0.02,
        "transport": server.transport(),
    }
    defaults.update(options)
    return Agent("tester", **defaults)


@asynccontextmanager
async def running(agent: Agent) -> AsyncIterator[asyncio.Task[AgentStats]]:
    task = asyncio.create_task(agent.run_async(install_signal_handlers=False))
    try:
        yield task
    finally:
        agent.stop()
        await asyncio.wait_for(task, 5)


async def test_registers_with_capabilities_and_then_uses_its_own_key() -> None:
    server = FakeServer(queue=[make_task(1)])
    agent = make_agent(server, max_concurrency=3, metadata={"zone": "eu"})

    @agent.handler("echo:v1")
    async def echo(task: TaskContext) -> Any:
        return task.input_data

    async with running(agent):
        await eventually(lambda: len(server.reports) == 1)

    register = server.requests[0]
    body = httpx.Response(200, content=register.content).json()
    assert register.url.path == "/ains/agents"
    assert body["name"] == "tester"
    assert body["capabilities"] == ["echo:v1"]
    assert body["max_concurrency"] == 3
    assert body["metadata"]["zone"] == "eu"
    assert "authorization" not in register.headers
    assert server.requests[1].headers["authorization"] == "Bearer agent-key"
    assert agent.agent_id == "agt_1"
    assert server.reports[0]["result_data"] == {"n": 1}


async def test_reports_finished_together_share_one_request() -> None:
    server = FakeServer(queue=[make_task(i) for i in range(5)])
    agent = make_agent(server, max_concurrency=5, report_flush_interval=0.05)
    agent.add_handler("echo:v1", lambda task: {"n": task.input_data["n"]})

    async with running(agent) as run:
        await eventually(lambda: len(server.reports) == 5)

    assert len(server.report_calls) == 1
    assert sorted(r["task_id"] for r in server.report_calls[0]) == [f"task_{i}" for i in range(5)]
    assert all(r["outcome"] == "complete" for r in server.reports)
    stats = run.result()
    assert (stats.claimed, stats.completed, stats.failed) == (5, 5, 0)


async def test_a_full_batch_is_sent_without_waiting_for_the_flush_interval() -> None:
    server = FakeServer(queue=[make_task(i) for i in range(5)])
    agent = make_agent(server, max_concurrency=5, report_batch_size=2, report_flush_interval=30)

    @agent.handler("echo:v1")
    async def echo(task: TaskContext) -> Any:
        return None

    async with running(agent):
        await eventually(lambda: len(server.reports) >= 4)
    assert [len(call) for call in server.report_calls][:2] == [2, 2]
    assert len(server.reports) == 5  # the last one is flushed on stop


async def test_exceptions_fail_the_task_and_permanent_errors_are_not_retryable() -> None:
    server = FakeServer(queue=[make_task(1), make_task(2)])
    agent = make_agent(server, max_concurrency=2)

    @agent.handler("echo:v1")
    async def flaky(task: TaskContext) -> Any:
        if task.input_data["n"] == 1:
            raise ValueError("bad input")
        raise PermanentError("never works")

    async with running(agent) as run:
        await eventually(lambda: len(server.reports) == 2)

    by_task = {r["task_id"]: r for r in server.reports}
    assert by_task["task_1"]["outcome"] == "fail"
    assert by_task["task_1"]["error"] == "bad input"
    assert by_task["task_1"]["error_type"] == "ValueError"
    assert by_task["task_1"]["retryable"] is True
    assert by_task["task_2"]["error_type"] == "PermanentError"
    assert by_task["task_2"]["retryable"] is False
    assert run.result().failed == 2


async def test_task_result_carries_cost_and_quality() -> None:
    server = FakeServer(queue=[make_task(1)])
    agent = make_agent(server)
    agent.add_handler("echo:v1", lambda task: TaskResult({"ok": 1}, cost=0.5, quality_score=0.9))

    async with running(agent):
        await eventually(lambda: len(server.reports) == 1)
    report = server.reports[0]
    assert (report["result_data"], report["cost"], report["quality_score"]) == ({"ok": 1}, 0.5, 0.9)


async def test_sync_handlers_run_in_a_worker_thread() -> None:
    server = FakeServer(queue=[make_task(1)])
    agent = make_agent(server)
    threads: list[str] = []

    @agent.handler("echo:v1")
    def blocking(task: TaskContext) -> Any:
        threads.append(threading.current_thread().name)
        return "done"

    async with running(agent):
        await eventually(lambda: len(server.reports) == 1)
    assert threads and threads[0] != threading.main_thread().name


async def test_claims_ask_only_for_free_slots() -> None:
    server = FakeServer(queue=[make_task(1)])
    agent = make_agent(server, max_concurrency=3)
    release = asyncio.Event()

    @agent.handler("echo:v1")
    async def slow(task: TaskContext) -> Any:
        await release.wait()

    async with running(agent):
        await eventually(lambda: len(server.claims) >= 2)
        assert server.claims[0]["max_tasks"] == 3
        assert server.claims[1]["max_tasks"] == 2
        assert server.claims[0]["wait_seconds"] == 1.0
        release.set()


async def test_server_cancellation_stops_the_handler_and_reports_nothing() -> None:
    server = FakeServer(queue=[make_task(1), make_task(2)])
    agent = make_agent(server, max_concurrency=2)
    seen: dict[str, TaskContext] = {}

    @agent.handler("echo:v1")
    async def long(task: TaskContext) -> Any:
        seen[task.task_id] = task
        if task.task_id == "task_1":
            await asyncio.sleep(30)
        return "ok"

    async with running(agent) as run:
        await eventually(lambda: "task_1" in seen)
        server.cancel_on_heartbeat.add("task_1")
        await eventually(lambda: seen["task_1"].is_cancelled)
        await eventually(lambda: agent.in_flight == [])

    assert [r["task_id"] for r in server.reports] == ["task_2"]
    assert run.result().cancelled == 1
    heartbeat = next(r for r in server.requests if r.url.path == "/ains/agents/agt_1/heartbeat")
    assert "in_flight" in heartbeat.content.decode()


async def test_progress_sends_a_task_heartbeat_and_learns_of_cancellation() -> None:
    server = FakeServer(queue=[make_task(1)], cancel_on_task_heartbeat={"task_1"})
    agent = make_agent(server)
    cancelled = asyncio.Event()

    @agent.handler("echo:v1")
    async def working(task: TaskContext) -> Any:
        await task.progress({"pct": 50})
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    async with running(agent):
        await asyncio.wait_for(cancelled.wait(), 5)
    assert server.task_heartbeats == [("task_1", {"pct": 50})]
    assert server.reports == []


async def test_long_tasks_are_started_and_their_lease_renewed() -> None:
    from datetime import UTC, datetime, timedelta

    lease = (datetime.now(UTC) + timedelta(seconds=0.3)).isoformat()
    server = FakeServer(queue=[make_task(1, lease_expires_at=lease)])
    agent = make_agent(server, start_after=0.01)

    @agent.handler("echo:v1")
    async def slow(task: TaskContext) -> Any:
        await asyncio.sleep(0.4)
        return 1

    async with running(agent):
        await eventually(lambda: len(server.reports) == 1)
    assert server.starts == ["task_1"]
    assert len(server.task_heartbeats) >= 2
    start_at = next(i for i, r in enumerate(server.requests) if r.url.path.endswith("/start"))
    report_at = next(i for i, r in enumerate(server.requests) if r.url.path.endswith("/reports"))
    assert start_at < report_at


async def test_quick_tasks_are_completed_without_a_start_call() -> None:
    server = FakeServer(queue=[make_task(1)])
    agent = make_agent(server, start_after=5)
    agent.add_handler("echo:v1", lambda task: 1)
    async with running(agent):
        await eventually(lambda: len(server.reports) == 1)
    assert server.starts == []


async def test_a_refused_report_is_counted_not_fatal() -> None:
    server = FakeServer(queue=[make_task(1), make_task(2)], refuse_reports={"task_1": 409})
    agent = make_agent(server, max_concurrency=2)
    agent.add_handler("echo:v1", lambda task: 1)

    async with running(agent) as run:
        await eventually(lambda: len(server.reports) == 2)
        server.queue.append(make_task(3))
        await eventually(lambda: len(server.reports) == 3)
    assert run.result().reports_rejected == 1


async def test_network_errors_are_retried_with_backoff() -> None:
    server = FakeServer(queue=[make_task(1)])
    refused = httpx.ConnectError("connection refused")
    server.failures = {"/ains/agents": [refused], "/claim": [refused, 503], "/reports": [503]}
    agent = make_agent(server)
    agent.add_handler("echo:v1", lambda task: "ok")

    async with running(agent):
        await eventually(lambda: len(server.reports) == 1, within=10)
    assert server.report_calls == [server.reports]
    assert all(not errors for errors in server.failures.values())


async def test_reports_fall_back_to_single_calls_without_the_bulk_endpoint() -> None:
    server = FakeServer(queue=[make_task(1), make_task(2)], bulk_reports=False)
    agent = make_agent(server, max_concurrency=2)

    @agent.handler("echo:v1")
    async def maybe(task: TaskContext) -> Any:
        if task.input_data["n"] == 2:
            raise RuntimeError("boom")
        return "ok"

    async with running(agent):
        await eventually(lambda: len(server.single_reports) == 2)
    verbs = sorted(verb for verb, _ in server.single_reports)
    assert verbs == ["complete", "fail"]


async def test_stop_finishes_in_flight_work_and_sends_its_report() -> None:
    server = FakeServer(queue=[make_task(1)])
    agent = make_agent(server)
    started = asyncio.Event()

    @agent.handler("echo:v1")
    async def slow(task: TaskContext) -> Any:
        started.set()
        await asyncio.sleep(0.2)
        return "finished"

    run = asyncio.create_task(agent.run_async(install_signal_handlers=False))
    await asyncio.wait_for(started.wait(), 5)
    agent.stop()
    stats = await asyncio.wait_for(run, 5)
    assert stats.completed == 1
    assert server.reports[0]["result_data"] == "finished"


async def test_a_given_registration_is_reused() -> None:
    server = FakeServer(queue=[make_task(1)], known_agents={"agt_given"})
    agent = make_agent(server, agent_id="agt_given", api_key="given-key")
    agent.add_handler("echo:v1", lambda task: 1)

    async with running(agent):
        await eventually(lambda: len(server.reports) == 1)
    assert all(r.url.path != "/ains/agents" for r in server.requests)
    assert server.requests[0].headers["authorization"] == "Bearer given-key"
    assert agent.agent_id == "agt_given"


async def test_an_unknown_given_agent_is_registered_under_its_id() -> None:
    server = FakeServer()
    agent = make_agent(server, agent_id="agt_new", api_key="k")
    agent.add_handler("echo:v1", lambda task: 1)
    async with running(agent):
        await eventually(lambda: "agt_new" in server.known_agents)
    register = next(r for r in server.requests if r.url.path == "/ains/agents")
    assert b'"agent_id":"agt_new"' in register.content.replace(b" ", b"")


async def test_a_task_without_handler_fails_permanently() -> None:
    server = FakeServer(queue=[make_task(1, capability="other:v1", task_type="other")])
    agent = make_agent(server)
    agent.add_handler("echo:v1", lambda task: 1)
    async with running(agent):
        await eventually(lambda: len(server.reports) == 1)
    assert server.reports[0]["retryable"] is False


async def test_stop_before_the_server_answers_ends_cleanly() -> None:
    server = FakeServer()
    refused = httpx.ConnectError("refused")
    server.failures = {"/ains/agents": [refused] * 100}
    agent = make_agent(server)
    agent.add_handler("echo:v1", lambda task: 1)
    run = asyncio.create_task(agent.run_async(install_signal_handlers=False))
    await eventually(lambda: len(server.requests) >= 1)
    agent.stop()
    stats = await asyncio.wait_for(run, 5)
    assert stats.claimed == 0 and agent.agent_id is None


def test_running_without_handlers_is_refused() -> None:
    with pytest.raises(ValueError, match="handler"):
        Agent("empty").run()


def test_handler_decorator_returns_the_function() -> None:
    agent = Agent("a")
    fn: Callable[[TaskContext], Any] = lambda task: 1  # noqa: E731
    assert agent.handler("x:v1")(fn) is fn
    assert agent.capabilities == ["x:v1"]


async def test_sync_handlers_can_send_progress_from_their_thread() -> None:
    server = FakeServer(queue=[make_task(1)])
    agent = make_agent(server)

    @agent.handler("echo:v1")
    def blocking(task: TaskContext) -> Any:
        task.progress_threadsafe({"step": 1})
        return "ok"

    async with running(agent):
        await eventually(lambda: len(server.reports) == 1 and len(server.task_heartbeats) == 1)
    assert server.task_heartbeats == [("task_1", {"step": 1})]


async def test_a_second_signal_cancels_work_and_fails_it_as_retryable() -> None:
    server = FakeServer(queue=[make_task(1)])
    agent = make_agent(server)
    started = asyncio.Event()

    @agent.handler("echo:v1")
    async def stuck(task: TaskContext) -> Any:
        started.set()
        await asyncio.sleep(30)

    run = asyncio.create_task(agent.run_async(install_signal_handlers=False))
    await asyncio.wait_for(started.wait(), 5)
    agent._on_signal()  # what SIGTERM does
    agent._on_signal()  # and a second one
    stats = await asyncio.wait_for(run, 5)
    assert stats.failed == 1
    report = server.reports[0]
    assert report["outcome"] == "fail" and report["retryable"] is True
    assert report["error_type"] == "ConnectionAbortedError"


async def test_reports_are_dropped_when_the_server_stays_away_at_shutdown() -> None:
    server = FakeServer(queue=[make_task(1)])
    server.failures = {"/reports": [503] * 1000}
    agent = make_agent(server)
    agent.add_handler("echo:v1", lambda task: 1)
    run = asyncio.create_task(agent.run_async(install_signal_handlers=False))
    await eventually(lambda: agent.stats.completed == 1)
    assert agent._reporter is not None
    agent._reporter.close_timeout = 0.3
    agent.stop()
    stats = await asyncio.wait_for(run, 5)
    assert stats.reports_rejected == 1
    assert server.reports == []
