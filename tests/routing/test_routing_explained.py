"""Routing you can see and trust per capability, on a real server with real sample agents:
`GET /aitp/tasks/{id}/routing` names every candidate and the rule that chose or refused it; an
agent that keeps failing one capability is quarantined for it alone, still routed its other
capability, and earns its way back with canary tasks."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.support.flows import claim, register_agent, submit, wait_parked, wait_status
from tests.support.server import AgentProcess, ServerProcess, running_server, wait_for

FAST_AGENT = ["--heartbeat-interval", "0.3", "--wait-seconds", "2"]


@pytest.fixture(scope="module")
def trust_server(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """Small thresholds: three failures (0.5 → 0.36) quarantine, two canaries release."""
    with running_server(
        backend,
        tmp_path_factory.mktemp("routing-explained"),
        AINS_AGENT_OFFLINE_AFTER="1.5",
        AINS_TRUST_QUARANTINE_BELOW="0.4",
        AINS_TRUST_CANARY_SUCCESSES="2",
    ) as server:
        yield server


@pytest.fixture(scope="module")
def admin_key(trust_server: ServerProcess) -> str:
    """The first admin key, made in protected mode (the console needs one to sign in)."""
    with trust_server.client() as local:
        body = {"role": "admin", "principal_id": "admin", "name": "admin"}
        r = local.post("/ains/keys", json=body)
        assert r.status_code == 201, r.text
        return str(r.json()["api_key"])


@pytest.fixture
def api(trust_server: ServerProcess, admin_key: str) -> Iterator[httpx.Client]:
    with trust_server.client(admin_key) as client:
        yield client


def agent_view(api: httpx.Client, agent_id: str) -> dict[str, Any]:
    r = api.get(f"/ains/agents/{agent_id}")
    assert r.status_code == 200, r.text
    return dict(r.json())


def routing(api: httpx.Client, task_id: str) -> dict[str, Any]:
    r = api.get(f"/aitp/tasks/{task_id}/routing")
    assert r.status_code == 200, r.text
    return dict(r.json())


def test_the_routing_of_a_task_names_every_candidate_and_its_rule(
    api: httpx.Client, trust_server: ServerProcess, admin_key: str, uid: str
) -> None:
    cap = f"explain-{uid}:v1"
    gone = register_agent(api, cap, max_concurrency=5, name="gone")  # never heartbeats again
    idle = register_agent(api, cap, max_concurrency=5, name="idle")  # never claims
    benched = register_agent(api, cap, max_concurrency=5, name="benched")
    fresh = register_agent(api, cap, max_concurrency=5, name="fresh")
    busy = register_agent(api, cap, max_concurrency=5, name="busy")
    busy_id = busy["agent_id"]
    r = api.patch(f"/ains/agents/{benched['agent_id']}", json={"status": "QUARANTINED"})
    assert r.status_code == 200, r.text
    args = ["--agent-id", busy_id, "-c", cap, "--handler", "sleep", "--concurrency", "5"]
    sample = AgentProcess(trust_server.url, [*args, *FAST_AGENT], api_key=busy["api_key"]).start()
    try:
        for _ in range(4):  # busy holds 4 of 5: a fifth would take it past 80%
            submit(api, cap, input_data={"seconds": 60})
        wait_for(
            lambda: agent_view(api, busy_id)["in_flight"] == 4, message="busy to hold 4", timeout=60
        )
        wait_for(lambda: not agent_view(api, gone["agent_id"])["online"], message="offline")
        claimed: list[dict[str, Any]] = []

        def park() -> None:
            with trust_server.client(admin_key) as c:
                claimed.extend(claim(c, fresh["agent_id"], max_tasks=5, wait=5))

        thread = threading.Thread(target=park)
        thread.start()
        wait_parked(api, fresh["agent_id"], busy_id)
        alive = api.post(f"/ains/agents/{idle['agent_id']}/heartbeat")  # online, not claiming
        assert alive.status_code == 200, alive.text
        task = submit(api, cap, input_data={"seconds": 0})
        thread.join(timeout=10)
        assert [t["task_id"] for t in claimed] == [task["task_id"]]
        answer = routing(api, task["task_id"])
    finally:
        sample.stop(signal.SIGKILL)
    assert answer["task_id"] == task["task_id"] and answer["capability_required"] == cap
    [routed] = answer["routings"]
    assert routed["agent_id"] == fresh["agent_id"] and routed["number"] == 1
    assert routed["capability"] == cap and routed["tier"] == "preferred"
    rules = {c["agent_id"]: c["rule"] for c in routed["candidates"]}
    assert rules == {
        fresh["agent_id"]: "chosen",
        busy_id: "over_80_percent",
        benched["agent_id"]: "quarantined",
        idle["agent_id"]: "not_asking",
        gone["agent_id"]: "offline",
    }
    first, second = routed["candidates"][:2]
    assert first["agent_id"] == fresh["agent_id"]
    assert (first["in_flight"], first["max_concurrency"], first["load"]) == (0, 5, 0.0)
    assert (first["trust"], first["score"], first["rank"], first["share"]) == (0.5, 1.5, 1, 1)
    assert second["agent_id"] == busy_id
    assert (second["in_flight"], second["load"], second["rank"]) == (4, 0.8, 2)
    assert second["score"] == pytest.approx(0.2)  # 1 − load: it would pass 80%
    assert (
        api.get(f"/aitp/tasks/{task['task_id']}/routing")
        .headers["content-type"]
        .startswith("application/json")
    )
    missing = api.get("/aitp/tasks/tsk_nope/routing")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")


def console_page(server: ServerProcess, key: str, path: str) -> str:
    """A console page as a signed-in browser gets it."""
    with httpx.Client(base_url=server.url, timeout=40) as browser:
        r = browser.post("/ui/login", data={"credential": key})
        assert r.status_code == 303, r.text
        page = browser.get(path)
        assert page.status_code == 200, page.text
        return page.text


def test_failing_one_capability_quarantines_it_alone_and_canaries_bring_it_back(
    api: httpx.Client, trust_server: ServerProcess, admin_key: str, uid: str
) -> None:
    quarantine_and_release(api, trust_server, admin_key, uid)


def quarantine_and_release(
    api: httpx.Client, trust_server: ServerProcess, admin_key: str, uid: str
) -> None:
    bad, good = f"flaky-{uid}:v1", f"solid-{uid}:v1"
    r = api.post(
        "/ains/agents", json={"name": "x", "capabilities": [bad, good], "max_concurrency": 2}
    )
    assert r.status_code == 201, r.text
    agent_id, key = r.json()["agent_id"], r.json()["api_key"]
    # the sleep handler fails a task whose "seconds" is no number: this agent fails every task
    # of `bad` until the canaries, and none of `good`
    args = ["--agent-id", agent_id, "-c", bad, "-c", good, "--handler", "sleep", *FAST_AGENT]
    agent = AgentProcess(trust_server.url, [*args, "--concurrency", "2"], api_key=key).start()
    try:
        failing = [submit(api, bad, max_retries=0, input_data={"seconds": "x"}) for _ in range(3)]
        for t in failing:
            wait_status(api, t["task_id"], "FAILED", timeout=60)
        trust = {c["capability"]: c for c in agent_view(api, agent_id)["capability_trust"]}
        assert trust[bad]["quarantined"] is True
        assert trust[bad]["trust_score"] == pytest.approx(0.5 * 0.9**3, abs=1e-3)  # decays a hair
        assert trust[good] == {**trust[good], "quarantined": False, "trust_score": 0.5}
        records = api.get(f"/ains/agents/{agent_id}/trust", params={"capability": bad}).json()
        assert records["items"][0]["reason"] == "quarantined: trust 0.36 < 0.4"
        assert {i["capability"] for i in records["items"]} == {bad}
        metrics = api.get("/metrics").text
        assert f'ains_agent_quarantined{{agent_id="{agent_id}",capability="{bad}"}} 1.0' in metrics
        assert f'ains_agent_quarantined{{agent_id="{agent_id}",capability="{good}"}}' not in metrics
        row = console_page(trust_server, admin_key, "/ui/agents").split(agent_id, 1)[1]
        row = row.split("</tr>", 1)[0]
        assert f'data-capability="{bad}"' in row and f'data-capability="{good}"' in row
        assert row.count("badge-quarantined") == 1
        # still routed the other capability
        ok = submit(api, good, input_data={"seconds": 0})
        assert (
            wait_status(api, ok["task_id"], "COMPLETED", timeout=60)["assigned_agent_id"]
            == agent_id
        )
        # canaries: one task of `bad` at a time, two successes release it
        batch = api.post(
            "/aitp/tasks/batch",
            json={
                "client_id": "c1",
                "tasks": [
                    {"task_type": "t", "capability_required": bad, "input_data": {"seconds": 0}}
                    for _ in range(3)
                ],
            },
        )
        assert batch.status_code == 201, batch.text
        ids = batch.json()["task_ids"]
        for task_id in ids:
            wait_status(api, task_id, "COMPLETED", timeout=60)
    finally:
        agent.stop(signal.SIGKILL)  # nothing in flight; SIGTERM would wait for the exit
    routed = sorted(
        ((routing(api, t)["routings"][0], t) for t in ids), key=lambda p: p[0]["routed_at"]
    )
    routings = [r for r, _ in routed]
    assert [r["tier"] for r in routings] == ["canary", "canary", "preferred"]
    for canary in routings[:2]:  # one task at a time
        [mine] = canary["candidates"]
        assert (mine["rule"], mine["share"], mine["rank"]) == ("canary", 1, None)
    assert routings[2]["candidates"][0]["rule"] == "chosen"
    panel = console_page(trust_server, admin_key, f"/ui/tasks/{routed[0][1]}/panel")
    assert 'id="routing-candidates"' in panel and 'data-rule="canary"' in panel
    trust = {c["capability"]: c for c in agent_view(api, agent_id)["capability_trust"]}
    assert trust[bad]["quarantined"] is False and trust[bad]["trust_score"] >= 0.45
    reasons = [
        i["reason"]
        for i in api.get(f"/ains/agents/{agent_id}/trust", params={"capability": bad}).json()[
            "items"
        ]
    ]
    assert "released: 2 canaries passed" in reasons
    assert any(r.startswith("canary passed (1/2)") for r in reasons)
    metrics = api.get("/metrics").text
    assert f'ains_agent_quarantined{{agent_id="{agent_id}",capability="{bad}"}} 0.0' in metrics
    assert f'ains_agent_trust{{agent_id="{agent_id}",capability="{bad}"}}' in metrics


def test_a_healthy_agent_leaves_a_canary_for_a_quarantined_one(
    api: httpx.Client, trust_server: ServerProcess, admin_key: str, uid: str
) -> None:
    cap = f"canary-{uid}:v1"
    shaky = register_agent(api, cap, max_concurrency=5, name="shaky")["agent_id"]
    steady = register_agent(api, cap, max_concurrency=5, name="steady")["agent_id"]
    for _ in range(3):  # three failures: quarantined for `cap`
        task = submit(api, cap, max_retries=0)
        [held] = claim(api, shaky, wait=5)
        assert held["task_id"] == task["task_id"]
        body = {"attempt_id": held["attempt_id"], "error": "no"}
        assert api.post(f"/aitp/tasks/{task['task_id']}/fail", json=body).status_code == 200
    assert agent_view(api, shaky)["capability_trust"][0]["quarantined"] is True
    # steady is trusted more, so new work wakes it first; it leaves one task for the canary
    r = api.patch(f"/ains/agents/{steady}", json={"trust_score": 0.9, "reason": "test"})
    assert r.status_code == 200, r.text
    got: dict[str, list[dict[str, Any]]] = {}

    def park(agent_id: str) -> threading.Thread:
        def run() -> None:
            with trust_server.client(admin_key) as c:
                got[agent_id] = claim(c, agent_id, max_tasks=5, wait=5)

        thread = threading.Thread(target=run)
        thread.start()
        return thread

    threads = [park(shaky), park(steady)]
    wait_parked(api, shaky, steady)
    batch = api.post(
        "/aitp/tasks/batch",
        json={
            "client_id": "c1",
            "tasks": [{"task_type": "t", "capability_required": cap} for _ in range(3)],
        },
    )
    assert batch.status_code == 201, batch.text
    for thread in threads:
        thread.join(timeout=10)
    assert (len(got[steady]), len(got[shaky])) == (2, 1)
    [canary] = routing(api, got[shaky][0]["task_id"])["routings"]
    assert canary["tier"] == "canary" and canary["agent_id"] == shaky
    [steady_pass] = routing(api, got[steady][0]["task_id"])["routings"]
    rules = {c["agent_id"]: c["rule"] for c in steady_pass["candidates"]}
    assert rules == {steady: "chosen", shaky: "quarantined"}
