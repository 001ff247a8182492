"""Submit → routed → agent executes → result stored, with real sample-agent processes."""

from __future__ import annotations

from typing import Any

import httpx

from tests.support.flows import (
    claim,
    get_task,
    register_agent,
    submit,
    wait_status,
)
from tests.support.server import AgentProcess, ServerProcess, wait_for


def _agent(server: ServerProcess, capability: str, *args: str) -> AgentProcess:
    return AgentProcess(
        server.url, ["-c", capability, "--heartbeat-interval", "1", "--wait-seconds", "5", *args]
    ).start()


def test_happy_path_completes_stores_result_and_raises_trust(
    server: ServerProcess, api: httpx.Client, uid: str
) -> None:
    capability = f"upper-{uid}:v1"
    agent = _agent(server, capability, "--handler", "upper", "--name", f"up-{uid}")
    try:
        task = submit(api, capability, input_data={"text": "hello"})
        done = wait_status(api, task["task_id"], {"COMPLETED", "FAILED"})
    finally:
        agent.stop()
    assert done["status"] == "COMPLETED", agent.log()
    assert done["result_data"] == {"text": "HELLO"}
    assert [h["to_status"] for h in done["history"]][:3] == [
        "PENDING",
        "ASSIGNED",
        "COMPLETED",
    ] or (
        [h["to_status"] for h in done["history"]][:4]
        == ["PENDING", "ASSIGNED", "RUNNING", "COMPLETED"]
    )
    result = api.get(f"/aitp/tasks/{task['task_id']}/result").json()
    assert result["result_data"] == {"text": "HELLO"}
    agent_row = api.get(f"/ains/agents/{done['assigned_agent_id']}").json()
    assert agent_row["trust_score"] > 0.5
    assert agent_row["tasks_completed"] == 1
    trust = api.get(f"/ains/agents/{done['assigned_agent_id']}/trust").json()["items"]
    assert trust[0]["task_id"] == task["task_id"] and trust[0]["delta"] > 0


def test_failure_is_recorded_and_lowers_trust(
    server: ServerProcess, api: httpx.Client, uid: str
) -> None:
    capability = f"flaky-{uid}:v1"
    agent = _agent(server, capability, "--permanent-fail-rate", "1")
    try:
        task = submit(api, capability, retry_policy={"max_retries": 0})
        done = wait_status(api, task["task_id"], {"COMPLETED", "FAILED"})
    finally:
        agent.stop()
    assert done["status"] == "FAILED"
    assert done["last_error"]
    assert done["dead_lettered"] is True
    assert done["attempts"][0]["status"] == "FAILED"
    agent_row = api.get(f"/ains/agents/{done['assigned_agent_id']}").json()
    assert agent_row["trust_score"] < 0.5
    assert agent_row["tasks_failed"] == 1


def test_task_waits_when_no_agent_is_online_then_runs(
    server: ServerProcess, api: httpx.Client, uid: str
) -> None:
    capability = f"late-{uid}:v1"
    task = submit(api, capability)
    assert get_task(api, task["task_id"])["status"] == "PENDING"
    agent = _agent(server, capability)
    try:
        done = wait_status(api, task["task_id"], "COMPLETED")
    finally:
        agent.stop()
    assert done["result_data"] == {"echo": {}}


def test_long_poll_is_answered_as_soon_as_a_task_is_routed(
    api: httpx.Client, server: ServerProcess, uid: str
) -> None:
    import threading
    import time

    capability = f"poll-{uid}:v1"
    agent = register_agent(api, capability)
    got: list[tuple[float, list[dict[str, object]]]] = []

    def poll() -> None:
        with server.client() as c:
            got.append((time.monotonic(), claim(c, agent["agent_id"], wait=10)))

    t = threading.Thread(target=poll)
    t.start()
    time.sleep(0.5)
    submitted_at = time.monotonic()
    task = submit(api, capability)
    t.join(timeout=15)
    answered_at, tasks = got[0]
    assert [x["task_id"] for x in tasks] == [task["task_id"]]
    assert answered_at - submitted_at < 2.0
    assert tasks[0]["attempt_id"] and tasks[0]["lease_expires_at"]
    assert claim(api, agent["agent_id"], wait=0) == []


