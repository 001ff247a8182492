"""The client SDK against a real server process, every answer checked against the OpenAPI
schema of its route (tests/support/contract.py): every call of `Client` (and the async client's
main ones), the success answers and the errors the SDK turns into exceptions."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest

from ains_client import AsyncClient, Client, Conflict, NotFound, ValidationError
from tests.support.contract import AsyncCheckedTransport, CheckedTransport, Contract
from tests.support.server import ServerProcess

# every route a call of the SDK can reach
SDK_ROUTES = {
    ("POST", "/aitp/tasks"),
    ("GET", "/aitp/tasks"),
    ("GET", "/aitp/tasks/{task_id}"),
    ("GET", "/aitp/tasks/{task_id}/result"),
    ("DELETE", "/aitp/tasks/{task_id}"),
    ("POST", "/ains/agents"),
    ("GET", "/ains/agents"),
    ("GET", "/ains/agents/{agent_id}"),
    ("PATCH", "/ains/agents/{agent_id}"),
    ("DELETE", "/ains/agents/{agent_id}"),
    ("GET", "/ains/agents/{agent_id}/trust"),
    ("POST", "/ains/agents/{agent_id}/heartbeat"),
    ("POST", "/aitp/agents/{agent_id}/claim"),
    ("POST", "/aitp/tasks/{task_id}/start"),
    ("POST", "/aitp/tasks/{task_id}/heartbeat"),
    ("POST", "/aitp/tasks/{task_id}/complete"),
    ("POST", "/aitp/tasks/{task_id}/fail"),
    ("POST", "/aitp/agents/{agent_id}/reports"),
    ("POST", "/ains/keys"),
    ("GET", "/ains/keys"),
    ("DELETE", "/ains/keys/{key_id}"),
}


@pytest.fixture
def contract(server: ServerProcess) -> Contract:
    return Contract(httpx.get(f"{server.url}/openapi.json", timeout=30).json())


def _claim_all(client: Client, agent_id: str, count: int) -> list[dict[str, object]]:
    claimed: list[dict[str, object]] = []
    while len(claimed) < count:
        got = client.agents.claim(agent_id, max_tasks=count - len(claimed), wait_seconds=10)
        assert got, f"no task handed out to {agent_id} within the wait"
        claimed += got
    return claimed


def test_every_sdk_call_answers_as_its_schema_says(
    server: ServerProcess, contract: Contract, uid: str
) -> None:
    cap = f"contract-{uid}:v1"
    client_id = f"contract-{uid}"
    with Client(server.url, transport=CheckedTransport(contract)) as c:
        agent = c.agents.register(f"contract-{uid}", [cap], max_concurrency=10)
        agent_id = str(agent["agent_id"])
        c.agents.heartbeat(agent_id, in_flight=[])
        c.agents.get(agent_id)
        c.agents.list(limit=5)
        c.agents.patch(agent_id, reason="contract test", trust_score=0.7)
        c.agents.trust(agent_id)

        first = c.tasks.submit(
            client_id,
            "contract",
            cap,
            {"n": 1},
            deadline="2030-01-01T00:00:00+02:00",
            metadata={"k": "v"},
            retry_policy={"max_retries": 0},
        )
        key = uuid.uuid4().hex
        second = c.tasks.submit(client_id, "contract", cap, {"n": 2}, idempotency_key=key)
        assert (
            c.tasks.submit(client_id, "contract", cap, {"n": 2}, idempotency_key=key)["task_id"]
            == second["task_id"]
        )
        third = c.tasks.submit(client_id, "contract", cap, {"n": 3}, priority=9)
        ids = {first["task_id"], second["task_id"], third["task_id"]}

        claimed = {str(t["task_id"]): str(t["attempt_id"]) for t in _claim_all(c, agent_id, 3)}
        assert set(claimed) == ids
        t1, t2, t3 = (str(t["task_id"]) for t in (first, second, third))
        c.agents.start(t1, claimed[t1])
        c.agents.task_heartbeat(t1, claimed[t1], progress={"percent": 50})
        c.agents.complete(t1, claimed[t1], {"ok": True}, cost=0.5, quality_score=0.9)
        c.agents.fail(t2, claimed[t2], "broken", error_type="Permanent", retryable=False)
        results = c.agents.reports(
            agent_id,
            [
                {"task_id": t3, "attempt_id": claimed[t3], "outcome": "complete"},
                {"task_id": t1, "attempt_id": "att_stale", "outcome": "complete"},
            ],
        )
        assert [r["ok"] for r in results] == [True, False]

        assert c.tasks.wait(t1, timeout=30)["status"] == "COMPLETED"
        c.tasks.get(t2)
        c.tasks.result(t1)
        c.tasks.list(client_id=client_id, limit=2)
        assert {t["task_id"] for t in c.tasks.iter_tasks(client_id=client_id, limit=2)} == ids

        waiting = c.tasks.submit(client_id, "contract", f"nobody-{uid}:v1", {})
        c.tasks.cancel(str(waiting["task_id"]), reason="contract test")

        with pytest.raises(NotFound):
            c.tasks.get(f"task_missing_{uid}")
        with pytest.raises(Conflict):
            c.agents.complete(t1, "att_stale", {})
        with pytest.raises(ValidationError):
            c.tasks.submit(client_id, "contract", cap, {}, priority=11)

        made = c.keys.create("client", client_id, "contract")
        c.keys.list(limit=5)
        c.keys.revoke(str(made["key_id"]))
        c.agents.deregister(agent_id)

    asyncio.run(_async_calls(server, contract, uid))

    assert contract.violations == []
    routes = {(method, template) for method, template, _status in contract.seen}
    assert SDK_ROUTES - routes == set()
    assert {404, 409, 422} <= {status for _m, _t, status in contract.seen}
    assert contract.timestamps
    assert [t for t in contract.timestamps if not t[1].endswith("Z")] == []


async def _async_calls(server: ServerProcess, contract: Contract, uid: str) -> None:
    cap = f"contract-async-{uid}:v1"
    async with AsyncClient(server.url, transport=AsyncCheckedTransport(contract)) as c:
        agent = await c.agents.register(f"contract-async-{uid}", [cap])
        agent_id = str(agent["agent_id"])
        task = await c.tasks.submit(f"contract-{uid}", "contract", cap, {"n": 4})
        claimed = await c.agents.claim(agent_id, max_tasks=1, wait_seconds=10)
        assert [t["task_id"] for t in claimed] == [task["task_id"]]
        await c.agents.complete(str(task["task_id"]), str(claimed[0]["attempt_id"]), [1, 2])
        assert (await c.tasks.result(str(task["task_id"])))["result_data"] == [1, 2]
        await c.tasks.get(str(task["task_id"]))
        await c.keys.list(limit=2)
