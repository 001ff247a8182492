"""The schedule endpoints against a real server, on SQLite and PostgreSQL."""

from __future__ import annotations

import itertools
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.support.server import wait_for

BASE = "/aitp/tasks/schedule"


def create(api: httpx.Client, cap: str, **fields: Any) -> dict[str, Any]:
    body = {"task_type": "report", "capability_required": cap, "input_data": {"n": 1}} | fields
    r = api.post(BASE, json=body)
    assert r.status_code == 201, r.text
    return dict(r.json())


def executions(api: httpx.Client, schedule_id: str) -> list[dict[str, Any]]:
    r = api.get(f"{BASE}/{schedule_id}/executions", params={"limit": 500})
    assert r.status_code == 200, r.text
    return list(r.json()["items"])


def agent_for(api: httpx.Client, cap: str) -> str:
    r = api.post("/ains/agents", json={"name": f"agent-{cap}", "capabilities": [cap]})
    assert r.status_code == 201, r.text
    return str(r.json()["agent_id"])


def claim(api: httpx.Client, agent_id: str) -> dict[str, Any]:
    r = api.post(f"/aitp/agents/{agent_id}/claim", json={"max_tasks": 1, "wait_seconds": 10})
    assert r.status_code == 200, r.text
    tasks = r.json()["tasks"]
    assert tasks, "no task delivered"
    return dict(tasks[0])


def test_create_get_list_update_delete(api: httpx.Client, uid: str) -> None:
    made = create(api, f"cap-{uid}", cron_expression="0 9 * * *", timezone="Europe/London")
    sid = made["schedule_id"]
    assert made["status"] == "ACTIVE"
    assert made["timezone"] == "Europe/London"
    assert made["missed_run_policy"] == "skip" and made["overlap_policy"] == "allow"
    assert made["total_runs"] == 0 and made["failed_runs"] == 0
    assert api.get(f"{BASE}/{sid}").json()["next_run_at"] == made["next_run_at"]
    listed = api.get(BASE, params={"status": "ACTIVE", "limit": 500}).json()
    assert sid in {s["schedule_id"] for s in listed["items"]}

    r = api.put(f"{BASE}/{sid}", json={"cron_expression": "30 7 * * *", "priority": 9})
    assert r.status_code == 200, r.text
    assert r.json()["cron_expression"] == "30 7 * * *" and r.json()["priority"] == 9
    assert r.json()["next_run_at"].endswith("07:30:00Z") or "06:30:00Z" in r.json()["next_run_at"]

    assert api.delete(f"{BASE}/{sid}").status_code == 204
    assert api.get(f"{BASE}/{sid}").status_code == 404


