"""The whole benchmark harness: every bench in turn, then one summary table (and JSON).

    python -m bench.run                      # quick: small counts, a few minutes
    python -m bench.run --full               # the counts the README's figures come from
    python -m bench.run --only throughput,dispatch --backends sqlite --json out.json

Each bench runs as its own process group (`python -m bench.<name> … --results FILE`) under a
time limit: at the limit it gets SIGTERM (it stops its servers and agents and drops its
databases), then whatever is left of its group is killed. A bench that fails or times out is
reported as such and the others still run. `compare` (AINS beside Celery and PgQueuer) runs only
when the `[bench]` extra is installed.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from bench.common import Result, load, machine, machine_line, table

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Bench:
    name: str
    argv: Callable[[list[str], bool], list[list[str]]]  # (backends, full) → one argv per run
    quick_limit: float  # seconds
    full_limit: float


def _joined(flag: str, quick: list[str]) -> Callable[[list[str], bool], list[list[str]]]:
    """Benches taking every backend at once as `flag a,b`."""
    return lambda backends, full: [[flag, ",".join(backends), *([] if full else quick)]]


def _each(
    quick: list[str], full_extra: list[str] | None = None
) -> Callable[[list[str], bool], list[list[str]]]:
    """Benches taking one `--backend` per run."""
    return lambda backends, full: [
        ["--backend", b, *((full_extra or []) if full else quick)] for b in backends
    ]


def _retention_argv(backends: list[str], full: bool) -> list[list[str]]:
    def size(backend: str) -> list[str]:
        if not full:
            return ["--tasks", "20000", "--seconds", "5"]
        return ["--tasks", "1000000" if backend == "postgresql" else "200000"]

    return [["--backends", b, *size(b)] for b in backends]


BENCHES = [
    Bench(
        "throughput",
        lambda backends, full: [
            ["--backend", "both" if len(backends) == 2 else backends[0]]
            + ([] if full else ["--seconds", "5", "--tasks", "2000", "--routing-samples", "100"])
        ],
        900,
        2400,
    ),
    Bench("batch", _joined("--backends", ["--tasks", "2000"]), 600, 1200),
    Bench("dispatch", _joined("--backends", ["--seconds", "5"]), 600, 1200),
    Bench("backlog", _joined("--backends", ["--pending", "5000", "--seconds", "3"]), 900, 3600),
    Bench(
        "writes",  # PostgreSQL only
        lambda backends, full: (
            [[] if full else ["--tasks", "1000"]] if "postgresql" in backends else []
        ),
        600,
        1200,
    ),
    Bench(
        "timeouts",
        lambda backends, full: [["--backend", *backends, *([] if full else ["--tasks", "100"])]],
        600,
        1200,
    ),
    Bench("webhooks", _each(["--events", "50"]), 600, 1200),
    Bench("streams", _joined("--backends", ["--tasks", "50"]), 600, 1200),
    Bench("ratelimit", _joined("--backends", ["--requests", "100"]), 600, 1200),
    Bench("key_cache", _joined("--backends", ["--tasks", "100"]), 600, 1200),
    Bench("scheduler", _each(["--schedules", "5", "--seconds", "5"]), 600, 1200),
    # submit latency while a prune deletes old tasks: 1M of them on PostgreSQL
    Bench("retention", _retention_argv, 900, 5400),
    Bench("analytics", _joined("--backends", ["--tasks", "20000", "--repeat", "1"]), 900, 5400),
    Bench("compare", _joined("--backends", ["--tasks", "2000", "--seconds", "5"]), 1200, 3600),
]


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


def run_one(name: str, argv: list[str], limit: float) -> tuple[list[Result], str | None]:
    """Run `python -m bench.<name> argv`; (its figures, None) or (what it got, why it failed)."""
    with tempfile.TemporaryDirectory(prefix="ains-bench-run-") as tmp:
        out = Path(tmp) / "results.json"
        cmd = [sys.executable, "-m", f"bench.{name}", *argv, "--results", str(out)]
        print(f"\n=== python {' '.join(cmd[1:-2])}", flush=True)
        started = time.monotonic()
        proc = subprocess.Popen(cmd, cwd=ROOT, start_new_session=True)
        error = None
        try:
            proc.wait(timeout=limit)
        except subprocess.TimeoutExpired:
            error = f"timed out after {limit:.0f} s"
            proc.send_signal(signal.SIGTERM)  # unwinds: its servers stop, its databases go
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        except KeyboardInterrupt:
            proc.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=60)
            raise
        finally:
            _kill_group(proc)  # anything it left behind
        if error is None and proc.returncode != 0:
            error = f"exit status {proc.returncode}"
        print(f"=== {name}: {time.monotonic() - started:.0f} s", flush=True)
        return (load(out) if out.exists() else []), error


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--full", action="store_true", help="full counts (long)")
    parser.add_argument("--backends", default="sqlite,postgresql")
    names = [b.name for b in BENCHES]
    parser.add_argument("--only", help=f"comma-separated subset of: {', '.join(names)}")
    parser.add_argument("--skip", default="", help="comma-separated benches to leave out")
    parser.add_argument("--json", type=Path, help="write machine, figures and failures here")
    parser.add_argument(
        "--time-limit", type=float, help="seconds allowed per bench run (default: its own)"
    )
    args = parser.parse_args()
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    chosen = set(args.only.split(",")) if args.only else set(names)
    chosen -= set(args.skip.split(","))
    unknown = chosen - set(names)
    if unknown:
        parser.error(f"unknown bench(es): {', '.join(sorted(unknown))}")
    if "compare" in chosen and not all(
        importlib.util.find_spec(m) for m in ("celery", "pgqueuer", "redis")
    ):
        print("compare skipped: install the [bench] extra (pip install -e '.[bench]')")
        chosen.discard("compare")

    print(machine_line(), flush=True)
    started = datetime.now(UTC)
    results: list[Result] = []
    failures: list[dict[str, str]] = []
    for bench in BENCHES:
        if bench.name not in chosen:
            continue
        limit = args.time_limit or (bench.full_limit if args.full else bench.quick_limit)
        for argv in bench.argv(backends, args.full):
            got, error = run_one(bench.name, argv, limit)
            results += got
            if error:
                failures.append({"bench": bench.name, "argv": " ".join(argv), "error": error})

    print(f"\n{machine_line()}\nrun {'full' if args.full else 'quick'}, started {started:%F %T}Z")
    print(table(results))
    for f in failures:
        print(f"FAILED {f['bench']} {f['argv']}: {f['error']}")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "machine": machine(),
                    "started": started.isoformat(),
                    "mode": "full" if args.full else "quick",
                    "results": [asdict(r) for r in results],
                    "failures": failures,
                },
                indent=1,
            )
        )
        print(f"wrote {args.json}")
    if failures:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
