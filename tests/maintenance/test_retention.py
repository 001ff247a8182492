"""Retention against a real server on both databases: the admin clean-up counts (dry run) and
prunes old rows per kind — finished tasks with their history, deliveries, executions, trust
records, routing decisions (by age, even a kept task's), audit rows, expired idempotency keys —
and keeps unfinished tasks, recent rows and tasks a live task depends on; it archives what it
deletes; analytics over the pruned period do not change; the background loop prunes by
itself; `ains admin cleanup` does the same."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from ains.models import events, idempotency_keys, routing_decisions, task_attempts
from tests.maintenance.helpers import (
    LONG_AGO,
    add_old_rows,
    age_tasks,
    claim_all,
    count_where,
    execute,
)
from tests.support.flows import get_task, register_agent, submit
from tests.support.server import ROOT, ServerProcess, running_server, wait_for

KINDS = (
    "tasks",
    "events",
    "webhook_deliveries",
    "schedule_executions",
    "idempotency_keys",
    "trust_records",
    "routing_decisions",
    "audit_log",
)


@pytest.fixture
def archived(backend: str, tmp_path: Path) -> Iterator[tuple[ServerProcess, Path]]:
    """A server of its own (counts are per database) that archives before deleting."""
    archive = tmp_path / "archive"
    with running_server(
        backend,
        tmp_path,
        AINS_ARCHIVE_DIR=str(archive),
        AINS_RETENTION_INTERVAL_SECONDS="0",
        AINS_RETENTION_BATCH_SIZE="2",  # several batches per kind
    ) as server:
        yield server, archive


def finish(api: httpx.Client, capability: str, n: int, **fields: Any) -> list[dict[str, Any]]:
    """n tasks submitted, claimed and completed by one agent, with cost and quality; answers
    them in the order they were completed."""
    agent = register_agent(api, capability, max_concurrency=n)
    for _ in range(n):
        submit(api, capability, **fields)
    claimed = claim_all(api, agent["agent_id"], n)
    for i, task in enumerate(claimed):
        r = api.post(
            f"/aitp/tasks/{task['task_id']}/complete",
            json={
                "attempt_id": task["attempt_id"],
                "result_data": {"i": i},
                "cost": 0.5 + i,
                "quality_score": 0.9,
            },
        )
        assert r.status_code == 200, r.text
    return claimed


def cleanup(api: httpx.Client, **body: Any) -> dict[str, Any]:
    r = api.post("/ains/admin/cleanup", json=body)
    assert r.status_code == 200, r.text
    return dict(r.json())


def test_cleanup_counts_then_prunes_each_kind_and_keeps_what_is_still_needed(
    archived: tuple[ServerProcess, Path], uid: str
) -> None:
    server, archive = archived
    url = server.database_url
    cap = f"ret-{uid}:v1"
    with server.client() as api:
        old = finish(api, cap, 3)
        cancelled = submit(api, cap)
        assert api.delete(f"/aitp/tasks/{cancelled['task_id']}").status_code == 200
        [needed] = finish(api, f"{cap}-needed", 1)  # old, but a live task depends on it
        recent = finish(api, f"{cap}-recent", 1)[0]  # finished just now
        pending = submit(api, f"nobody-{uid}:v1")  # unfinished: never pruned
        keyed = api.post(
            "/aitp/tasks",
            json={"client_id": "c1", "task_type": "t", "capability_required": f"nobody-{uid}:v1",
                  "input_data": {}},
            headers={"Idempotency-Key": f"key-{uid}"},
        )  # fmt: skip
        assert keyed.status_code == 201
        gone = [t["task_id"] for t in old] + [cancelled["task_id"]]
        age_tasks(url, [*gone, needed["task_id"]])
        dependent = submit(api, f"nobody-{uid}:v1", depends_on=[needed["task_id"]])
        expected = {**dict.fromkeys(KINDS, 0), **add_old_rows(url, uid)}
        expected["tasks"] = len(gone)
        # the routing of a task still kept goes by age too (docs/maintenance.md)
        [routed] = api.get(f"/aitp/tasks/{needed['task_id']}/routing").json()["routings"]
        [recent_routed] = api.get(f"/aitp/tasks/{recent['task_id']}/routing").json()["routings"]
        assert routed["routing_id"] and routed["candidates"], routed
        execute(
            url,
            sa.update(routing_decisions)
            .where(routing_decisions.c.routing_id == routed["routing_id"])
            .values(created_at=LONG_AGO),
        )
        expected["routing_decisions"] += 1
        execute(
            url,
            sa.update(idempotency_keys)
            .where(idempotency_keys.c.key == f"key-{uid}")
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1)),
        )
        expected["idempotency_keys"] = 1

        dry = cleanup(api, dry_run=True)
        assert dry["dry_run"] is True and dry["counts"] == expected, dry
        assert get_task(api, gone[0])["status"] == "COMPLETED"  # a dry run deletes nothing
        assert not archive.exists()

        done = cleanup(api)
        assert done["dry_run"] is False and done["counts"] == expected, done
        for task_id in gone:
            assert api.get(f"/aitp/tasks/{task_id}").status_code == 404
        assert count_where(url, events, events.c.task_id.in_(gone)) == 0
        assert count_where(url, task_attempts, task_attempts.c.task_id.in_(gone)) == 0
        for kept in (needed, recent, pending, dependent, keyed.json()):
            assert api.get(f"/aitp/tasks/{kept['task_id']}").status_code == 200
        assert get_task(api, needed["task_id"])["history"]  # its history stays with it
        [unexplained] = api.get(f"/aitp/tasks/{needed['task_id']}/routing").json()["routings"]
        assert unexplained["attempt_id"] == routed["attempt_id"], unexplained
        assert unexplained["routing_id"] is None and unexplained["candidates"] == []
        rd = routing_decisions.c
        gone_routings = [f"rte_{uid}", routed["routing_id"]]
        assert count_where(url, routing_decisions, rd.routing_id.in_(gone_routings)) == 0
        assert (
            count_where(url, routing_decisions, rd.routing_id == recent_routed["routing_id"]) == 1
        )
        assert cleanup(api, dry_run=True)["counts"] == dict.fromkeys(KINDS, 0)

        lines = [
            json.loads(x) for x in Path(done["archive_files"]["tasks"]).read_text().splitlines()
        ]
        assert sorted(t["task_id"] for t in lines) == sorted(gone)
        first = next(t for t in lines if t["task_id"] == old[0]["task_id"])
        assert first["status"] == "COMPLETED" and first["result_data"] == {"i": 0}
        assert [e["event_type"] for e in first["events"]][-1] == "task.completed"
        assert len(first["attempts"]) == 1
        assert set(done["archive_files"]) == {k for k, n in expected.items() if n}
        [delivery] = [json.loads(x) for x in Path(done["archive_files"]["webhook_deliveries"])
                      .read_text().splitlines()]  # fmt: skip
        assert delivery["delivery_id"] == f"msg_{uid}" and len(delivery["attempts"]) == 1

        audited = api.get("/ains/audit", params={"action": "admin.cleanup"}).json()["items"]
        assert [a["detail"]["dry_run"] for a in audited[:3]] == [True, False, True]


def _hour(moment: datetime) -> str:
    return moment.replace(minute=0, second=0, microsecond=0).isoformat()


def test_analytics_of_a_pruned_period_are_unchanged(
    archived: tuple[ServerProcess, Path], uid: str
) -> None:
    server, _ = archived
    cap = f"stats-{uid}:v1"
    with server.client() as api:
        done = finish(api, cap, 4, task_type=f"type-{uid}")
        age_tasks(server.database_url, [t["task_id"] for t in done])
        window = {
            "start": _hour(LONG_AGO - timedelta(days=1)),
            "end": _hour(LONG_AGO + timedelta(days=1)),
        }

        def figures() -> dict[str, Any]:
            summary = api.get("/aitp/analytics/summary", params=window).json()
            # percentiles rank the execution times of the tasks still held (see docs)
            summary.pop("p50_execution_time_ms")
            summary.pop("p95_execution_time_ms")
            agents = api.get("/aitp/analytics/agents", params=window).json()
            types = api.get("/aitp/analytics/tasks", params=window).json()
            return {"summary": summary, "agents": agents, "types": types}

        before = figures()
        assert before["summary"]["total_tasks"] == 4 and before["summary"]["completed"] == 4
        assert before["summary"]["total_cost"] == pytest.approx(0.5 + 1.5 + 2.5 + 3.5)
        assert cleanup(api)["counts"]["tasks"] == 4
        assert all(api.get(f"/aitp/tasks/{t['task_id']}").status_code == 404 for t in done)
        assert figures() == before


def test_cleanup_validates_its_body_and_a_zero_override_keeps_everything(
    api: httpx.Client, uid: str
) -> None:
    r = api.post("/ains/admin/cleanup", json={"older_than_days": -1})
    assert r.status_code == 422 and "older_than_days" in r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    r = api.post("/ains/admin/cleanup", json={"dry_run": "perhaps"})
    assert r.status_code == 422 and "dry_run" in r.text
    kept = cleanup(api, older_than_days=0)
    assert kept["counts"]["tasks"] == 0 and kept["cutoffs"]["tasks"] is None


def test_background_loop_prunes_by_itself(backend: str, tmp_path: Path, uid: str) -> None:
    with (
        running_server(backend, tmp_path, AINS_RETENTION_INTERVAL_SECONDS="1") as server,
        server.client() as api,
    ):
        [task] = finish(api, f"loop-{uid}:v1", 1)
        age_tasks(server.database_url, [task["task_id"]])
        wait_for(
            lambda: api.get(f"/aitp/tasks/{task['task_id']}").status_code == 404,
            timeout=15,
            message="the retention loop pruned the old task",
        )


def test_cli_admin_cleanup_dry_run_then_prune(backend: str, tmp_path: Path, uid: str) -> None:
    with (
        running_server(backend, tmp_path, AINS_RETENTION_INTERVAL_SECONDS="0") as server,
        server.client() as api,
    ):
        tasks = finish(api, f"cli-{uid}:v1", 2)
        age_tasks(server.database_url, [t["task_id"] for t in tasks])

        def cli(*args: str) -> dict[str, Any]:
            env = {**os.environ, "AINS_DATABASE_URL": server.database_url}
            out = subprocess.run(
                    [sys.executable, "-m", "ains.cli", "admin", "cleanup", *args],
                    cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=True,
                )  # fmt: skip
            return dict(json.loads(out.stdout))

        assert cli("--dry-run")["counts"]["tasks"] == 2
        assert api.get(f"/aitp/tasks/{tasks[0]['task_id']}").status_code == 200
        assert cli()["counts"]["tasks"] == 2
        assert api.get(f"/aitp/tasks/{tasks[0]['task_id']}").status_code == 404
        audited = api.get("/ains/audit", params={"action": "admin.cleanup"}).json()["items"]
        assert [a["principal_id"] for a in audited] == ["cli", "cli"]
