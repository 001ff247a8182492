"""HTTP and WebSocket: /graphql (POST and GET operations, graphql-transport-ws subscriptions,
GraphiQL for a browser's GET) and /graphql/static/* (GraphiQL's assets, served from the package:
the page needs no CDN and runs no inline script).

A caller authenticates as for REST. An HTTP operation is counted against the caller's rate limit
of its kind: a mutation as a `submit`, a query as a `read`; a WebSocket authenticates once, on
`connection_init` (`{"Authorization": "Bearer …"}`), or with the upgrade request's
`Authorization` header or `?token=`."""

from __future__ import annotations

from pathlib import Path
from typing import cast

from fastapi import APIRouter, HTTPException
from starlette.requests import HTTPConnection, Request
from starlette.responses import FileResponse, HTMLResponse, Response
from strawberry.exceptions import ConnectionRejectionError
from strawberry.fastapi import GraphQLRouter
from strawberry.types.unset import UNSET, UnsetType

from ains.exceptions import AinsError
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


class GraphQLEndpoint(GraphQLRouter[Context, None]):
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
