"""The other admin endpoints on a real server, both databases: the stale-task sweep settles
tasks past their timeout or lease at once; stats answer rows per table, the oldest finished
task and the database size; all three are for admins only and every call is audited."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import sqlalchemy as sa

from ains.models import tasks
from tests.maintenance.helpers import LONG_AGO, age_tasks, claim_all, execute
from tests.support.flows import claim, get_task, register_agent, submit
from tests.support.server import ServerProcess


def test_sweep_stale_settles_tasks_past_their_timeout_or_lease_now(
    api: httpx.Client, server: ServerProcess, uid: str
) -> None:
    cap = f"stale-{uid}:v1"
    agent = register_agent(api, cap, max_concurrency=2)
    timed = submit(api, cap, timeout_seconds=3600, retry_policy={"max_retries": 0})
    leased = submit(api, cap, retry_policy={"max_retries": 0})
    claim_all(api, agent["agent_id"], 2)
    past = datetime.now(UTC) - timedelta(seconds=1)
    execute(
        server.database_url,
        sa.update(tasks).where(tasks.c.task_id == timed["task_id"]).values(timeout_at=past),
        sa.update(tasks)
        .where(tasks.c.task_id == leased["task_id"])
        .values(lease_expires_at=past, timeout_at=None),
    )
    r = api.post("/ains/admin/sweep-stale")
    assert r.status_code == 200, r.text
    assert r.json() == {"timed_out": 1, "leases_expired": 1, "total": 2}
    assert get_task(api, timed["task_id"])["status"] == "TIMED_OUT"
    assert get_task(api, leased["task_id"])["status"] not in ("ASSIGNED", "RUNNING")
    again = api.post("/ains/admin/sweep-stale").json()
    assert again["total"] == 0
    audited = api.get("/ains/audit", params={"action": "admin.sweep_stale"}).json()["items"]
    assert audited[0]["detail"] == {"timed_out": 0, "leases_expired": 0, "total": 0}
    assert audited[1]["detail"]["total"] == 2


def test_stats_answer_rows_per_table_oldest_finished_task_and_size(
    api: httpx.Client, server: ServerProcess, uid: str
) -> None:
    cap = f"statsz-{uid}:v1"
    agent = register_agent(api, cap)
    task = submit(api, cap)
    [held] = claim(api, agent["agent_id"], wait=5)
    api.post(f"/aitp/tasks/{task['task_id']}/complete", json={"attempt_id": held["attempt_id"]})
    oldest = LONG_AGO - timedelta(days=365)  # older than anything another test leaves
    age_tasks(server.database_url, [task["task_id"]], oldest)
    r = api.get("/ains/admin/stats")
    assert r.status_code == 200, r.text
    stats = r.json()
    assert stats["database"] == server.backend
    assert stats["database_size_bytes"] > 0
    assert stats["rows"]["tasks"] >= 1 and stats["rows"]["agents"] >= 1
    assert {"events", "webhook_deliveries", "audit_log", "task_rollups"} <= set(stats["rows"])
    assert stats["oldest_finished_task"]["task_id"] == task["task_id"]
    assert datetime.fromisoformat(stats["oldest_finished_task"]["completed_at"]) == oldest
    audited = api.get("/ains/audit", params={"action": "admin.stats"}).json()["items"]
    assert audited[0]["detail"] == {"database_size_bytes": stats["database_size_bytes"]}


def test_admin_endpoints_refuse_non_admins_and_audit_the_refusal(
    api: httpx.Client, uid: str
) -> None:
    r = api.post("/ains/keys", json={"role": "client", "principal_id": f"c-{uid}"})
    assert r.status_code == 201, r.text
    key = r.json()["api_key"]
    client = httpx.Client(base_url=str(api.base_url), headers={"Authorization": f"Bearer {key}"})
    with client:
        for method, path, action in (
            ("POST", "/ains/admin/cleanup", "admin.cleanup"),
            ("POST", "/ains/admin/sweep-stale", "admin.sweep_stale"),
            ("GET", "/ains/admin/stats", "GET /ains/admin/stats"),
        ):
            refused = client.request(method, path, json={} if method == "POST" else None)
            assert refused.status_code == 403, (path, refused.text)
            assert refused.headers["content-type"].startswith("application/problem+json")
            denied = api.get(
                "/ains/audit", params={"principal_id": f"c-{uid}", "outcome": "denied"}
            ).json()["items"]
            assert (denied[0]["action"], denied[0]["status"]) == (action, 403)
