"""/mcp over streamable HTTP with the official `mcp` client, against the real session server
and a real sample agent: the six tools and the two resources, as the caller's principal (a
client never sees another client's private task), refusals as tool errors naming the field."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import httpx2
import pytest
from mcp import Client, ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from tests.mcp.calls import TOOLS, answer, refusal
from tests.support.server import ServerProcess


@asynccontextmanager
async def mcp_session(server: ServerProcess, key: str | None) -> AsyncIterator[ClientSession]:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    async with (
        httpx2.AsyncClient(headers=headers, timeout=30) as http,
        streamable_http_client(f"{server.url}/mcp", http_client=http) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        yield session


async def test_lists_the_six_tools_with_their_input_schemas(server: ServerProcess) -> None:
    async with mcp_session(server, None) as session:
        tools = {t.name: t for t in (await session.list_tools()).tools}
    assert set(tools) == TOOLS
    submit = tools["submit_task"].input_schema
    assert set(submit["required"]) == {"task_type", "capability_required"}
    assert {"input_data", "priority", "timeout_seconds", "idempotency_key"} <= set(
        submit["properties"]
    )
    assert tools["wait_for_task"].input_schema["required"] == ["task_id"]
    assert (
        "task_type"
        in tools["submit_batch"].input_schema["properties"]["tasks"]["items"]["properties"]
    )
    assert tools["get_task"].annotations is not None
    assert tools["get_task"].annotations.read_only_hint is True


async def test_a_submitted_task_is_done_by_an_agent_and_waited_for(
    server: ServerProcess, echo_cap: str, keys: dict[str, str]
) -> None:
    async with mcp_session(server, keys["a"]) as session:
        task = {"task_type": "mcp", "capability_required": echo_cap, "input_data": {"n": 7}}
        options = {"priority": 8, "timeout_seconds": 60}
        submitted = answer(await session.call_tool("submit_task", {**task, **options}))
        assert submitted["status"] in ("PENDING", "ASSIGNED", "RUNNING", "COMPLETED")
        assert submitted["priority"] == 8
        task_id = submitted["task_id"]
        waited = answer(
            await session.call_tool("wait_for_task", {"task_id": task_id, "timeout_seconds": 60})
        )
        assert waited["done"] is True
        assert waited["task"]["status"] == "COMPLETED"
        assert waited["task"]["result_data"] == {"echo": {"n": 7}}
        got = answer(await session.call_tool("get_task", {"task_id": task_id}))
        assert got["status"] == "COMPLETED" and got["history"] and got["attempts"]
        result = await session.read_resource(f"ains://tasks/{task_id}/result")
    body = json.loads(result.contents[0].text)  # type: ignore[union-attr]
    assert body["status"] == "COMPLETED" and body["result_data"] == {"echo": {"n": 7}}
    assert body["completed_at"].endswith("Z")


async def test_wait_answers_a_running_task_when_its_time_is_up_then_cancel_ends_it(
    server: ServerProcess, keys: dict[str, str]
) -> None:
    cap = f"mcp-nobody-{uuid.uuid4().hex[:8]}:v1"
    body = {"task_type": "t", "capability_required": cap, "idempotency_key": f"k-{cap}"}
    async with mcp_session(server, keys["a"]) as session:
        task = answer(await session.call_tool("submit_task", body))
        replayed = answer(await session.call_tool("submit_task", body))
        assert replayed["task_id"] == task["task_id"]
        waited = answer(
            await session.call_tool(
                "wait_for_task", {"task_id": task["task_id"], "timeout_seconds": 0.2}
            )
        )
        assert waited == {"done": False, "task": waited["task"]}
        assert waited["task"]["status"] == "PENDING"
        cancelled = answer(
            await session.call_tool("cancel_task", {"task_id": task["task_id"], "reason": "no"})
        )
        assert cancelled["status"] == "CANCELLED"
        again = refusal(await session.call_tool("cancel_task", {"task_id": task["task_id"]}))
        assert again["status"] == 409 and "CANCELLED" in again["detail"]
        page = answer(await session.call_tool("list_tasks", {"capability": cap}))
        assert [t["task_id"] for t in page["items"]] == [task["task_id"]]
        assert page["items"][0]["status"] == "CANCELLED"


async def test_list_tasks_pages_with_its_cursor(
    server: ServerProcess, keys: dict[str, str]
) -> None:
    cap = f"mcp-page-{uuid.uuid4().hex[:8]}:v1"
    tasks = [{"task_type": f"t{i}", "capability_required": cap} for i in range(3)]
    async with mcp_session(server, keys["a"]) as session:
        batch = answer(await session.call_tool("submit_batch", {"tasks": tasks}))
        first = answer(await session.call_tool("list_tasks", {"capability": cap, "limit": 2}))
        rest = answer(
            await session.call_tool(
                "list_tasks", {"capability": cap, "limit": 2, "cursor": first["next_cursor"]}
            )
        )
    listed = [t["task_id"] for t in first["items"] + rest["items"]]
    assert sorted(listed) == sorted(batch["task_ids"])
    assert rest["next_cursor"] is None


async def test_a_batch_with_dependencies_runs_in_order(
    server: ServerProcess, echo_cap: str, keys: dict[str, str]
) -> None:
    tasks = [
        {"task_type": "first", "capability_required": echo_cap, "ref": "first"},
        {"task_type": "then", "capability_required": echo_cap, "depends_on": ["first"]},
    ]
    async with mcp_session(server, keys["a"]) as session:
        batch = answer(await session.call_tool("submit_batch", {"tasks": tasks}))
        assert batch["created"] == 2 and [r["ok"] for r in batch["results"]] == [True, True]
        first, then = batch["task_ids"]
        waited = answer(
            await session.call_tool("wait_for_task", {"task_id": then, "timeout_seconds": 60})
        )
        before = answer(await session.call_tool("get_task", {"task_id": first}))
    assert waited["task"]["status"] == "COMPLETED" and before["status"] == "COMPLETED"
    assert before["completed_at"] <= waited["task"]["started_at"]


async def test_a_client_never_sees_another_clients_private_task(
    server: ServerProcess, keys: dict[str, str]
) -> None:
    cap = f"mcp-private-{uuid.uuid4().hex[:8]}:v1"
    async with mcp_session(server, keys["a"]) as a:
        task = answer(
            await a.call_tool("submit_task", {"task_type": "secret", "capability_required": cap})
        )
    task_id = task["task_id"]
    async with mcp_session(server, keys["b"]) as b:
        for tool in ("get_task", "wait_for_task", "cancel_task"):
            problem = refusal(await b.call_tool(tool, {"task_id": task_id}))
            assert problem["status"] == 404, (tool, problem)
        listed = answer(await b.call_tool("list_tasks", {"capability": cap}))
        assert listed["items"] == []
        status = await b.read_resource("ains://queue/status")
        with pytest.raises(MCPError) as hidden:
            await b.read_resource(f"ains://tasks/{task_id}/result")
    assert task_id not in status.contents[0].text  # type: ignore[union-attr]
    assert json.loads(status.contents[0].text)["by_capability"].get(cap) is None  # type: ignore[union-attr]
    assert hidden.value.code == -32002 and "not found" in hidden.value.message
    async with mcp_session(server, keys["a"]) as a:
        assert answer(await a.call_tool("get_task", {"task_id": task_id}))["status"] == "PENDING"
        status = await a.read_resource("ains://queue/status")
    assert json.loads(status.contents[0].text)["by_capability"][cap] == 1  # type: ignore[union-attr]


async def test_bad_input_is_a_tool_error_naming_the_field(server: ServerProcess) -> None:
    async with mcp_session(server, None) as session:
        cases = {
            "priority": {"task_type": "t", "capability_required": "c", "priority": 11},
            "capability_required": {"task_type": "t"},
            "colour": {"task_type": "t", "capability_required": "c", "colour": "red"},
            "input_data.text": {"task_type": "t", "capability_required": "c",
                                "input_data": {"text": "a\u0000b"}},
        }  # fmt: skip
        for field, arguments in cases.items():
            problem = refusal(await session.call_tool("submit_task", arguments))
            assert problem["status"] == 422, problem
            assert field in [e["field"] for e in problem["errors"]], problem
            assert problem["detail"].startswith(f"{field}: ")
        batch = refusal(await session.call_tool("submit_batch", {"tasks": [{"task_type": "t"}]}))
        wait = refusal(
            await session.call_tool("wait_for_task", {"task_id": "x", "timeout_seconds": -1})
        )
        limit = refusal(await session.call_tool("list_tasks", {"limit": 0}))
    assert batch["status"] == 422 and "nothing was created" in batch["detail"]
    assert [e["field"] for e in batch["errors"]] == ["tasks[0].capability_required"]
    assert wait["errors"][0]["field"] == "timeout_seconds"
    assert limit["errors"][0]["field"] == "limit"


def test_bad_credentials_are_refused_with_401_as_on_rest(server: ServerProcess) -> None:
    ping = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    headers = {"Accept": "application/json, text/event-stream"}
    with httpx.Client(base_url=server.url, timeout=30) as http:
        bad = http.post("/mcp", json=ping, headers={**headers, "Authorization": "Bearer nope"})
        malformed = http.post("/mcp", json=ping, headers={**headers, "Authorization": "Basic x"})
        ok = http.post("/mcp", json=ping, headers=headers)  # protected mode: local admin
    for refused in (bad, malformed):
        assert refused.status_code == 401
        assert refused.headers["content-type"] == "application/problem+json"
        assert "Bearer" in refused.json()["detail"] or "API key" in refused.json()["detail"]
    assert ok.status_code == 200, ok.text
    assert {t["name"] for t in ok.json()["result"]["tools"]} == TOOLS


async def test_the_official_client_is_refused_with_a_bad_key(server: ServerProcess) -> None:
    with pytest.raises(BaseException) as refused:
        async with mcp_session(server, "not-a-key"):
            pass
    assert "401" in repr(refused.value) or "error response" in repr(refused.value)


def test_hostile_json_is_refused_as_rest_refuses_it(server: ServerProcess) -> None:
    """What storage would refuse: a tool call's argument is a tool error naming it; anything
    else REST's 422 problem+json."""
    call = '{"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": "submit_task", '
    bodies = {
        "input_data.text": call + '"arguments": {"task_type": "t", "capability_required": "c", '
        '"input_data": {"text": "\\ud800"}}}}',
        "input_data.n": call + '"arguments": {"task_type": "t", "capability_required": "c", '
        '"input_data": {"n": NaN}}}}',
    }
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    read = '{"jsonrpc": "2.0", "id": 8, "method": "resources/read", '
    read += '"params": {"uri": "\\u0000"}}'
    with httpx.Client(base_url=server.url, timeout=30) as http:
        for field, body in bodies.items():
            r = http.post("/mcp", content=body.encode(), headers=headers)
            assert r.status_code == 200, r.text
            assert r.json()["id"] == 7 and r.json()["result"]["isError"] is True
            problem = json.loads(r.json()["result"]["content"][0]["text"])
            assert [e["field"] for e in problem["errors"]] == [field], problem
        refused = http.post("/mcp", content=read.encode(), headers=headers)
    assert refused.status_code == 422
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["errors"][0]["field"] == "params.uri"


async def test_the_2026_protocol_without_a_handshake_runs_as_the_key_too(
    server: ServerProcess, keys: dict[str, str]
) -> None:
    """`mcp.Client` speaks 2026-07-28 when the server does: every request on its own."""
    cap = f"mcp-modern-{uuid.uuid4().hex[:8]}:v1"
    headers = {"Authorization": f"Bearer {keys['a']}"}
    url = f"{server.url}/mcp"
    async with (
        httpx2.AsyncClient(headers=headers, timeout=30) as http,
        Client(streamable_http_client(url, http_client=http)) as a,
    ):
        assert a.protocol_version == "2026-07-28"
        task = {"task_type": "t", "capability_required": cap}
        submitted = answer(await a.call_tool("submit_task", task))
        got = answer(await a.call_tool("get_task", {"task_id": submitted["task_id"]}))
        bad = refusal(await a.call_tool("get_task", {}))
    assert submitted["client_id"].startswith("mcp-a-") and got["status"] == "PENDING"
    assert bad["errors"][0]["field"] == "task_id"
