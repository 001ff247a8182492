"""The MCP server of the network: the tools and resources over the services, as the principal
the /mcp route authenticated (`ains.mcp.endpoints`). A refusal is a tool error (`isError`)
carrying the problem's detail, which names the field; never a traceback."""

from __future__ import annotations

import logging
from typing import Any

import mcp.types as types
import orjson
from mcp.server import Server
from mcp.server.context import ServerRequestContext
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.shared.exceptions import MCPError
from pydantic import ValidationError
from starlette.requests import Request

from ains import __version__, json_output
from ains.exceptions import AinsError, FieldError, NotFound, Unauthorized, Unprocessable
from ains.http import peer_of
from ains.mcp import resources
from ains.mcp.problems import problem_text
from ains.mcp.tools import TOOLS, ToolSpec
from ains.security.principals import Principal
from ains.services import Services

log = logging.getLogger("ains.mcp")
RESOURCE_NOT_FOUND = -32002  # the MCP specification's code for an unknown resource
Context = ServerRequestContext[Any, Any]


def _jsonable(value: Any) -> Any:
    """The answer as REST writes it (times in UTC with `Z`), back as plain JSON values."""
    return orjson.loads(json_output.dumps(value, str))


def _tool(spec: ToolSpec) -> types.Tool:
    return types.Tool(
        name=spec.name,
        description=spec.description,
        input_schema=spec.input_schema(),
        annotations=types.ToolAnnotations(
            read_only_hint=spec.read_only,
            destructive_hint=spec.name == "cancel_task",
            idempotent_hint=spec.read_only,
            open_world_hint=False,
        ),
    )


def _field_name(loc: tuple[Any, ...]) -> str:
    name = ""
    for part in loc:
        name += f"[{part}]" if isinstance(part, int) else (f".{part}" if name else str(part))
    return name or "arguments"


def invalid(exc: ValidationError) -> Unprocessable:
    """Pydantic's refusal as REST words it: `field: reason`, each field named."""
    errors = []
    for err in exc.errors():
        reason = "unknown field" if err["type"] == "extra_forbidden" else str(err["msg"])
        errors.append(FieldError(_field_name(tuple(err["loc"])), reason))
    return Unprocessable("; ".join(f"{e.field}: {e.reason}" for e in errors[:5]), errors=errors)


def _refusal(exc: AinsError) -> types.CallToolResult:
    return types.CallToolResult(
        content=[types.TextContent(type="text", text=problem_text(exc))], is_error=True
    )


class McpServer:
    """The handlers of the low-level SDK server, bound to the services."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.tools = [_tool(spec) for spec in TOOLS.values()]

    def build(self) -> Server[Any]:
        return Server(
            "DukeNet AINS",
            version=__version__,
            instructions="Submit tasks to the AINS agent network, wait for and read their "
            "results, list and cancel them. Tasks are routed by capability_required.",
            on_list_tools=self.list_tools,
            on_call_tool=self.call_tool,
            on_list_resources=self.list_resources,
            on_list_resource_templates=self.list_resource_templates,
            on_read_resource=self.read_resource,
        )

    def _caller(self, ctx: Context) -> tuple[Request, Principal]:
        request = ctx.request
        principal = getattr(request.state, "principal", None) if request is not None else None
        if not isinstance(request, Request) or not isinstance(principal, Principal):
            raise Unauthorized("no authenticated caller")  # only /mcp serves this server
        return request, principal

    async def list_tools(
        self, _ctx: Context, _params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        return types.ListToolsResult(tools=self.tools)

    async def call_tool(
        self, ctx: Context, params: types.CallToolRequestParams
    ) -> types.CallToolResult:
        spec = TOOLS.get(params.name)
        if spec is None:
            raise MCPError(types.INVALID_PARAMS, f"unknown tool {params.name!r}")
        request, principal = self._caller(ctx)
        try:
            try:
                args = spec.arguments.model_validate(params.arguments or {})
            except ValidationError as exc:
                raise invalid(exc) from None
            await self.services.rate_limits.admit(request, principal, spec.route_class)
            answer = await spec.run(self.services, principal, args)
        except AinsError as exc:
            await self._audit(request, principal, spec, exc)
            return _refusal(exc)
        except Exception:
            log.exception("MCP tool %s failed", spec.name)
            return _refusal(AinsError("an unexpected error occurred; it was logged"))
        structured = _jsonable(answer)
        text = orjson.dumps(structured).decode()
        return types.CallToolResult(
            content=[types.TextContent(type="text", text=text)], structured_content=structured
        )

    async def _audit(
        self, request: Request, principal: Principal, spec: ToolSpec, exc: AinsError
    ) -> None:
        """As REST audits: every denial, and every refused change."""
        denied = exc.status_code in (401, 403, 429)
        if not denied and (spec.read_only or not 400 <= exc.status_code < 500):
            return
        await self.services.auth.denials.deny(
            principal, peer_of(request) or "unknown", f"MCP {spec.name}", exc.status_code,
            exc.detail,
        )  # fmt: skip

    async def list_resources(
        self, _ctx: Context, _params: types.PaginatedRequestParams | None
    ) -> types.ListResourcesResult:
        return types.ListResourcesResult(resources=resources.RESOURCES)

    async def list_resource_templates(
        self, _ctx: Context, _params: types.PaginatedRequestParams | None
    ) -> types.ListResourceTemplatesResult:
        return types.ListResourceTemplatesResult(resource_templates=resources.TEMPLATES)

    async def read_resource(
        self, ctx: Context, params: types.ReadResourceRequestParams
    ) -> types.ReadResourceResult:
        uri = str(params.uri)
        request, principal = self._caller(ctx)
        try:
            await self.services.rate_limits.admit(request, principal, "read")
            answer = await resources.read(self.services, principal, uri)
        except AinsError as exc:
            code = RESOURCE_NOT_FOUND if isinstance(exc, NotFound) else types.INVALID_PARAMS
            data = {"uri": uri, "status": exc.status_code, "detail": exc.detail}
            raise MCPError(code, exc.detail, data) from None
        text = json_output.dumps(answer, str).decode()
        contents = types.TextResourceContents(uri=uri, text=text, mime_type=resources.JSON)
        return types.ReadResourceResult(contents=[contents])


def session_manager(services: Services) -> StreamableHTTPSessionManager:
    """Stateless, answering in JSON: any replica answers any request, no session to keep."""
    return StreamableHTTPSessionManager(
        app=McpServer(services).build(),
        stateless=True,
        json_response=True,
        # the SDK's own limit; ours (AINS_MAX_BODY_BYTES) applies before it
        max_request_body_size=services.settings.max_body_bytes,
    )
