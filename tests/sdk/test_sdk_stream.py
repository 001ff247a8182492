"""The agent's cancellation stream (SSE) against an in-memory fake server (httpx.MockTransport)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
from sdk_fakes import FakeServer, eventually, make_task
from test_sdk_agent import make_agent, running

from ains_agent import TaskContext
from ains_agent._stream import SSEMessage, SSEParser

# -- the parser -------------------------------------------------------------------------------


def parse(text: str) -> tuple[list[SSEMessage], SSEParser]:
    parser = SSEParser()
    out = [m for line in text.splitlines() if (m := parser.feed(line)) is not None]
    return out, parser


def test_parser_reads_id_event_and_data_fields() -> None:
    messages, parser = parse('retry: 1000\n\nid: 7\nevent: task.cancelled\ndata: {"a": 1}\n\n')
    assert messages == [SSEMessage(event="task.cancelled", data='{"a": 1}', id="7")]
    assert parser.retry_ms == 1000
    assert parser.last_event_id == "7"


def test_parser_joins_data_lines_ignores_comments_and_keeps_the_last_id() -> None:
    text = ": keep-alive\ndata:first\ndata: second\n\nevent: x\ndata\n\nid: 9\nbogus: 1\n\n"
    messages, parser = parse(text)
    assert messages == [
        SSEMessage(event="message", data="first\nsecond", id=None),
        SSEMessage(event="x", data="", id=None),
    ]
    assert parser.last_event_id == "9"  # an id alone is kept for the next event and the resume


def test_parser_drops_an_event_cut_off_before_its_blank_line() -> None:
    parser = SSEParser()
    assert parser.feed("event: task.cancelled") is None
    assert parser.feed('data: {"task_id": "t"}') is None
    # the connection drops here: nothing was dispatched


# -- the agent --------------------------------------------------------------------------------


def sse_event(event_id: int, kind: str, task_id: str, attempt_id: str) -> bytes:
    message = {
        "type": kind,
        "event": kind,
        "event_id": event_id,
        "task_id": task_id,
        "status": "CANCELLED",
        "data": {"task_id": task_id, "attempt_id": attempt_id, "agent_id": "agt_1"},
    }
    return f"id: {event_id}\nevent: {kind}\ndata: {json.dumps(message)}\n\n".encode()


class StreamingFake(FakeServer):
    """FakeServer plus `GET /aitp/events`: each connection streams what is put in `feed`."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.streams: list[httpx.Request] = []
        self.feed: asyncio.Queue[bytes | None] = asyncio.Queue()
        self.status = 200

    async def handle(self, request: httpx.Request) -> httpx.Response:
        if request.url.path != "/aitp/events":
            return await super().handle(request)
        self.requests.append(request)
        injected = self._injected(request.url.path)
        if injected is not None:
            return injected
        self.streams.append(request)
        if self.status != 200:
            return httpx.Response(self.status, json={"title": "nope", "status": self.status})

        async def body() -> AsyncIterator[bytes]:
            yield b'retry: 1000\n\nevent: queue.stats\ndata: {"type": "queue.stats"}\n\n'
            while (chunk := await self.feed.get()) is not None:
                yield chunk

        return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body())


def sleeper(agent: Any, seen: dict[str, TaskContext]) -> None:
    @agent.handler("echo:v1")
    async def long(task: TaskContext) -> Any:
        seen[task.task_id] = task
        await asyncio.sleep(30)
        return "late"


