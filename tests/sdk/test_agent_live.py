"""The agent SDK's handler context against a real server, on SQLite and PostgreSQL: progress
reaches the task, `heartbeat()` renews the lease, a cancellation stops the handler, and the
result (with cost) is reported."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from ains_agent import Agent, TaskContext, TaskResult
from ains_client import AsyncClient
from tests.support.server import ServerProcess

DEADLINE = 60.0


@asynccontextmanager
async def running(agent: Agent) -> AsyncIterator[None]:
    job = asyncio.create_task(agent.run_async(install_signal_handlers=False))
    try:
        yield
    finally:
        agent.stop()
        await asyncio.wait_for(job, DEADLINE)


async def test_progress_heartbeat_and_result(server: ServerProcess, uid: str) -> None:
    agent = Agent(f"ctx-{uid}", server.url, wait_seconds=1)
    reached = asyncio.Event()
    go_on = asyncio.Event()
    seen: dict[str, Any] = {}

    @agent.handler(f"cap-{uid}")
    async def handler(task: TaskContext) -> TaskResult:
        seen["lease"] = task.lease_expires_at
        await task.progress({"step": 1, "of": 2})
        await asyncio.sleep(1.1)  # lease times are ISO strings: let the second tick over
        await task.heartbeat()
        reached.set()
        await go_on.wait()
        return TaskResult({"echo": task.input_data}, cost=0.5)

    async with AsyncClient(server.url) as client, running(agent):
        task = await client.tasks.submit(uid, "t", f"cap-{uid}", {"n": 1})
        await asyncio.wait_for(reached.wait(), DEADLINE)
        current = await client.tasks.get(task["task_id"])
        assert current["status"] == "RUNNING"
        assert current["progress"] == {"step": 1, "of": 2}
        assert current["lease_expires_at"] > seen["lease"]  # renewed by heartbeat()
        go_on.set()
        done = await client.tasks.wait(task["task_id"], timeout=DEADLINE, poll_interval=0.1)
    assert (done["status"], done["result_data"], done["cost"]) == (
        "COMPLETED",
        {"echo": {"n": 1}},
        0.5,
    )
    assert agent.stats.completed == 1


@pytest.mark.parametrize("via", ["heartbeat", "event stream"])
async def test_a_cancellation_stops_the_handler(server: ServerProcess, uid: str, via: str) -> None:
    # with heartbeats 30 s apart (and the lease renewed later still), only the event stream
    # can tell the agent within the 10 s this test waits
    quiet = via == "event stream"
    agent = Agent(
        f"cancel-{uid}", server.url, wait_seconds=1, heartbeat_interval=30 if quiet else 0.5,
        lease_renew_interval=30, stream_cancellations=quiet,
    )  # fmt: skip
    started = asyncio.Event()
    stopped = asyncio.Event()

    @agent.handler(f"cap-{uid}")
    async def handler(task: TaskContext) -> None:
        started.set()
        try:
            await asyncio.sleep(DEADLINE * 2)
        finally:
            if task.is_cancelled:
                stopped.set()

    async with AsyncClient(server.url) as client, running(agent):
        task = await client.tasks.submit(uid, "t", f"cap-{uid}")
        await asyncio.wait_for(started.wait(), DEADLINE)
        await client.tasks.cancel(task["task_id"], "no longer needed")
        await asyncio.wait_for(stopped.wait(), 10 if quiet else DEADLINE)
        assert (await client.tasks.get(task["task_id"]))["status"] == "CANCELLED"
    assert agent.stats.cancelled == 1 and agent.stats.completed == 0
