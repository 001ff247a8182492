"""Seed 002's curl examples, run verbatim (they target http://localhost:8000) against a server
started on port 8000. The follow-up examples name `sched-abc12345`, so that schedule is created
first with a client-chosen schedule_id."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.server import ROOT, ServerProcess, drop_pg_database, migrated_database_url
from tests.support.services import unavailable

pytestmark = pytest.mark.serial  # binds port 8000, as the seeds' curls do

# The planning seeds live in `shared/seeds/` beside the project checkout (SPEC.md's `seeds/`).
SEEDS = ROOT.parent / "shared" / "seeds"
SEED = SEEDS / "002_325fe91f8d4ddd97.txt"
CREATE = """curl -X POST http://localhost:8000/aitp/tasks/schedule \\
  -H "Content-Type: application/json" \\
  -d '{
    "client_id": "agent-1",
    "task_type": "daily-report",
    "capability_required": "report-v1",
    "input_data": {"report_type": "sales"},
    "priority": 7,
    "cron_expression": "0 9 * * *",
    "description": "Daily sales report at 9 AM"
  }'"""
LIST = 'curl "http://localhost:8000/aitp/tasks/schedule?status=ACTIVE"'
HISTORY = 'curl "http://localhost:8000/aitp/tasks/schedule/sched-abc12345/executions"'
EXECUTE = "curl -X POST http://localhost:8000/aitp/tasks/schedule/sched-abc12345/execute"
PAUSE = "curl -X POST http://localhost:8000/aitp/tasks/schedule/sched-abc12345/pause"


@pytest.fixture
def port_8000(backend: str, tmp_dir: Path) -> Iterator[ServerProcess]:
    url = migrated_database_url(backend, tmp_dir)
    server = ServerProcess(url, port=8000, host="localhost").start()
    try:
        yield server
    finally:
        server.stop()
        if backend == "postgresql":
            drop_pg_database(url)


def curl(command: str) -> dict[str, object]:
    out = subprocess.run(
        ["bash", "-c", command + " -s"], capture_output=True, text=True, check=True, timeout=30
    )
    return dict(json.loads(out.stdout))


def test_examples_are_the_seeds_text() -> None:
    if not SEED.exists():
        unavailable(f"seed 002 not found at {SEED} (the seeds belong in ../shared/seeds)")
    text = SEED.read_text()
    for example in (CREATE, LIST, HISTORY, EXECUTE, PAUSE):
        assert example in text


def test_every_seed_002_example_works(port_8000: ServerProcess) -> None:
    created = curl(CREATE)
    assert created["status"] == "ACTIVE"
    assert created["cron_expression"] == "0 9 * * *"
    assert str(created["next_run_at"]).endswith("T09:00:00Z")
    assert str(created["schedule_id"]).startswith("sched")

    body = {
        "schedule_id": "sched-abc12345",
        "client_id": "agent-1",
        "task_type": "daily-report",
        "capability_required": "report-v1",
        "input_data": {"report_type": "sales"},
        "priority": 7,
        "cron_expression": "0 9 * * *",
    }
    assert httpx.post(f"{port_8000.url}/aitp/tasks/schedule", json=body).status_code == 201

    listed = curl(LIST)
    assert {s["schedule_id"] for s in listed["items"]} == {  # type: ignore[attr-defined]
        created["schedule_id"],
        "sched-abc12345",
    }
    assert curl(HISTORY)["items"] == []
    run = curl(EXECUTE)
    assert run["trigger"] == "manual" and run["status"] == "PENDING" and run["task_id"]
    history = curl(HISTORY)["items"]
    assert [e["task_id"] for e in history] == [run["task_id"]]  # type: ignore[attr-defined]
    assert curl(PAUSE)["status"] == "PAUSED"
    assert [s["schedule_id"] for s in curl(LIST)["items"]] == [  # type: ignore[attr-defined]
        created["schedule_id"]
    ]
