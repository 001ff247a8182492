"""HTTP: the real-time streams, Server-Sent Events at /aitp/events and WebSocket /ws/tasks
(also at /ws/ai-tasks, seed 004's path).

Both authenticate like every other call (``Authorization: Bearer …``; ``?token=`` for clients
that cannot set headers, such as browsers' EventSource and WebSocket), show only what the caller
may see, and accept the same filters: ``task_id`` (repeatable or comma-separated), ``batch_id``,
``task_type``, ``status``, ``types``. Each message is one event's JSON; ``after`` (or SSE's
``Last-Event-ID``) resumes after an event id.

A principal may hold ``AINS_MAX_STREAMS_PER_PRINCIPAL`` streams at once per process (the next
SSE is a 429, the next WebSocket is closed with 4429); a stream ends within a second of its API
key's revocation (the WebSocket with close code 1008).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from ains import json_output
from ains.events.registry import Subscriber
from ains.events.stream import StreamFilter
from ains.exceptions import AinsError, TooManyRequests, Unprocessable
from ains.http import ValidatedRoute
from ains.pagination import MAX_ROW_ID
from ains.security.principals import Principal
from ains.services import Services

# one SSE `data:` line (and one WebSocket message): an event, or a `queue.stats` message
EVENT_PAYLOAD_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type", "event", "data"],
    "properties": {
        "type": {"type": "string", "description": "event type, e.g. task.completed"},
        "event": {"type": "string"},
        "data": {"type": "object"},
        "timestamp": {"type": "string", "format": "date-time"},
        "event_id": {"type": ["integer", "null"]},
        "task_id": {"type": ["string", "null"]},
        "status": {"type": ["string", "null"]},
    },
}
# One Server-Sent Event as it is framed (OpenAPI before 3.2: `schema` describes each event):
# `event` names the type, `id` is the cursor to resume from, `data` carries the JSON event.
EVENT_MESSAGE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["data"],
    "properties": {
        "event": {"type": "string", "description": "event type, e.g. task.completed"},
        "id": {"type": "string", "description": "event id: resume with `after` or Last-Event-ID"},
        "retry": {"type": "integer"},
        "data": {
            "type": "string",
            "contentMediaType": "application/json",
            "contentSchema": EVENT_PAYLOAD_SCHEMA,
        },
    },
}
router = APIRouter(route_class=ValidatedRoute, tags=["events"])
# the server is draining (RFC 6455 "service restart"): reconnect, resuming with `after`
CLOSE_RESTARTING = 1012
# a WebSocket refused for the principal's stream cap (4000-4999: application codes; 429's echo)
CLOSE_TOO_MANY = 4429


def _split(values: list[str] | None) -> frozenset[str]:
    return frozenset(v.strip() for raw in values or () for v in raw.split(",") if v.strip())


def _filters(
    task_id: list[str] | None,
    batch_id: str | None,
    task_type: str | None,
    status: list[str] | None,
    types: list[str] | None,
) -> StreamFilter:
    return StreamFilter(
        task_ids=_split(task_id),
        batch_id=batch_id,
        task_type=task_type,
        status=frozenset(s.upper() for s in _split(status)),
        types=_split(types),
    )


def _cursor(value: str | None) -> int | None:
    if value is None or value == "":
        return None
    # ASCII digits only (str.isdigit also takes "²"), and short enough for int() and the database
    if not (value.isascii() and value.isdigit() and len(value) <= 19) or int(value) > MAX_ROW_ID:
        raise Unprocessable.field("after", "must be an event id (an integer)")
    return int(value)


async def _principal(
    services: Services, authorization: str | None, token: str | None, peer: str | None
) -> Principal:
    if not authorization and token:
        authorization = f"Bearer {token}"
    return await services.auth.principal(authorization, peer)


@router.get(
    "/aitp/events",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "Server-Sent Events: each `data:` line is one event as JSON",
            "content": {"text/event-stream": {"schema": EVENT_MESSAGE_SCHEMA}},
        }
    },
)
async def event_stream(
    request: Request,
    task_id: Annotated[list[str] | None, Query()] = None,
    batch_id: str | None = None,
    task_type: str | None = None,
    status: Annotated[list[str] | None, Query()] = None,
    types: Annotated[list[str] | None, Query()] = None,
    after: str | None = None,
    token: str | None = None,
    last_event_id: Annotated[str | None, Header()] = None,
    authorization: Annotated[str | None, Header()] = None,
) -> StreamingResponse:
    services: Services = request.app.state.services
    peer = request.client.host if request.client else None
    principal = await _principal(services, authorization, token, peer)
    request.state.principal = principal
    filters = _filters(task_id, batch_id, task_type, status, types)
    cursor = _cursor(after if after is not None else last_event_id)
    return sse_response(services, principal, filters, cursor)


def sse_response(
    services: Services,
    principal: Principal,
    filters: StreamFilter,
    cursor: int | None,
    *,
    named: bool = True,
) -> StreamingResponse:
    """The principal's event stream as Server-Sent Events (also the console's live feed, which
    sends unnamed messages: a browser's EventSource hands those to one `message` listener)."""
    sub = services.streams.open(principal)
    messages = services.streams.messages(sub, filters, cursor)

    async def body() -> AsyncIterator[bytes]:
        yield b"retry: 1000\n\n"
        try:
            async for message in messages:
                head = f"id: {message['event_id']}\n" if message.get("event_id") else ""
                if named:
                    head += f"event: {message['type']}\n"
                yield head.encode() + b"data: " + json_output.dumps(message, str) + b"\n\n"
        finally:
            with contextlib.suppress(Exception):
                await messages.aclose()  # type: ignore[attr-defined]

    return _OpenStream(
        body(),
        on_end=lambda: services.streams.close(sub),
        media_type="text/event-stream",
        headers={"cache-control": "no-cache", "x-accel-buffering": "no"},
    )


