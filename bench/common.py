"""What every bench shares: result rows, the summary table, the machine, percentiles, clean exits.

Each bench module's `main()` prints its own detail and, with `--results FILE`, writes its figures
as `Result` rows so that `bench.run` can gather them into one table (and JSON)."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from tests.support.server import ServerProcess, _pg_execute, drop_pg_database, pg_database_url


@dataclass(frozen=True)
class Result:
    bench: str
    backend: str
    metric: str
    value: float
    unit: str
    note: str = ""


def pct(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile, q in [0, 1]; NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


def fmt(value: float) -> str:
    if value != value:  # NaN
        return "-"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:,.2f}" if abs(value) < 10 else f"{value:,.1f}"


def table(results: Iterable[Result]) -> str:
    head = ["bench", "backend", "metric", "value", "unit", "note"]
    rows = [[r.bench, r.backend, r.metric, fmt(r.value), r.unit, r.note] for r in results]
    widths = [max(len(row[i]) for row in [head, *rows]) for i in range(len(head))]
    lines = []
    for row in [head, ["-" * w for w in widths], *rows]:
        cells = [
            cell.rjust(w) if i == 3 else cell.ljust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def machine() -> dict[str, Any]:
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram_gib = float("nan")
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                ram_gib = int(line.split()[1]) / 1024 / 1024
    except OSError:
        pass
    return {
        "cores": os.cpu_count() or 1,
        "cpu": model,
        "ram_gib": round(ram_gib, 1),
        "python": platform.python_version(),
        "os": platform.platform(),
    }


def machine_line() -> str:
    m = machine()
    return f"machine: {m['cores']} cores, {m['cpu']}, {m['ram_gib']} GiB RAM, Python {m['python']}"


def add_results_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--results", type=Path, help="also write the figures here as JSON rows")


def emit(results: Sequence[Result], path: Path | None) -> None:
    if path is not None:
        path.write_text(json.dumps([asdict(r) for r in results], indent=1))


def load(path: Path) -> list[Result]:
    return [Result(**row) for row in json.loads(path.read_text())]


def exit_cleanly_on_sigterm() -> None:
    """SIGTERM (bench.run's time limit) unwinds like Ctrl-C, so `finally` blocks stop the servers
    and agents this bench started and drop its databases."""

    def stop(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, stop)


def create_bench_database() -> str:
    """A fresh PostgreSQL database named ains_bench_* (dropped by the caller)."""
    name = f"ains_bench_{uuid.uuid4().hex[:10]}"
    _pg_execute(f'CREATE DATABASE "{name}"')
    return pg_database_url(name)


def bench_database_url(backend: str, tmp_dir: Path) -> str:
    if backend == "postgresql":
        return create_bench_database()
    return f"sqlite:///{tmp_dir / f'bench-{uuid.uuid4().hex[:8]}.db'}"


def stop_process(proc: subprocess.Popen[Any] | None, timeout: float = 15) -> None:
    """SIGTERM, then SIGKILL after `timeout`: nothing this bench starts outlives it."""
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def python() -> str:
    return sys.executable


def server_workers(backend: str, requested: int | None = None) -> int:
    """Server processes: one on SQLite (its limit), the cores on PostgreSQL unless told."""
    if backend != "postgresql":
        return 1
    return requested or os.cpu_count() or 1


@contextlib.contextmanager
def ains_server(backend: str, workers: int | None = None, **env: str) -> Iterator[ServerProcess]:
    """A fresh `ains serve` on a fresh database (127.0.0.1, free port); stopped and its
    database dropped on the way out, whatever happened."""
    with tempfile.TemporaryDirectory(prefix="ains-bench-") as tmp:
        url = bench_database_url(backend, Path(tmp))
        server = ServerProcess(
            url,
            env={
                "AINS_LOG_LEVEL": "warning",
                "AINS_WORKERS": str(server_workers(backend, workers)),
                **env,
            },
        )
        try:
            server.start()
            yield server
        finally:
            server.stop()
            if backend == "postgresql":
                drop_pg_database(url)
