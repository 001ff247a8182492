"""Priority order through real routing, fairness between clients, deadline escalation, stats."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from tests.batches.helpers import claim, register_agent, task
from tests.support.server import running_server, wait_for


def test_strict_priority_order_with_aging_off(backend: str, tmp_path: Path) -> None:
    with (
        running_server(backend, tmp_path, AINS_AGING_INTERVAL="0") as server,
        server.client() as api,
    ):
        priorities = list(range(1, 11)) * 2
        random.Random(7).shuffle(priorities)
        tasks = [task("cap-strict", priority=p) for p in priorities]
        assert api.post("/aitp/tasks/batch", json={"tasks": tasks}).status_code == 201
        agent = register_agent(api, "cap-strict", concurrency=1)
        served = []
        for _ in range(len(priorities)):
            (t,) = claim(api, agent)
            served.append(t["priority"])
            r = api.post(
                f"/aitp/tasks/{t['task_id']}/complete",
                json={"attempt_id": t["attempt_id"], "result_data": None},
            )
            assert r.status_code == 200
        assert served == sorted(priorities, reverse=True)


def test_two_clients_are_served_fairly(api: httpx.Client, uid: str) -> None:
    cap = f"cap-{uid}"
    flood = {"client_id": f"flood-{uid}", "tasks": [task(cap) for _ in range(60)]}
    assert api.post("/aitp/tasks/batch", json=flood).status_code == 201
    single = api.post("/aitp/tasks/batch", json={"client_id": f"one-{uid}", "tasks": [task(cap)]})
    assert single.status_code == 201
    lone_id = single.json()["task_ids"][0]
    agent = register_agent(api, cap, concurrency=1)
    served = []
    for _ in range(3):
        (t,) = claim(api, agent)
        served.append(t["task_id"])
        api.post(
            f"/aitp/tasks/{t['task_id']}/complete",
            json={"attempt_id": t["attempt_id"], "result_data": None},
        )
    assert lone_id in served  # not behind the 60 queued before it


def test_task_near_its_deadline_is_escalated(api: httpx.Client, uid: str) -> None:
    deadline = (datetime.now(UTC) + timedelta(seconds=30)).isoformat()  # window: 60 s
    r = api.post("/aitp/tasks", json={**task(f"cap-{uid}", priority=2), "deadline": deadline})
    assert r.status_code == 201, r.text
    task_id = r.json()["task_id"]
    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    calm = api.post("/aitp/tasks", json={**task(f"cap-{uid}", priority=2), "deadline": later})
    wait_for(
        lambda: api.get(f"/aitp/tasks/{task_id}").json()["priority"] == 10,
        timeout=10,
        message="escalated to priority 10",
    )
    history = api.get(f"/aitp/tasks/{task_id}").json()["history"]
    assert any(h["event"] == "task.escalated" for h in history)
    assert api.get(f"/aitp/tasks/{calm.json()['task_id']}").json()["priority"] == 2


def test_queue_stats_report_depth_oldest_wait_and_dlq(api: httpx.Client, uid: str) -> None:
    cap = f"cap-{uid}"
    tasks = [task(cap, priority=p) for p in (1, 5, 5, 9)]
    assert (
        api.post("/aitp/tasks/batch", json={"client_id": f"c-{uid}", "tasks": tasks}).status_code
        == 201
    )
    stats = api.get("/aitp/queue/stats").json()
    assert stats["by_capability"][cap] == 4
    assert stats["by_client"][f"c-{uid}"] == 4
    assert stats["by_priority"]["5"] >= 2
    assert stats["oldest_wait_seconds"] >= 0 and stats["oldest_queued_at"] is not None
    # other tests share the server, so only the field, not its value, is this test's to check
    assert isinstance(stats["dead_lettered"], int) and stats["depth"] >= 4
    one = api.get("/aitp/tasks", params={"capability": cap, "limit": 1}).json()["items"][0]
    r = api.put(f"/aitp/tasks/{one['task_id']}/priority", json={"priority": 10})
    assert r.status_code == 200 and r.json()["priority"] == 10
