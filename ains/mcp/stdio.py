"""`ains mcp`: the network's MCP server on stdin/stdout, for MCP clients that start their
servers as processes (Claude Desktop and most others). It serves what the server's /mcp
serves by relaying each request there over HTTP with the API key (AINS_API_KEY) as Bearer:
the tools run on the server, as that key's principal, so they see and may change exactly what
REST lets the key see and change, and wait_for_task stays event-driven."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx2
import mcp.types as types
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.server import Server
from mcp.server.context import ServerRequestContext
from mcp.server.stdio import stdio_server

from ains.mcp.schemas import MAX_WAIT_SECONDS

Context = ServerRequestContext[Any, Any]


@asynccontextmanager
async def upstream(
    url: str, api_key: str | None
) -> AsyncIterator[tuple[ClientSession, types.InitializeResult]]:
    """An MCP session with the server's /mcp, as `api_key`'s principal, and its handshake."""
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    # a wait_for_task call holds its request open up to its timeout
    timeout = httpx2.Timeout(30.0, read=MAX_WAIT_SECONDS + 30.0)
    async with (
        httpx2.AsyncClient(headers=headers, timeout=timeout) as http,
        streamable_http_client(f"{url}/mcp", http_client=http) as (read, write),
        ClientSession(read, write) as session,
    ):
        yield session, await session.initialize()


class Relay:
    """The handlers of the stdio server: each request answered by the server's /mcp."""

    def __init__(self, session: ClientSession, handshake: types.InitializeResult) -> None:
        self.session = session
        self.handshake = handshake

    def build(self) -> Server[Any]:
        info = self.handshake.server_info
        return Server(
            info.name,
            version=info.version,
            instructions=self.handshake.instructions,
            on_list_tools=self.list_tools,
            on_call_tool=self.call_tool,
            on_list_resources=self.list_resources,
            on_list_resource_templates=self.list_resource_templates,
            on_read_resource=self.read_resource,
        )

    async def list_tools(
        self, _ctx: Context, params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        found = await self.session.list_tools(params=params)
        return types.ListToolsResult(tools=found.tools, next_cursor=found.next_cursor)

    async def call_tool(
        self, _ctx: Context, params: types.CallToolRequestParams
    ) -> types.CallToolResult:
        return await self.session.call_tool(params.name, params.arguments)

    async def list_resources(
        self, _ctx: Context, params: types.PaginatedRequestParams | None
    ) -> types.ListResourcesResult:
        found = await self.session.list_resources(params=params)
        return types.ListResourcesResult(resources=found.resources, next_cursor=found.next_cursor)

    async def list_resource_templates(
        self, _ctx: Context, params: types.PaginatedRequestParams | None
    ) -> types.ListResourceTemplatesResult:
        found = await self.session.list_resource_templates(params=params)
        return types.ListResourceTemplatesResult(
            resource_templates=found.resource_templates, next_cursor=found.next_cursor
        )

    async def read_resource(
        self, _ctx: Context, params: types.ReadResourceRequestParams
    ) -> types.ReadResourceResult:
        found = await self.session.read_resource(str(params.uri))
        return types.ReadResourceResult(contents=found.contents)


async def serve(url: str, api_key: str | None) -> None:
    """Serve MCP on stdin/stdout until stdin closes (`access.check` it first)."""
    async with upstream(url, api_key) as (session, handshake):
        server = Relay(session, handshake).build()
        async with stdio_server() as (read, write):
            await server.run(read, write, server.create_initialization_options())
