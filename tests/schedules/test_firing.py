"""Firing across restarts and replicas: the missed-run policies after downtime, and two server
processes on one PostgreSQL firing an every-second schedule with no duplicate and no gap."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.server import ServerProcess, drop_pg_database, migrated_database_url, wait_for

BASE = "/aitp/tasks/schedule"
GRACE = {"AINS_SCHEDULE_MISFIRE_GRACE_SECONDS": "1"}


@pytest.fixture
def database_url(backend: str, tmp_dir: Path) -> Iterator[str]:
    url = migrated_database_url(backend, tmp_dir)
    yield url
    if backend == "postgresql":
        drop_pg_database(url)


def executions(url: str, sid: str) -> list[dict[str, Any]]:
    r = httpx.get(f"{url}{BASE}/{sid}/executions", params={"limit": 500})
    assert r.status_code == 200, r.text
    return list(r.json()["items"])


def ts(value: str) -> datetime:
    return datetime.fromisoformat(value)


def test_missed_runs_after_a_restart_follow_each_policy(database_url: str) -> None:
    server = ServerProcess(database_url, env=GRACE).start()
    ids = {}
    for policy in ("skip", "run_once"):
        body = {
            "task_type": "tick",
            "capability_required": f"nobody-{policy}",
            "interval_seconds": 2,
            "missed_run_policy": policy,
        }
        r = httpx.post(f"{server.url}{BASE}", json=body)
        assert r.status_code == 201, r.text
        ids[policy] = r.json()["schedule_id"]
    for sid in ids.values():
        wait_for(lambda s=sid: executions(server.url, s), timeout=5, message="a first run")
    server.stop()
    stopped = datetime.now(UTC)
    time.sleep(6)  # at least two due times pass while no server runs
    server = ServerProcess(database_url, env=GRACE).start()
    restarted = datetime.now(UTC)
    try:
        time.sleep(3)
        for policy, sid in ids.items():
            runs = executions(server.url, sid)
            catchup = [e for e in runs if e["trigger"] == "catchup"]
            late = [
                e for e in runs if ts(e["executed_at"]) - ts(e["due_at"]) > timedelta(seconds=1)
            ]
            quiet = restarted - timedelta(seconds=1.5)
            in_downtime = [e for e in runs if stopped < ts(e["due_at"]) < quiet]
            if policy == "skip":
                assert catchup == [] and in_downtime == [] and late == []
            else:  # one catch-up run, for the latest missed due time
                assert len(catchup) == 1, runs
                assert stopped < ts(catchup[0]["due_at"]) < restarted
                assert [e for e in late if e["trigger"] != "catchup"] == []
            after = [e for e in runs if ts(e["due_at"]) > restarted]
            assert after, f"{policy}: the schedule continues after the restart"
            dues = [e["due_at"] for e in runs]
            assert len(dues) == len(set(dues))
    finally:
        server.stop()


@pytest.mark.pg_only  # replicas share PostgreSQL; SQLite serves one process
def test_two_replicas_fire_every_second_once_with_no_gap(backend: str, database_url: str) -> None:
    first = ServerProcess(database_url).start()
    second = ServerProcess(database_url).start()
    try:
        body = {"task_type": "tick", "capability_required": "nobody", "interval_seconds": 1}
        r = httpx.post(f"{first.url}{BASE}", json=body)
        assert r.status_code == 201, r.text
        sid = r.json()["schedule_id"]
        start = datetime.now(UTC)
        time.sleep(20)
        httpx.post(f"{second.url}{BASE}/{sid}/pause")
        end = datetime.now(UTC)
        runs = executions(second.url, sid)
        dues = sorted(ts(e["due_at"]) for e in runs)
        assert len(dues) == len(set(dues)), "a due time fired twice"
        assert len({e["task_id"] for e in runs}) == len(runs)
        steps = {b - a for a, b in itertools.pairwise(dues)}
        assert steps == {timedelta(seconds=1)}, f"gap in {dues}"
        assert dues[0] <= start + timedelta(seconds=1.5)
        assert dues[-1] >= end - timedelta(seconds=1.5)
        assert len(dues) >= 19
        lags = [ts(e["executed_at"]) - ts(e["due_at"]) for e in runs]
        assert max(lags) < timedelta(seconds=1)
        tasks = httpx.get(f"{first.url}/aitp/tasks", params={"capability": "nobody", "limit": 500})
        assert len(tasks.json()["items"]) == len(runs)
    finally:
        first.stop()
        second.stop()