async def test_a_cancellation_on_the_stream_stops_the_handler_at_once() -> None:
    server = StreamingFake(queue=[make_task(1), make_task(2)])
    agent = make_agent(server, max_concurrency=2, heartbeat_interval=30)
    seen: dict[str, TaskContext] = {}
    sleeper(agent, seen)

    async with running(agent) as run:
        await eventually(lambda: len(seen) == 2 and len(server.streams) == 1)
        server.feed.put_nowait(sse_event(41, "task.cancelled", "task_1", "att_1"))
        await eventually(lambda: seen["task_1"].is_cancelled, within=1.0)
        assert not seen["task_2"].is_cancelled
        assert agent.in_flight == ["task_2"]
        server.feed.put_nowait(sse_event(42, "task.cancelled", "task_2", "att_2"))
        await eventually(lambda: agent.in_flight == [], within=1.0)

    stream = server.streams[0]
    assert stream.headers["authorization"] == "Bearer agent-key"
    assert stream.headers["accept"] == "text/event-stream"
    assert stream.url.params["types"] == "task.cancelled,task.timed_out"
    assert "last-event-id" not in stream.headers
    assert server.reports == []  # a cancelled task is never reported
    assert run.result().cancelled == 2
    assert not any(r.url.path.endswith("/ains/agents/agt_1/heartbeat") for r in server.requests)


async def test_a_time_out_cancels_only_the_attempt_it_ended() -> None:
    server = StreamingFake(queue=[make_task(1)])
    agent = make_agent(server, heartbeat_interval=30)
    seen: dict[str, TaskContext] = {}
    sleeper(agent, seen)

    async with running(agent):
        await eventually(lambda: "task_1" in seen and len(server.streams) == 1)
        server.feed.put_nowait(sse_event(5, "task.timed_out", "task_1", "att_old"))
        server.feed.put_nowait(sse_event(6, "task.cancelled", "task_other", "att_x"))
        await asyncio.sleep(0.2)
        assert not seen["task_1"].is_cancelled
        server.feed.put_nowait(sse_event(7, "task.timed_out", "task_1", "att_1"))
        await eventually(lambda: seen["task_1"].is_cancelled, within=1.0)
    assert server.reports == []


async def test_the_stream_reconnects_and_resumes_after_the_last_event_id() -> None:
    server = StreamingFake(queue=[make_task(1)])
    agent = make_agent(server, heartbeat_interval=30)
    seen: dict[str, TaskContext] = {}
    sleeper(agent, seen)

    async with running(agent):
        await eventually(lambda: "task_1" in seen and len(server.streams) == 1)
        server.feed.put_nowait(sse_event(12, "task.cancelled", "task_other", "att_x"))
        server.feed.put_nowait(None)  # the server drops the connection
        await eventually(lambda: len(server.streams) == 2, within=3.0)
        assert server.streams[1].headers["last-event-id"] == "12"
        server.feed.put_nowait(sse_event(13, "task.cancelled", "task_1", "att_1"))
        await eventually(lambda: seen["task_1"].is_cancelled, within=1.0)


async def test_the_stream_retries_errors_and_gives_up_on_a_server_without_one() -> None:
    server = StreamingFake(queue=[make_task(1)])
    server.failures["/aitp/events"] = [httpx.ConnectError("refused"), 503]
    agent = make_agent(server, heartbeat_interval=30)
    seen: dict[str, TaskContext] = {}
    sleeper(agent, seen)
    async with running(agent):
        await eventually(lambda: len(server.streams) == 1 and "task_1" in seen, within=5.0)
        server.feed.put_nowait(sse_event(3, "task.cancelled", "task_1", "att_1"))
        await eventually(lambda: seen["task_1"].is_cancelled, within=1.0)

    missing = FakeServer(queue=[make_task(1)])  # answers 404 to /aitp/events
    agent = make_agent(missing)
    agent.add_handler("echo:v1", lambda task: 1)
    async with running(agent):
        await eventually(lambda: len(missing.reports) == 1)
        await asyncio.sleep(0.3)
    assert sum(r.url.path == "/aitp/events" for r in missing.requests) == 1


async def test_the_stream_can_be_turned_off() -> None:
    server = StreamingFake(queue=[make_task(1)])
    agent = make_agent(server, stream_cancellations=False)
    agent.add_handler("echo:v1", lambda task: 1)
    async with running(agent):
        await eventually(lambda: len(server.reports) == 1)
    assert server.streams == []
