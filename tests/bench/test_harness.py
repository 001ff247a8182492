"""`make bench` runs `python -m bench.run`: the harness must exist, run a bench against a real
server, print one summary table, write JSON, and leave no server behind."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

from tests.support.server import ROOT


def _listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def test_bench_run_prints_one_summary_writes_json_and_stops_its_server(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    logs = tmp_path / "logs"
    run = subprocess.run(
        [sys.executable, "-m", "bench.run", "--only", "scheduler", "--backends", "sqlite",
         "--json", str(out), "--time-limit", "100"],
        cwd=ROOT,
        env={**os.environ, "AINS_TEST_LOG_DIR": str(logs)},
        capture_output=True,
        text=True,
        timeout=110,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    summary = run.stdout.rsplit("run quick", 1)[1]
    assert "scheduler  sqlite   firing lag p50" in summary, run.stdout[-3000:]
    assert "FAILED" not in run.stdout

    report = json.loads(out.read_text())
    assert report["machine"]["cores"] == os.cpu_count()
    assert report["failures"] == []
    lags = {r["metric"]: r for r in report["results"] if r["bench"] == "scheduler"}
    assert set(lags) == {"firing lag p50", "firing lag p99"}
    assert all(r["unit"] == "ms" and 0 <= r["value"] < 60_000 for r in lags.values())

    ports = [int(p.name.split("-")[1]) for p in logs.glob("server-*.log")]
    assert ports, "the bench started no server"
    assert not [p for p in ports if _listening(p)], "a bench server outlived the run"