def test_bad_cron_is_422_naming_the_field_and_reason(api: httpx.Client, uid: str) -> None:
    r = api.post(
        BASE, json={"task_type": "t", "capability_required": uid, "cron_expression": "61 * * * *"}
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "cron_expression"
    assert "out of range" in r.json()["detail"]
    r = api.post(BASE, json={"task_type": "t", "capability_required": uid, "cron_expression": "*"})
    assert r.status_code == 422 and "5 fields" in r.json()["detail"]


def test_bad_timezone_and_missing_timing_are_422(api: httpx.Client, uid: str) -> None:
    body = {"task_type": "t", "capability_required": uid, "cron_expression": "0 9 * * *"}
    r = api.post(BASE, json=body | {"timezone": "Mars/Base"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "timezone"
    r = api.post(BASE, json={"task_type": "t", "capability_required": uid})
    assert r.status_code == 422
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    r = api.post(BASE, json={"task_type": "t", "capability_required": uid, "run_at": past})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "run_at"


def test_preview_is_dst_correct(api: httpx.Client, uid: str) -> None:
    r = api.get(
        f"{BASE}/preview",
        params={"cron_expression": "0 9 * * *", "timezone": "America/New_York", "count": 3},
    )
    assert r.status_code == 200, r.text
    runs = r.json()["next_runs"]
    assert len(runs) == 3
    assert all(x.endswith(("13:00:00Z", "14:00:00Z")) for x in runs)
    sid = create(api, f"cap-{uid}", cron_expression="*/10 * * * *")["schedule_id"]
    runs = api.get(f"{BASE}/{sid}/preview", params={"count": 4}).json()["next_runs"]
    stamps = [datetime.fromisoformat(x) for x in runs]
    assert [b - a for a, b in itertools.pairwise(stamps)] == [timedelta(minutes=10)] * 3


def test_pause_stops_firing_and_resume_restarts_it(api: httpx.Client, uid: str) -> None:
    sid = create(api, f"cap-{uid}", interval_seconds=1)["schedule_id"]
    wait_for(lambda: executions(api, sid), timeout=5, message="first run")
    paused = api.post(f"{BASE}/{sid}/pause").json()
    assert paused["status"] == "PAUSED" and paused["next_run_at"] is None
    count = len(executions(api, sid))
    time.sleep(2.5)
    assert len(executions(api, sid)) <= count + 1  # at most one in flight when pausing
    count = len(executions(api, sid))
    time.sleep(1.5)
    assert len(executions(api, sid)) == count
    resumed = api.post(f"{BASE}/{sid}/resume").json()
    assert resumed["status"] == "ACTIVE" and resumed["next_run_at"] is not None
    wait_for(lambda: len(executions(api, sid)) > count, timeout=5, message="runs after resume")
    api.post(f"{BASE}/{sid}/pause")


def test_execute_now_creates_a_linked_task(api: httpx.Client, uid: str) -> None:
    sid = create(api, f"cap-{uid}", cron_expression="0 0 1 1 *", priority=8)["schedule_id"]
    r = api.post(f"{BASE}/{sid}/execute")
    assert r.status_code == 201, r.text
    execution = r.json()
    assert execution["trigger"] == "manual" and execution["status"] == "PENDING"
    task = api.get(f"/aitp/tasks/{execution['task_id']}").json()
    assert task["schedule_id"] == sid and task["priority"] == 8 and task["status"] == "PENDING"
    after = api.get(f"{BASE}/{sid}").json()
    assert after["total_runs"] == 1 and after["last_run_at"] is not None


def test_executions_follow_their_task_outcomes(api: httpx.Client, uid: str) -> None:
    cap = f"cap-{uid}"
    sid = create(api, cap, cron_expression="0 0 1 1 *", max_retries=0)["schedule_id"]
    agent = agent_for(api, cap)

    first = api.post(f"{BASE}/{sid}/execute").json()
    task = claim(api, agent)
    assert task["task_id"] == first["task_id"]
    r = api.post(
        f"/aitp/tasks/{task['task_id']}/complete",
        json={"attempt_id": task["attempt_id"], "result_data": {"rows": 42}},
    )
    assert r.status_code == 200, r.text

    second = api.post(f"{BASE}/{sid}/execute").json()
    task = claim(api, agent)
    assert task["task_id"] == second["task_id"]
    r = api.post(
        f"/aitp/tasks/{task['task_id']}/fail",
        json={"attempt_id": task["attempt_id"], "error": "boom", "retryable": False},
    )
    assert r.status_code == 200, r.text

    by_task = {e["task_id"]: e for e in executions(api, sid)}
    done, failed = by_task[first["task_id"]], by_task[second["task_id"]]
    assert done["status"] == "COMPLETED" and done["result_data"] == {"rows": 42}
    assert done["duration_seconds"] is not None and done["duration_seconds"] >= 0
    assert failed["status"] == "FAILED" and "boom" in failed["error_message"]
    schedule = api.get(f"{BASE}/{sid}").json()
    assert schedule["total_runs"] == 2 and schedule["failed_runs"] == 1


def test_one_time_schedule_fires_once_and_completes(api: httpx.Client, uid: str) -> None:
    run_at = datetime.now(UTC) + timedelta(seconds=1.5)
    made = create(api, f"cap-{uid}", run_at=run_at.isoformat())
    sid = made["schedule_id"]
    assert made["cron_expression"] is None
    done = wait_for(
        lambda: (s := api.get(f"{BASE}/{sid}").json())["status"] == "COMPLETED" and s,
        timeout=6,
        message="one-time schedule completes",
    )
    assert done["total_runs"] == 1 and done["next_run_at"] is None
    runs = executions(api, sid)
    assert len(runs) == 1
    lag = datetime.fromisoformat(runs[0]["executed_at"]) - run_at
    assert timedelta(0) <= lag < timedelta(seconds=1)


def test_overlap_skip_records_skipped_runs_while_the_task_is_unfinished(
    api: httpx.Client, uid: str
) -> None:
    sid = create(api, f"cap-{uid}", interval_seconds=1, overlap_policy="skip")["schedule_id"]
    wait_for(lambda: len(executions(api, sid)) >= 3, timeout=8, message="three due times")
    api.post(f"{BASE}/{sid}/pause")
    runs = executions(api, sid)
    fired = [e for e in runs if e["task_id"]]
    skipped = [e for e in runs if e["status"] == "SKIPPED"]
    assert len(fired) == 1  # nobody serves the capability: the first task stays PENDING
    assert len(skipped) == len(runs) - 1 >= 2
    assert all("still PENDING" in e["error_message"] for e in skipped)
    assert api.get(f"{BASE}/{sid}").json()["total_runs"] == 1


def test_template_defaults_fill_the_schedule(api: httpx.Client, uid: str) -> None:
    r = api.post(BASE, json={"template_id": f"missing-{uid}", "cron_expression": "0 9 * * *"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "template_id"
