"""`ains mcp` (stdio) with the official `mcp` client launching it as MCP clients do, relayed to
the session server's /mcp with AINS_URL and AINS_API_KEY: the same tools, as the key's
principal; a refused key ends it at once with a readable message."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from mcp import ClientSession, StdioServerParameters, stdio_client
from mcp.shared.exceptions import MCPError

from tests.mcp.calls import TOOLS, answer, refusal
from tests.support.server import ROOT, ServerProcess


def _command(server: ServerProcess, key: str | None) -> tuple[list[str], dict[str, str]]:
    env = {k: v for k, v in os.environ.items() if k != "AINS_API_KEY"}
    env["AINS_URL"] = server.url
    if key is not None:
        env["AINS_API_KEY"] = key
    return [sys.executable, "-m", "ains.cli", "mcp"], env


@asynccontextmanager
async def stdio_session(
    server: ServerProcess, key: str | None, log: Path
) -> AsyncIterator[ClientSession]:
    command, env = _command(server, key)
    params = StdioServerParameters(command=command[0], args=command[1:], env=env, cwd=ROOT)
    with log.open("w") as errlog:
        async with (
            stdio_client(params, errlog=errlog) as (read, write),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            yield session


async def test_the_stdio_server_relays_the_tools_as_the_keys_principal(
    server: ServerProcess, echo_cap: str, keys: dict[str, str], tmp_path: Path
) -> None:
    hidden = answer_of_b(server, keys["b"], echo_cap)
    async with stdio_session(server, keys["a"], tmp_path / "a.log") as a:
        assert {t.name for t in (await a.list_tools()).tools} == TOOLS
        templates = (await a.list_resource_templates()).resource_templates
        assert [t.uri_template for t in templates] == ["ains://tasks/{task_id}/result"]
        task = {"task_type": "stdio", "capability_required": echo_cap, "input_data": {"s": 1}}
        submitted = answer(await a.call_tool("submit_task", task))
        assert submitted["client_id"].startswith("mcp-a-")  # the key's, not the local admin's
        task_id = submitted["task_id"]
        waited = answer(
            await a.call_tool("wait_for_task", {"task_id": task_id, "timeout_seconds": 60})
        )
        assert waited["task"]["status"] == "COMPLETED"
        assert waited["task"]["result_data"] == {"echo": {"s": 1}}
        result = await a.read_resource(f"ains://tasks/{task_id}/result")
        body = json.loads(result.contents[0].text)  # type: ignore[union-attr]
        assert body["result_data"] == {"echo": {"s": 1}}
        bad = refusal(await a.call_tool("submit_task", {"task_type": "t", "priority": 0}))
        assert {e["field"] for e in bad["errors"]} == {"capability_required", "priority"}
        unseen = refusal(await a.call_tool("get_task", {"task_id": hidden}))
        assert unseen["status"] == 404
        with pytest.raises(MCPError) as unknown:
            await a.read_resource(f"ains://tasks/{hidden}/result")
    assert unknown.value.code == -32002


def answer_of_b(server: ServerProcess, key: str, capability: str) -> str:
    """A private task of client B's (submitted over REST), which client A must not see."""
    with server.client(key) as b:
        r = b.post("/aitp/tasks", json={"task_type": "b", "capability_required": f"{capability}-x"})
    assert r.status_code == 201, r.text
    return str(r.json()["task_id"])


def test_a_refused_key_ends_ains_mcp_with_the_reason(server: ServerProcess) -> None:
    command, env = _command(server, "not-a-key")
    done = subprocess.run(
        command, env=env, cwd=ROOT, stdin=subprocess.DEVNULL, capture_output=True, timeout=60
    )
    assert done.returncode == 2
    assert b"refused: 401 unknown or revoked API key" in done.stderr
    assert done.stdout == b""
