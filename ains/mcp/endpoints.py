"""/mcp: the MCP server over streamable HTTP, inside the AINS server. The caller is
authenticated as on every REST route (an API key or a JWT as Bearer; refused with 401
problem+json), its body refused as REST refuses hostile JSON, and the SDK's transport then
serves the request. Stateless: any replica answers any request, no session to keep."""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import TYPE_CHECKING

from fastapi import APIRouter, Request, Response
from starlette.types import Message, Receive, Scope, Send

from ains import json_input, json_output
from ains.exceptions import FieldError, Unprocessable
from ains.http import ValidatedRoute, peer_of
from ains.mcp.problems import problem_text
from ains.services import Services

if TYPE_CHECKING:
    from mcp.server.streamable_http_manager import StreamableHTTPSessionManager

PATH = "/mcp"
ARGUMENTS = "params.arguments."
router = APIRouter(route_class=ValidatedRoute, tags=["mcp"], include_in_schema=False)


class McpHost:
    """The SDK's session manager, started at the first /mcp request (importing the SDK would
    add about two seconds of CPU to every server start) in a task of its own, which holds its
    task group until the application stops."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self._manager: StreamableHTTPSessionManager | None = None
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self._started = asyncio.Event()
        self._stopping = asyncio.Event()

    async def manager(self) -> StreamableHTTPSessionManager:
        if self._manager is not None:
            return self._manager
        async with self._lock:
            if self._manager is None:
                from ains.mcp.server import session_manager

                manager = session_manager(self.services)
                self._task = asyncio.create_task(self._run(manager), name="mcp-sessions")
                started = asyncio.create_task(self._started.wait())
                await asyncio.wait({self._task, started}, return_when=asyncio.FIRST_COMPLETED)
                if self._task.done():
                    started.cancel()
                    self._task.result()  # raises why it could not start
                self._manager = manager
        return self._manager

    async def _run(self, manager: StreamableHTTPSessionManager) -> None:
        async with manager.run():
            self._started.set()
            await self._stopping.wait()

    async def stop(self) -> None:
        self._stopping.set()
        if self._task is not None:
            with contextlib.suppress(Exception):
                await self._task


class _Transport(Response):
    """Hands the request to the SDK's transport, which answers it itself; the body read here
    (to check it) is replayed to it."""

    def __init__(self, manager: StreamableHTTPSessionManager, body: bytes) -> None:
        super().__init__()
        self.manager = manager
        self.body_bytes = body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()  # a disconnect, while the answer is pending
            replayed = True
            return {"type": "http.request", "body": self.body_bytes, "more_body": False}

        await self.manager.handle_request(scope, replay, send)


@router.post(PATH)
async def mcp_endpoint(request: Request) -> Response:
    services: Services = request.app.state.services
    principal = await services.auth.principal(
        request.headers.get("authorization"), peer_of(request)
    )
    request.state.principal = principal  # read by the tools (`McpServer._caller`)
    body = await request.body()
    if body:
        try:
            # refused as on every REST route: NUL, lone surrogates, non-finite numbers, depth
            json_input.decode(body, services.settings.max_json_depth)
        except Unprocessable as exc:
            refused = refused_tool_call(body, exc)
            if refused is None:
                raise
            return refused
    host: McpHost = request.app.state.mcp
    return _Transport(await host.manager(), body)


def refused_tool_call(body: bytes, exc: Unprocessable) -> Response | None:
    """A tool call whose arguments storage would refuse is answered as a tool error naming
    the argument, as a model can read and correct it; any other such request gets REST's 422."""
    try:
        message = json.loads(body)
    except (ValueError, RecursionError):
        return None
    if not isinstance(message, dict) or message.get("method") != "tools/call":
        return None
    request_id = message.get("id")
    if isinstance(request_id, bool) or not isinstance(request_id, int | str):
        return None
    errors = [FieldError(e.field.removeprefix(ARGUMENTS), e.reason) for e in exc.errors]
    detail = "; ".join(f"{e.field}: {e.reason}" for e in errors)
    try:
        text = problem_text(Unprocessable(detail, errors=errors))
        result = {"content": [{"type": "text", "text": text}], "isError": True}
        answer = json_output.dumps({"jsonrpc": "2.0", "id": request_id, "result": result})
    except TypeError:  # the id or a field name is not valid Unicode itself
        return None
    return Response(answer, media_type="application/json")