class _OpenStream(StreamingResponse):
    """Releases the stream's place when the response ends, however it ends (the body
    generator's own ``finally`` does not run if it never started)."""

    def __init__(self, content: AsyncIterator[bytes], on_end: Callable[[], None], **kw: Any):
        super().__init__(content, **kw)
        self._on_end = on_end

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._on_end()


@router.websocket("/ws/tasks")
@router.websocket("/ws/ai-tasks")  # seed 004's path, the same stream
async def task_socket(
    websocket: WebSocket,
    task_id: Annotated[list[str] | None, Query()] = None,
    batch_id: str | None = None,
    task_type: str | None = None,
    status: Annotated[list[str] | None, Query()] = None,
    types: Annotated[list[str] | None, Query()] = None,
    after: str | None = None,
    token: str | None = None,
) -> None:
    services: Services = websocket.app.state.services
    try:
        peer = websocket.client.host if websocket.client else None
        principal = await _principal(services, websocket.headers.get("authorization"), token, peer)
        cursor = _cursor(after)
    except AinsError as exc:
        await websocket.close(code=1008, reason=exc.detail[:120])
        return
    await websocket.accept()
    try:
        sub = services.streams.open(principal)
    except TooManyRequests as exc:
        await websocket.close(code=CLOSE_TOO_MANY, reason=exc.detail[:120])
        return
    filters = _filters(task_id, batch_id, task_type, status, types)
    messages = services.streams.messages(sub, filters, cursor)
    watcher = asyncio.get_running_loop().create_task(_end_on_disconnect(websocket, sub))
    try:
        async for message in messages:
            await websocket.send_text(json_output.dumps(message, str).decode())
        if sub.revoked:
            await websocket.close(code=1008, reason="API key revoked")
        elif services.drain.draining:
            await websocket.close(code=CLOSE_RESTARTING, reason="server restarting; reconnect")
    except (WebSocketDisconnect, RuntimeError):
        return
    finally:
        watcher.cancel()
        await messages.aclose()  # type: ignore[attr-defined]
        services.streams.close(sub)


async def _end_on_disconnect(websocket: WebSocket, sub: Subscriber) -> None:
    """End the stream as soon as the client goes away (not at the next send), so that its
    place under the per-principal cap is free again at once."""
    with contextlib.suppress(Exception):
        while (await websocket.receive())["type"] != "websocket.disconnect":
            pass
    sub.offer(None)
