"""/graphql in the app without loading strawberry at start-up: strawberry and the schema cost
about a sixth of a server's start, and most servers never answer a GraphQL operation. The
documented routes are declared here; the first request to any of them builds the strawberry
router (`ains.graphql.endpoints`) in a thread, and every request is then handed to it."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from ains.http import ValidatedRoute
from ains.openapi import PROBLEM_REF
from ains.services import Services

PATH = "/graphql"
# the answer of every GraphQL operation (https://spec.graphql.org/October2021/#sec-Response)
GRAPHQL_RESPONSE: dict[str, Any] = {
    "type": "object",
    "properties": {
        "data": {"type": ["object", "null"]},
        "errors": {"type": "array", "items": {"type": "object"}},
        "extensions": {"type": "object"},
    },
}
_JSON = {"application/json": {"schema": GRAPHQL_RESPONSE}}
_PROBLEM = {"application/problem+json": {"schema": {"$ref": PROBLEM_REF}}}


class LazyGraphQL:
    """The strawberry router as an ASGI app, built at its first request."""

    def __init__(self, services: Services) -> None:
        self._services = services
        self._router: ASGIApp | None = None
        self._lock = asyncio.Lock()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        router = self._router or await self._build()
        await router(scope, receive, send)

    async def _build(self) -> ASGIApp:
        async with self._lock:
            if self._router is None:
                # in a thread: the event loop keeps serving while strawberry loads
                self._router = await asyncio.to_thread(_strawberry_router, self._services)
        return self._router


def _strawberry_router(services: Services) -> ASGIApp:
    from ains.graphql.endpoints import graphql_router
    from ains.graphql.statements import count_statements

    if services.settings.graphql_count_statements:
        count_statements(services.db.engine.sync_engine)
    return graphql_router(services)


async def handle_http_get(request: Request) -> Response:
    raise AssertionError("answered by the strawberry router")  # pragma: no cover


async def handle_http_post(request: Request) -> Response:
    raise AssertionError("answered by the strawberry router")  # pragma: no cover


def graphql_routes(services: Services) -> list[BaseRoute]:
    """GET and POST /graphql as documented operations, the graphql-transport-ws WebSocket and
    GraphiQL's assets, all answered by the strawberry router."""
    lazy = LazyGraphQL(services)
    documented = APIRouter(route_class=ValidatedRoute, tags=["graphql"])
    ide = {"text/html": {"schema": {"type": "string", "description": "GraphiQL"}}}
    documented.add_api_route(
        PATH,
        handle_http_get,
        methods=["GET"],
        responses={
            200: {
                "description": "The GraphiQL integrated development environment.",
                "content": {**_JSON, **ide},
            },
            404: {
                "description": "Not found if GraphiQL or query via GET are not enabled.",
                "content": _PROBLEM,
            },
        },
    )
    documented.add_api_route(
        PATH,
        handle_http_post,
        methods=["POST"],
        responses={200: {"description": "Successful Response", "content": _JSON}},
    )
    for route in documented.routes:
        assert isinstance(route, APIRoute)
        route.app = lazy
    return [
        *documented.routes,
        WebSocketRoute(PATH, lazy),
        Route(f"{PATH}/static/{{name}}", lazy, methods=["GET"]),
    ]