def test_stale_report_is_refused_and_changes_nothing(api: httpx.Client, uid: str) -> None:
    capability = f"stale-{uid}:v1"
    agent = register_agent(api, capability)
    task = submit(api, capability)
    [claimed] = claim(api, agent["agent_id"], wait=5)
    stale = api.post(
        f"/aitp/tasks/{task['task_id']}/complete",
        json={"attempt_id": "att_wrong", "result_data": {"x": 1}},
    )
    assert stale.status_code == 409
    assert stale.headers["content-type"].startswith("application/problem+json")
    assert get_task(api, task["task_id"])["status"] == "ASSIGNED"
    ok = api.post(
        f"/aitp/tasks/{task['task_id']}/complete",
        json={"attempt_id": claimed["attempt_id"], "result_data": {"x": 2}},
    )
    assert ok.status_code == 200 and ok.json()["status"] == "COMPLETED"
    again = api.post(
        f"/aitp/tasks/{task['task_id']}/complete",
        json={"attempt_id": claimed["attempt_id"], "result_data": {"x": 2}},
    )
    assert again.status_code == 200
    late_fail = api.post(
        f"/aitp/tasks/{task['task_id']}/fail",
        json={"attempt_id": claimed["attempt_id"], "error": "late"},
    )
    assert late_fail.status_code == 409
    final = get_task(api, task["task_id"])
    assert final["result_data"] == {"x": 2}
    assert sum(1 for h in final["history"] if h["event"] == "task.completed") == 1


def test_start_progress_and_bulk_reports(api: httpx.Client, uid: str) -> None:
    capability = f"bulk-{uid}:v1"
    agent = register_agent(api, capability, max_concurrency=10)
    ids = [submit(api, capability, input_data={"i": i})["task_id"] for i in range(6)]
    claimed = wait_for(lambda: claim(api, agent["agent_id"], max_tasks=10, wait=2), message="claim")
    assert {c["task_id"] for c in claimed} <= set(ids)
    first = claimed[0]
    started = api.post(
        f"/aitp/tasks/{first['task_id']}/start", json={"attempt_id": first["attempt_id"]}
    )
    assert started.json()["status"] == "RUNNING"
    beat = api.post(
        f"/aitp/tasks/{first['task_id']}/heartbeat",
        json={"attempt_id": first["attempt_id"], "progress": {"pct": 50}},
    ).json()
    assert beat["cancel_requested"] is False and beat["lease_expires_at"]
    reports = [
        {
            "task_id": c["task_id"],
            "attempt_id": c["attempt_id"],
            "outcome": "complete",
            "result_data": {"n": i},
        }
        for i, c in enumerate(claimed)
    ]
    reports.append(
        {"task_id": claimed[0]["task_id"], "attempt_id": "att_bogus", "outcome": "complete"}
    )
    r = api.post(f"/aitp/agents/{agent['agent_id']}/reports", json={"reports": reports})
    results = r.json()["results"]
    assert [x["ok"] for x in results] == [True] * len(claimed) + [False]
    assert results[-1]["error"]["status"] == 409
    assert get_task(api, first["task_id"])["progress"] == {"pct": 50}
    assert api.get(f"/ains/agents/{agent['agent_id']}").json()["tasks_completed"] == len(claimed)


def test_a_report_batch_moves_trust_once(api: httpx.Client, uid: str) -> None:
    """Trust moves per report batch: each outcome through the formula in turn, one record."""
    capability = f"trust-batch-{uid}:v1"
    agent = register_agent(api, capability, max_concurrency=10)
    before = api.get(f"/ains/agents/{agent['agent_id']}").json()["trust_score"]
    for i in range(4):
        submit(api, capability, input_data={"i": i})
    claimed: list[dict[str, Any]] = []
    for _ in range(10):
        claimed += claim(api, agent["agent_id"], max_tasks=10, wait=1)
        if len(claimed) == 4:
            break
    assert len(claimed) == 4
    reports = [
        {"task_id": c["task_id"], "attempt_id": c["attempt_id"], "outcome": "complete"}
        for c in claimed[:3]
    ] + [
        {
            "task_id": claimed[3]["task_id"],
            "attempt_id": claimed[3]["attempt_id"],
            "outcome": "fail",
            "error": "boom",
            "retryable": False,
        }
    ]
    r = api.post(f"/aitp/agents/{agent['agent_id']}/reports", json={"reports": reports})
    assert [x["ok"] for x in r.json()["results"]] == [True] * 4
    after = api.get(f"/ains/agents/{agent['agent_id']}").json()["trust_score"]
    records = api.get(f"/ains/agents/{agent['agent_id']}/trust").json()["items"]
    batch_records = [x for x in records if x["reason"].startswith("4 outcomes")]
    assert len(batch_records) == 1, records
    [record] = batch_records
    assert record["task_id"] is None
    assert "3 success" in record["reason"] and "1 permanent" in record["reason"]
    assert abs(record["trust_score"] - after) < 1e-6
    assert abs(record["delta"] - (after - before)) < 1e-6
