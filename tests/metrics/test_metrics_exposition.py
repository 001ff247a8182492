"""render_metrics: state at scrape time, single- and multi-process."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from ains.metrics.exposition import (
    CONTENT_TYPE,
    mark_process_dead,
    prepare_multiprocess_dir,
    render_metrics,
)
from ains.metrics.registry import MULTIPROC_ENV
from ains.metrics.state import StateCollector, StateSnapshot, trust_bucket

REPO = Path(__file__).resolve().parents[2]
SNAPSHOT = StateSnapshot(
    queue_depth_by_priority={10: 4, 5: 2},
    queue_depth_by_capability={"translation:v1": 6},
    oldest_wait_seconds=12.5,
    agents_online=2,
    agents_by_status={"ACTIVE": 2, "OFFLINE": 1},
    trust_scores={"agent-a": 0.95, "agent-b": 0.31, "agent-c": 1.0},
    tasks_by_status={"PENDING": 6, "COMPLETED": 40},
)


def samples(body: bytes) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    parsed: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for family in text_string_to_metric_families(body.decode()):
        for sample in family.samples:
            key = (sample.name, tuple(sorted(sample.labels.items())))
            assert key not in parsed, f"duplicate series {key}"
            parsed[key] = sample.value
    return parsed


def test_render_includes_state_collector_values() -> None:
    body, content_type = render_metrics(StateCollector(lambda: SNAPSHOT))
    assert content_type == CONTENT_TYPE
    values = samples(body)
    assert values[("ains_queue_depth", (("priority", "10"),))] == 4
    assert values[("ains_queue_depth", (("priority", "1"),))] == 0
    assert values[("ains_queue_depth_by_capability", (("capability", "translation:v1"),))] == 6
    assert values[("ains_queue_oldest_wait_seconds", ())] == 12.5
    assert values[("ains_agents_online", ())] == 2
    assert values[("ains_agents_total", (("status", "OFFLINE"),))] == 1
    assert values[("ains_agent_trust_score", (("agent_id", "agent-b"),))] == 0.31
    assert values[("ains_agents_by_trust", (("bucket", "0.9-1.0"),))] == 2
    assert values[("ains_agents_by_trust", (("bucket", "0.3-0.4"),))] == 1
    assert values[("ains_agents_by_trust", (("bucket", "0.0-0.1"),))] == 0
    assert values[("ains_tasks_in_state", (("status", "COMPLETED"),))] == 40
    assert values[("ains_tasks_in_state", (("status", "RUNNING"),))] == 0
    assert values[("ains_state_snapshot_ok", ())] == 1
    # Counters defined in the registry are there too, once each (`samples` checks duplicates).
    assert ("ains_agent_heartbeats_total", ()) in values


def test_render_calls_the_snapshot_once_per_scrape() -> None:
    calls = 0

    def snapshot() -> StateSnapshot:
        nonlocal calls
        calls += 1
        return SNAPSHOT

    collector = StateCollector(snapshot)
    render_metrics(collector)
    render_metrics(collector)
    assert calls == 2


def test_failing_snapshot_keeps_the_scrape_alive(caplog: pytest.LogCaptureFixture) -> None:
    def snapshot() -> StateSnapshot:
        raise RuntimeError("database down")

    values = samples(render_metrics(StateCollector(snapshot))[0])
    assert values[("ains_state_snapshot_ok", ())] == 0
    assert not any(name == "ains_queue_depth" for name, _ in values)
    assert "snapshot failed" in caplog.text


@pytest.mark.parametrize(
    ("score", "bucket"),
    [(0.0, "0.0-0.1"), (0.1, "0.1-0.2"), (0.3, "0.3-0.4"), (0.7, "0.7-0.8"), (0.99, "0.9-1.0"),
     (1.0, "0.9-1.0"), (-0.2, "0.0-0.1"), (1.5, "0.9-1.0")],
)  # fmt: skip
def test_trust_bucket_edges(score: float, bucket: str) -> None:
    assert trust_bucket(score) == bucket


def test_describe_does_not_take_a_snapshot() -> None:
    def snapshot() -> StateSnapshot:
        raise AssertionError("describe must not read the database")

    names = {family.name for family in StateCollector(snapshot).describe()}
    assert {"ains_queue_depth", "ains_agents_by_trust", "ains_tasks_in_state"} <= names


WORKER = textwrap.dedent(
    """
    import os, sys
    # Import prometheus_client before the variable is set, as a CLI might: registry.py must
    # still choose file-backed values.
    import prometheus_client
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = sys.argv[1]
    from ains.metrics import registry
    registry.tasks_created_total.labels(capability="echo:v1").inc(3)
    registry.dispatch_latency_seconds.observe(0.002)
    registry.agent_heartbeats_total.inc()
    print(os.getpid())
    """
)


def test_multiprocess_workers_are_aggregated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = tmp_path / "prom"
    prepare_multiprocess_dir(directory)
    env = {k: v for k, v in os.environ.items() if k != MULTIPROC_ENV}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    pids = []
    for _ in range(2):
        done = subprocess.run(
            [sys.executable, "-c", WORKER, str(directory)],
            env=env,
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )
        pids.append(int(done.stdout.strip()))
    assert len(list(directory.glob("*.db"))) >= 2

    monkeypatch.setenv(MULTIPROC_ENV, str(directory))
    values = samples(render_metrics(StateCollector(lambda: SNAPSHOT))[0])
    assert values[("ains_tasks_created_total", (("capability", "echo:v1"),))] == 6
    assert values[("ains_agent_heartbeats_total", ())] == 2
    assert values[("ains_dispatch_latency_seconds_count", ())] == 2
    assert values[("ains_dispatch_latency_seconds_bucket", (("le", "0.002"),))] == 2
    assert values[("ains_queue_depth", (("priority", "10"),))] == 4
    # The parent's own in-process registry is not mixed in (no process_* / python_* series).
    assert not any(name.startswith("process_") for name, _ in values)

    for pid in pids:
        mark_process_dead(pid)  # counters survive their process
    values = samples(render_metrics()[0])
    assert values[("ains_tasks_created_total", (("capability", "echo:v1"),))] == 6


def test_prepare_multiprocess_dir_creates_and_cleans(tmp_path: Path) -> None:
    directory = tmp_path / "a" / "b"
    prepare_multiprocess_dir(directory)
    assert directory.is_dir()
    (directory / "counter_123.db").write_bytes(b"stale")
    (directory / "keep.txt").write_text("not ours")
    prepare_multiprocess_dir(directory)
    assert not (directory / "counter_123.db").exists()
    assert (directory / "keep.txt").exists()
