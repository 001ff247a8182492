"""Routing: trust first, the 80% rule, never past max_concurrency, re-routing of a lost agent."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import httpx

from tests.support.flows import (
    claim,
    get_task,
    register_agent,
    submit,
    wait_parked,
    wait_status,
)
from tests.support.server import AgentProcess, running_server, wait_for


def test_higher_trust_agent_gets_the_task(api: httpx.Client, server: Any, uid: str) -> None:
    capability = f"trust-{uid}:v1"
    high = register_agent(api, capability, trust=0.9, name="high")
    low = register_agent(api, capability, trust=0.3, name="low")
    results: dict[str, list[dict[str, Any]]] = {}

    def poll(agent_id: str) -> None:
        with server.client() as c:
            results[agent_id] = claim(c, agent_id, wait=3)

    threads = [threading.Thread(target=poll, args=(a["agent_id"],)) for a in (high, low)]
    for t in threads:
        t.start()
    wait_parked(api, high["agent_id"], low["agent_id"])
    task = submit(api, capability)
    for t in threads:
        t.join(timeout=10)
    assert [t["task_id"] for t in results[high["agent_id"]]] == [task["task_id"]]
    assert results[low["agent_id"]] == []
    assert get_task(api, task["task_id"])["assigned_agent_id"] == high["agent_id"]


def park(server: Any, agent_id: str, results: dict[str, list[dict[str, Any]]]) -> threading.Thread:
    """Start a long-poll claim of `agent_id` in a thread; its tasks land in `results`."""

    def poll() -> None:
        with server.client() as c:
            results[agent_id] = claim(c, agent_id, max_tasks=10, wait=5)

    thread = threading.Thread(target=poll)
    thread.start()
    return thread


def test_fifth_task_goes_to_another_agent_under_the_80_percent_rule(
    api: httpx.Client, server: Any, uid: str
) -> None:
    capability = f"load-{uid}:v1"
    high = register_agent(api, capability, max_concurrency=5, trust=0.9, name="high")
    low = register_agent(api, capability, max_concurrency=5, trust=0.3, name="low")
    results: dict[str, list[dict[str, Any]]] = {}
    threads = [park(server, a["agent_id"], results) for a in (high, low)]
    wait_parked(api, high["agent_id"], low["agent_id"])
    batch = api.post(
        "/aitp/tasks/batch",
        json={
            "client_id": "c1",
            "tasks": [
                {"task_type": "t", "capability_required": capability, "input_data": {"i": i}}
                for i in range(5)
            ],
        },
    )
    assert batch.status_code == 201, batch.text
    for t in threads:
        t.join(timeout=10)
    assert len(results[high["agent_id"]]) == 4
    assert len(results[low["agent_id"]]) == 1
    for agent in (high, low):
        for t in results[agent["agent_id"]]:
            assert get_task(api, t["task_id"])["assigned_agent_id"] == agent["agent_id"]


def test_an_agent_that_never_claims_is_never_handed_work(api: httpx.Client, uid: str) -> None:
    """The README's first curl registers an agent that never claims: routing must not park
    tasks on it (they used to sit ASSIGNED until a pickup lease ran out)."""
    capability = f"idle-{uid}:v1"
    idle = register_agent(api, capability, max_concurrency=5, trust=1.0, name="idle")
    worker = register_agent(api, capability, max_concurrency=5, trust=0.1, name="worker")
    task = submit(api, capability)
    [got] = claim(api, worker["agent_id"], wait=5)
    assert got["task_id"] == task["task_id"]
    assert get_task(api, task["task_id"])["assigned_agent_id"] == worker["agent_id"]
    assert api.get(f"/ains/agents/{idle['agent_id']}").json()["in_flight"] == 0


def test_agents_are_never_given_more_than_max_concurrency(api: httpx.Client, uid: str) -> None:
    capability = f"cap-{uid}:v1"
    agent = register_agent(api, capability, max_concurrency=2)
    ids = [submit(api, capability)["task_id"] for _ in range(5)]
    claimed = wait_for(lambda: claim(api, agent["agent_id"], max_tasks=10, wait=1), message="claim")
    claimed += claim(api, agent["agent_id"], max_tasks=10, wait=0)
    assert len(claimed) == 2
    statuses = [get_task(api, i)["status"] for i in ids]
    assert statuses.count("PENDING") == 3
    # finishing one frees one slot, which is refilled at once
    done = claimed[0]
    api.post(
        f"/aitp/tasks/{done['task_id']}/complete",
        json={"attempt_id": done["attempt_id"], "result_data": 1},
    )
    more = claim(api, agent["agent_id"], max_tasks=10, wait=3)
    assert len(more) == 1


def test_quarantined_agent_gets_nothing(api: httpx.Client, uid: str) -> None:
    capability = f"quar-{uid}:v1"
    agent = register_agent(api, capability)
    r = api.patch(
        f"/ains/agents/{agent['agent_id']}", json={"status": "QUARANTINED", "reason": "suspicious"}
    )
    assert r.json()["status"] == "QUARANTINED"
    task = submit(api, capability)
    assert claim(api, agent["agent_id"], wait=1) == []
    assert get_task(api, task["task_id"])["status"] == "PENDING"
    trust = api.get(f"/ains/agents/{agent['agent_id']}/trust").json()["items"]
    assert "suspicious" in trust[0]["reason"]


def test_silent_agent_loses_its_task_to_another(backend: str, tmp_path: Path, uid: str) -> None:
    with (
        running_server(backend, tmp_path, AINS_AGENT_OFFLINE_AFTER="1.5") as server,
        server.client() as api,
    ):
        capability = f"lost-{uid}:v1"
        silent = register_agent(api, capability, trust=0.9, name="silent")
        task = submit(api, capability)
        [claimed] = claim(api, silent["agent_id"], wait=5)
        assert claimed["task_id"] == task["task_id"]
        # the silent agent never heartbeats again; a healthy sample agent joins
        healthy = AgentProcess(
            server.url, ["-c", capability, "--heartbeat-interval", "0.5", "--wait-seconds", "2"]
        ).start()
        try:
            done = wait_status(api, task["task_id"], "COMPLETED", timeout=20)
        finally:
            healthy.stop()
        assert done["assigned_agent_id"] != silent["agent_id"]
        attempts = done["attempts"]
        assert [a["status"] for a in attempts] == ["LOST", "COMPLETED"]
        assert done["retry_count"] == 1
        assert api.get(f"/ains/agents/{silent['agent_id']}").json()["online"] is False
        late = api.post(
            f"/aitp/tasks/{task['task_id']}/complete",
            json={"attempt_id": claimed["attempt_id"], "result_data": "late"},
        )
        assert late.status_code == 409
        events = [h["event"] for h in done["history"]]
        assert "task.retrying" in events
