"""Pure ASGI middleware timing HTTP requests by matched route template."""

from __future__ import annotations

import time
from typing import Final

from prometheus_client.metrics import Counter, Histogram
from starlette.routing import Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ains.metrics.registry import http_request_duration_seconds, http_requests_total

UNMATCHED: Final = "<unmatched>"
# Anything else a client sends as a method is folded into OTHER, so it cannot grow the label set.
_METHODS: Final = frozenset(
    {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE"}
)


def route_template(scope: Scope, entry_root_path: str = "") -> str:
    """The template of the route that handled `scope` (``/aitp/tasks/{task_id}``).

    Read after the app ran, since Starlette's router stores the matched route in
    ``scope["route"]``. FastAPI routers included into routers keep only their own part of the
    path on the route; FastAPI then records the full one in its effective route context, which
    wins when present. Routes under a Starlette `Mount` get the mount's path in front; a mount
    that answers itself (static files) is labelled ``<mount>/{path}``. Anything unrouted (404s,
    slash redirects) is ``<unmatched>``, so raw paths never become label values. (A mount whose
    own path had parameters would put their values in the prefix; AINS mounts have none.)
    """
    context = scope.get("fastapi", {}).get("effective_route_context")
    path_format = getattr(context, "path_format", None)
    route = scope.get("route")
    if not isinstance(path_format, str) or not path_format:
        path_format = getattr(route, "path_format", None)
    if not isinstance(path_format, str):
        return UNMATCHED
    if isinstance(route, Mount):
        return path_format
    mount_prefix = str(scope.get("root_path", "")).removeprefix(entry_root_path).rstrip("/")
    return mount_prefix + path_format or "/"


class MetricsMiddleware:
    """Record ``ains_http_requests_total`` and ``ains_http_request_duration_seconds``.

    Install it outermost among the app's middleware (``app.add_middleware(MetricsMiddleware)``
    last) so that it times everything. WebSocket and lifespan scopes pass straight through. An
    exception escaping the app is recorded as status 500 and re-raised.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._children: dict[tuple[str, str, str], tuple[Counter, Histogram]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        entry_root_path = str(scope.get("root_path", ""))
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        except BaseException:
            status = 500
            raise
        finally:
            self._record(scope, entry_root_path, status, time.perf_counter() - started)

    def _record(self, scope: Scope, entry_root_path: str, status: int, elapsed: float) -> None:
        method = str(scope.get("method", "GET")).upper()
        if method not in _METHODS:
            method = "OTHER"
        key = (method, route_template(scope, entry_root_path), str(status))
        children = self._children.get(key)
        if children is None:
            children = self._children[key] = _children_for(*key)
        counter, histogram = children
        counter.inc()
        histogram.observe(elapsed)


def _children_for(method: str, route: str, status: str) -> tuple[Counter, Histogram]:
    return (
        http_requests_total.labels(method=method, route=route, status=status),
        http_request_duration_seconds.labels(method=method, route=route),
    )
