"""X-Request-ID: every answer carries one, the caller's when it sent a sane one, a new one
otherwise; audit rows written while serving the request record it."""

from __future__ import annotations

import re
import uuid
from contextvars import ContextVar
from typing import Final

from starlette.types import ASGIApp, Message, Receive, Scope, Send

HEADER: Final = b"x-request-id"
# a caller's id is kept when it is short and plain; anything else is replaced, never echoed
_ACCEPTED: Final = re.compile(rb"[A-Za-z0-9._:@/+=-]{1,128}")
_current: ContextVar[str | None] = ContextVar("ains_request_id", default=None)


def current_request_id() -> str | None:
    return _current.get()


def _chosen(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == HEADER and _ACCEPTED.fullmatch(value):
            return bytes(value).decode()
    return uuid.uuid4().hex


class RequestIdMiddleware:
    """Pure ASGI: sets the request's id for the handler's context and adds it to the answer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        request_id = _chosen(scope)
        token = _current.set(request_id)
        header = (HEADER, request_id.encode())

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            _current.reset(token)
