"""The a2a-sdk's protocol dispatchers, wired to `AinsRequestHandler`. Importing the SDK's
server package costs about as much CPU as the rest of a server's start-up, so
`ains.a2a.endpoints` loads this module at the first A2A protocol call, not at start."""

from __future__ import annotations

from a2a.server.context import ServerCallContext
from a2a.server.routes.common import DefaultServerCallContextBuilder
from a2a.server.routes.jsonrpc_dispatcher import JsonRpcDispatcher
from a2a.server.routes.rest_dispatcher import RestDispatcher
from fastapi import Request

from ains.a2a.handler import AinsRequestHandler


class CallerContextBuilder(DefaultServerCallContextBuilder):
    """Hands the handler the services and the principal the route resolved."""

    def build(self, request: Request) -> ServerCallContext:
        context = super().build(request)
        context.state["services"] = request.app.state.services
        context.state["principal"] = request.state.principal
        context.state["base_url"] = str(request.base_url)
        return context


_handler = AinsRequestHandler()
_context = CallerContextBuilder()
jsonrpc = JsonRpcDispatcher(_handler, _context, enable_v0_3_compat=True)
rest = RestDispatcher(_handler, _context)
