"""HTTP and WebSocket: /graphql (POST and GET operations, graphql-transport-ws subscriptions,
GraphiQL for a browser's GET) and /graphql/static/* (GraphiQL's assets, served from the package:
the page needs no CDN and runs no inline script).

A caller authenticates as for REST. An HTTP operation is counted against the caller's rate limit
of its kind: a mutation as a `submit`, a query as a `read`; a WebSocket authenticates once, on
`connection_init` (`{"Authorization": "Bearer …"}`), or with the upgrade request's
`Authorization` header or `?token=`."""

from __future__ import annotations

import json
from http import HTTPStatus
from pathlib import Path
from typing import Any, cast

from cross_web import HTTPException as StrawberryHTTPException
from fastapi import APIRouter, HTTPException
from starlette.requests import HTTPConnection, Request
from starlette.responses import FileResponse, HTMLResponse, Response
from strawberry.exceptions import ConnectionRejectionError
from strawberry.fastapi import GraphQLRouter
from strawberry.types.unset import UNSET, UnsetType

from ains import json_input
from ains.exceptions import AinsError, Unprocessable
from ains.graphql.context import Context
from ains.graphql.request import operation_class, wants_ide
from ains.graphql.schema import build_schema
from ains.http import ValidatedRoute, peer_of
from ains.services import Services

STATIC = Path(__file__).with_name("static")
ASSETS = {
    "graphiql.min.js": "text/javascript",
    "graphiql.min.css": "text/css",
    "graphiql-page.css": "text/css",
    "graphiql-start.js": "text/javascript",
    "react.production.min.js": "text/javascript",
    "react-dom.production.min.js": "text/javascript",
}
# GraphiQL's editor styles itself inline; everything else is this origin's
IDE_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; frame-ancestors 'none'"
)


async def graphql_context(connection: HTTPConnection) -> Context:
    services: Services = connection.app.state.services
    context = Context(
        services=services,
        authorization=connection.headers.get("authorization"),
        peer=connection.client.host if connection.client else None,
    )
    if connection.scope["type"] == "websocket":
        token = connection.query_params.get("token")
        if not context.authorization and token:
            context.authorization = f"Bearer {token}"
        return context  # authenticated on connection_init
    request = cast(Request, connection)  # FastAPI hands the handler's own Request
    if wants_ide(request):
        return context  # the page itself is public; its requests authenticate
    kind = await operation_class(request, services.settings.max_json_depth)
    principal = await services.auth.principal(context.authorization, peer_of(request))
    connection.state.principal = principal
    await services.rate_limits.admit(request, principal, kind)
    context.principal_or_none = principal
    return context


class GraphQLRefusal(AinsError):
    """What strawberry refuses before running anything (no query, a mutation by GET…), as
    problem+json with strawberry's status and reason rather than its plain text."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status_code = status
        self.title = HTTPStatus(status).phrase


class GraphQLEndpoint(GraphQLRouter[Context, None]):
    max_json_depth = 64  # AINS_MAX_JSON_DEPTH, set by `graphql_router`

    def decode_json(self, data: str | bytes) -> object:
        """JSON as REST decodes it (orjson, then the storage checks), so both APIs accept the
        same values; a refusal is what strawberry expects of a body or message that is not
        JSON."""
        raw = data if isinstance(data, bytes) else data.encode("utf-8", "surrogatepass")
        try:
            return json_input.decode(raw, self.max_json_depth)
        except Unprocessable as exc:
            raise json.JSONDecodeError(exc.detail, raw.decode("utf-8", "replace"), 0) from None

    async def run(self, request: Any, context: Any = UNSET, root_value: Any = UNSET) -> Any:
        try:
            return await super().run(request, context=context, root_value=root_value)
        except StrawberryHTTPException as exc:
            raise GraphQLRefusal(exc.status_code, exc.reason) from None

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        params = context.connection_params if isinstance(context.connection_params, dict) else {}
        authorization = context.authorization
        for name in ("Authorization", "authorization"):
            if not authorization and isinstance(params.get(name), str):
                authorization = params[name]
        if not authorization and isinstance(params.get("token"), str):
            authorization = f"Bearer {params['token']}"
        try:
            context.principal_or_none = await context.services.auth.principal(
                authorization, context.peer
            )
        except AinsError as exc:
            raise ConnectionRejectionError(
                {"message": exc.detail, "status": exc.status_code}
            ) from None
        return cast(UnsetType, UNSET)

    async def render_graphql_ide(self, request: Request) -> HTMLResponse:
        page = (STATIC / "graphiql.html").read_text()
        return HTMLResponse(page, headers={"Content-Security-Policy": IDE_POLICY})


def graphql_router(services: Services) -> APIRouter:
    endpoint = GraphQLEndpoint(
        build_schema(services.settings),
        path="/graphql",
        context_getter=graphql_context,
        route_class=ValidatedRoute,
        tags=["graphql"],
        graphql_ide="graphiql",
        multipart_uploads_enabled=False,
    )
    endpoint.max_json_depth = services.settings.max_json_depth
    endpoint.add_api_route(
        "/graphql/static/{name}", static_asset, methods=["GET"], include_in_schema=False
    )
    return endpoint


async def static_asset(name: str) -> Response:
    media_type = ASSETS.get(name)
    if media_type is None:
        raise HTTPException(404, f"no asset {name}")
    return FileResponse(
        STATIC / name,
        media_type=media_type,
        headers={"Cache-Control": "public, max-age=86400", "X-Content-Type-Options": "nosniff"},
    )
