"""Seed 004's /api/ai/tasks… endpoints, /ws/ai-tasks, named priorities and the retry_policy
shorthand, against a real server with AINS_JWT_SECRET set (callers use JWTs, as in seed 004)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from websockets.sync.client import connect

from tests.compat.seed004 import SERVER_ENV, token
from tests.maintenance.helpers import age_tasks
from tests.support.server import ServerProcess, running_server

API = "/api/ai/tasks"


@pytest.fixture(scope="module")
def jwt_server(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with running_server(backend, tmp_path_factory.mktemp("seed004"), **SERVER_ENV) as server:
        yield server


def _client(server: ServerProcess, sub: str, role: str = "client") -> httpx.Client:
    return server.client(api_key=token(sub, role))


@pytest.fixture
def alice(jwt_server: ServerProcess, uid: str) -> Iterator[httpx.Client]:
    with _client(jwt_server, f"alice-{uid}") as client:
        yield client


@pytest.fixture
def admin(jwt_server: ServerProcess, uid: str) -> Iterator[httpx.Client]:
    with _client(jwt_server, f"admin-{uid}", "admin") as client:
        yield client


def _create(api: httpx.Client, **fields: Any) -> dict[str, Any]:
    r = api.post(API, json=fields)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["success"] is True
    return dict(body["data"])


def _problem_fields(r: httpx.Response) -> dict[str, str]:
    assert r.headers["content-type"].startswith("application/problem+json"), r.text
    return {e["field"]: e["reason"] for e in r.json()["errors"]}


def test_create_maps_seed_004_fields_onto_ours(alice: httpx.Client, uid: str) -> None:
    task = _create(
        alice,
        agentId=f"gpt-{uid}",
        taskType="summarise",
        inputData={"text": "hi"},
        priority="URGENT",
        maxRetries=5,
        retryPolicy="linear",
        timeoutMs=90_000,
        metadata={"from": "seed004"},
    )
    assert task["agentId"] == f"gpt-{uid}" and task["taskType"] == "summarise"
    assert (task["priority"], task["priorityLevel"]) == ("URGENT", 10)
    assert task["input"] == {"text": "hi"} and task["metadata"] == {"from": "seed004"}
    assert task["maxRetries"] == 5 and task["timeoutSeconds"] == 90
    ours = alice.get(f"/aitp/tasks/{task['id']}").json()
    assert ours["capability_required"] == f"gpt-{uid}" and ours["priority"] == 10
    assert ours["retry_policy"]["strategy"] == "linear"
    assert ours["retry_policy"]["max_retries"] == 5


def test_create_refuses_what_seed_004_would_not_send(alice: httpx.Client) -> None:
    r = alice.post(API, json={"taskType": "x"})
    assert r.status_code == 422
    assert "agentId" in r.json()["detail"]
    r = alice.post(API, json={"agentId": "a", "taskType": "x", "priority": "MEDIUM"})
    assert r.status_code == 422
    assert _problem_fields(r) == {
        "priority": "must be an integer from 1 to 10 or one of URGENT, HIGH, NORMAL, LOW"
    }
    r = alice.post(API, json={"agentId": "a", "taskType": "x", "task_type": "y"})
    assert r.status_code == 422 and _problem_fields(r) == {"task_type": "unknown field"}


def test_list_get_cancel_and_retry(alice: httpx.Client, jwt_server: ServerProcess, uid: str):
    agent = f"lister-{uid}"
    first = _create(alice, agentId=agent, taskType="a", priority="LOW")
    second = _create(alice, agentId=agent, taskType="b")
    listed = alice.get(API, params={"agentId": agent}).json()
    assert listed["success"] is True
    assert {t["id"] for t in listed["data"]} == {first["id"], second["id"]}
    only_b = alice.get(API, params={"agentId": agent, "taskType": "b", "limit": 1}).json()
    assert [t["id"] for t in only_b["data"]] == [second["id"]]
    assert only_b["pagination"]["limit"] == 1

    got = alice.get(f"{API}/{first['id']}").json()["data"]
    assert (got["id"], got["priority"], got["priorityLevel"]) == (first["id"], "LOW", 2)
    with _client(jwt_server, f"bob-{uid}") as bob:
        assert bob.get(f"{API}/{first['id']}").status_code == 404

    cancelled = alice.put(f"{API}/{first['id']}/cancel", json={"reason": "no longer needed"})
    assert cancelled.status_code == 200, cancelled.text
    view = cancelled.json()["data"]
    assert view["status"] == "CANCELLED"
    assert view["cancellationReason"] == "no longer needed"
    assert alice.put(f"{API}/{first['id']}/cancel").status_code == 409

    retried = alice.get(f"{API}/{first['id']}/retry")
    assert retried.status_code == 200, retried.text
    assert retried.json()["data"]["status"] == "PENDING"
    assert alice.get(f"{API}/{second['id']}/retry").status_code == 409  # still pending


def test_batch_with_named_priorities(alice: httpx.Client, uid: str) -> None:
    items = [
        {"agentId": f"batch-{uid}", "taskType": "t", "priority": name}
        for name in ("URGENT", "HIGH", "NORMAL", "LOW")
    ]
    r = alice.post(f"{API}/batch", json={"tasks": items})
    assert r.status_code == 201, r.text
    batch = r.json()["data"]
    assert batch["created"] == 4 and len(batch["taskIds"]) == 4
    levels = [alice.get(f"/aitp/tasks/{t}").json()["priority"] for t in batch["taskIds"]]
    assert levels == [10, 8, 5, 2]

    bad = alice.post(f"{API}/batch", json={"tasks": [items[0], {**items[1], "priority": "x"}]})
    assert bad.status_code == 422
    assert list(_problem_fields(bad)) == ["tasks[1].priority"]
    too_many = alice.post(f"{API}/batch", json={"tasks": [items[0]] * 101})
    assert too_many.status_code == 422 and list(_problem_fields(too_many)) == ["tasks"]


def test_queue_status_and_statistics(alice: httpx.Client, uid: str) -> None:
    _create(alice, agentId=f"stats-{uid}", taskType="t", priority="HIGH")
    queue = alice.get(f"{API}/queue/status").json()["data"]
    assert queue["byPriority"]["HIGH"] >= 1
    assert queue["pending"] == sum(queue["byPriority"].values())
    assert queue["byCapability"][f"stats-{uid}"] == 1
    stats = alice.get(f"{API}/statistics/summary", params={"period": "all"}).json()
    assert stats["success"] is True and stats["data"]["period"] == "all"
    assert stats["data"]["totalTasks"] >= 1 and "successRate" in stats["data"]
    bad = alice.get(f"{API}/statistics/summary", params={"period": "forever"})
    assert bad.status_code == 422 and list(_problem_fields(bad)) == ["period"]


def test_health_needs_no_credentials(jwt_server: ServerProcess) -> None:
    r = httpx.get(f"{jwt_server.url}{API}/health")
    assert r.status_code == 200
    assert r.json()["status"] == "healthy" and r.json()["database"] == "up"


def test_cleanup_endpoints_are_for_admins(
    alice: httpx.Client, admin: httpx.Client, jwt_server: ServerProcess, uid: str
) -> None:
    assert alice.post(f"{API}/cleanup/old").status_code == 403
    assert alice.post(f"{API}/cleanup/timeout-stale").status_code == 403

    old = _create(alice, agentId=f"old-{uid}", taskType="t")
    assert alice.put(f"{API}/{old['id']}/cancel").status_code == 200
    age_tasks(jwt_server.database_url, [old["id"]])  # ten days ago
    dry = admin.post(f"{API}/cleanup/old", json={"dryRun": True, "daysToKeep": 7}).json()
    assert dry["data"]["dryRun"] is True and dry["data"]["tasksDeleted"] == 1
    assert alice.get(f"{API}/{old['id']}").status_code == 200
    done = admin.post(f"{API}/cleanup/old", json={"daysToKeep": 7}).json()["data"]
    assert done["dryRun"] is False and done["tasksDeleted"] == 1
    assert done["deletedCount"] == sum(done["counts"].values())
    assert alice.get(f"{API}/{old['id']}").status_code == 404
    audit = admin.get("/ains/audit", params={"action": "admin.cleanup"}).json()["items"]
    assert any(a["principal_id"] == f"admin-{uid}" for a in audit), audit

    swept = admin.post(f"{API}/cleanup/timeout-stale")
    assert swept.status_code == 200, swept.text
    assert set(swept.json()["data"]) == {"timedOutCount", "timedOut", "leasesExpired"}


def test_named_priorities_are_accepted_wherever_a_priority_is(
    alice: httpx.Client, uid: str
) -> None:
    cap = f"named-{uid}"
    r = alice.post(
        "/aitp/tasks", json={"task_type": "t", "capability_required": cap, "priority": "high"}
    )
    assert r.status_code == 201 and r.json()["priority"] == 8, r.text
    task_id = r.json()["task_id"]
    r = alice.put(f"/aitp/tasks/{task_id}/priority", json={"priority": "URGENT"})
    assert r.status_code == 200 and r.json()["priority"] == 10, r.text
    r = alice.put(f"/aitp/tasks/{task_id}/priority", json={"priority": "SOON"})
    assert r.status_code == 422
    assert "URGENT, HIGH, NORMAL, LOW" in _problem_fields(r)["priority"]
    r = alice.post(
        "/aitp/tasks/batch",
        json={"tasks": [{"task_type": "t", "capability_required": cap, "priority": "LOW"}]},
    )
    assert r.status_code == 201, r.text
    assert alice.get(f"/aitp/tasks/{r.json()['task_ids'][0]}").json()["priority"] == 2
    r = alice.post(
        "/aitp/tasks/schedule",
        json={"task_type": "t", "capability_required": cap, "priority": "NORMAL",
              "cron_expression": "0 9 * * *"},
    )  # fmt: skip
    assert r.status_code == 201 and r.json()["priority"] == 5, r.text
    r = alice.post(
        "/aitp/templates",
        json={"name": f"tpl-{uid}", "task_type": "t", "capability_required": cap,
              "priority": "LOW"},
    )  # fmt: skip
    assert r.status_code == 201, r.text
    template = r.json()
    assert template["defaults"]["priority"] == 2, template
    r = alice.post(f"/aitp/templates/{template['template_id']}/tasks", json={"priority": "HIGH"})
    assert r.status_code == 201 and r.json()["priority"] == 8, r.text
    r = alice.post(
        "/aitp/tasks", json={"task_type": "t", "capability_required": cap, "priority": 11}
    )
    assert r.status_code == 422 and list(_problem_fields(r)) == ["priority"]


def test_retry_policy_shorthand_strings(alice: httpx.Client, uid: str) -> None:
    for strategy in ("exponential", "linear", "fixed"):
        r = alice.post(
            "/aitp/tasks",
            json={"task_type": "t", "capability_required": f"rp-{uid}",
                  "retry_policy": strategy},
        )  # fmt: skip
        assert r.status_code == 201, r.text
        assert r.json()["retry_policy"] == {
            "max_retries": 3,
            "strategy": strategy,
            "base_delay_seconds": 1.0,
            "max_delay_seconds": 16.0,
            "jitter": True,
        }
    r = alice.post(
        "/aitp/tasks",
        json={"task_type": "t", "capability_required": f"rp-{uid}", "retry_policy": "random"},
    )
    assert r.status_code == 422
    assert _problem_fields(r) == {
        "retry_policy": "must be an object or one of exponential, linear, fixed"
    }
    r = alice.post(
        "/aitp/tasks",
        json={"task_type": "t", "capability_required": f"rp-{uid}",
              "retry_policy": "fixed", "max_retries": 1},
    )  # fmt: skip
    assert r.status_code == 201 and r.json()["retry_policy"]["max_retries"] == 1


def _ws(server: ServerProcess, query: str = "", headers: dict[str, str] | None = None) -> Any:
    url = server.url.replace("http://", "ws://") + f"/ws/ai-tasks?types=task.*{query}"
    return connect(url, additional_headers=headers or {}, open_timeout=10)


def _wait_created(ws: Any, wanted: str) -> None:
    while True:
        message = json.loads(ws.recv(timeout=15))
        if message["type"] == "task.created" and message["task_id"] == wanted:
            return


@pytest.mark.parametrize("how", ["query", "header"])
def test_ws_ai_tasks_streams_with_a_jwt(
    jwt_server: ServerProcess, alice: httpx.Client, uid: str, how: str
) -> None:
    jwt_token = token(f"alice-{uid}")
    query, headers = (f"&token={jwt_token}", None) if how == "query" else (
        "", {"Authorization": f"Bearer {jwt_token}"})  # fmt: skip
    with _ws(jwt_server, query, headers) as ws:
        assert json.loads(ws.recv(timeout=15))["type"] == "queue.stats"
        task = _create(alice, agentId=f"ws-{uid}", taskType="t")
        _wait_created(ws, task["id"])


def test_ws_ai_tasks_refuses_a_bad_token(jwt_server: ServerProcess) -> None:
    forged = token().rsplit(".", 1)[0] + ".c2lnbmF0dXJl"
    with pytest.raises(Exception) as refused, _ws(jwt_server, f"&token={forged}") as ws:
        ws.recv(timeout=10)
    assert forged not in str(refused.value)
