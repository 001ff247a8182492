"""Real-time stream benchmark: change → subscriber latency (p50/p95) for SSE and WebSocket.

    .venv/bin/python bench/streams.py [--tasks 300] [--pace 0.005] [--backends sqlite,postgresql]

For each backend it starts a real server (SQLite in a temp dir; PostgreSQL in a fresh database
on AINS_TEST_PG_URL, skipped when unreachable), attaches one SSE subscriber (`GET /aitp/events`)
and one WebSocket subscriber (`/ws/tasks`), both filtered to the benchmark's task type and to
`task.created,task.cancelled`, then submits `--tasks` tasks and cancels each one (2 changes per
task, one every `--pace` seconds). Every message is timestamped on arrival (one thread per
subscriber, all on this host's clock). Two latencies per message:

- event → received: arrival minus the event's `timestamp` (the server's time of the change, taken
  inside its transaction, so this includes the commit);
- response → received: arrival minus the moment the HTTP request that caused the change
  returned to the client (what a caller sees; negative when the push beats the response).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
from websockets.sync.client import connect

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import (
    Result,
    add_results_flag,
    create_bench_database,
    emit,
    exit_cleanly_on_sigterm,
)
from tests.support.server import ServerProcess, drop_pg_database, postgres_available

TYPES = "task.created,task.cancelled"


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def event_time(message: dict[str, Any]) -> float:
    return datetime.fromisoformat(str(message["timestamp"]).replace("Z", "+00:00")).timestamp()


@dataclass
class Subscriber:
    """One stream's arrivals: (event type, task id) → (arrival time, event time)."""

    name: str
    arrivals: dict[tuple[str, str], tuple[float, float]] = field(default_factory=dict)
    attached: threading.Event = field(default_factory=threading.Event)
    stop: threading.Event = field(default_factory=threading.Event)
    error: str | None = None

    def record(self, message: dict[str, Any]) -> None:
        now = time.time()
        if message.get("type") == "queue.stats":
            self.attached.set()
            return
        key = (str(message["type"]), str(message["task_id"]))
        self.arrivals.setdefault(key, (now, event_time(message)))


def follow_sse(server: ServerProcess, params: dict[str, str], sub: Subscriber) -> None:
    try:
        with (
            httpx.Client(base_url=server.url, timeout=httpx.Timeout(10, read=None)) as client,
            client.stream("GET", "/aitp/events", params=params) as response,
        ):
            data: list[str] = []
            for line in response.iter_lines():
                if sub.stop.is_set():
                    return
                if line.startswith("data:"):
                    data.append(line[5:].removeprefix(" "))
                elif line == "" and data:
                    sub.record(json.loads("\n".join(data)))
                    data = []
    except Exception as exc:  # reported in the table
        if not sub.stop.is_set():
            sub.error = repr(exc)
            sub.attached.set()


def follow_ws(server: ServerProcess, params: dict[str, str], sub: Subscriber) -> None:
    url = f"ws://127.0.0.1:{server.port}/ws/tasks?{urlencode(params)}"
    try:
        with connect(url, open_timeout=10) as ws:
            while not sub.stop.is_set():
                try:
                    raw = ws.recv(timeout=0.5)
                except TimeoutError:
                    continue
                sub.record(json.loads(raw))
    except Exception as exc:
        if not sub.stop.is_set():
            sub.error = repr(exc)
            sub.attached.set()


def drive(server: ServerProcess, task_type: str, tasks: int, pace: float) -> dict[str, float]:
    """Submit and cancel `tasks` tasks; return (event key → time its request returned)."""
    returned: dict[str, float] = {}
    with server.client() as api:
        for i in range(tasks):
            body = {
                "client_id": "bench-streams",
                "task_type": task_type,
                "capability_required": "bench-streams:v1",  # no agent: it stays PENDING
                "input_data": {"i": i},
            }
            r = api.post("/aitp/tasks", json=body)
            returned[f"task.created/{r.json()['task_id']}"] = time.time()
            assert r.status_code == 201, r.text
            time.sleep(pace)
            task_id = r.json()["task_id"]
            r = api.delete(f"/aitp/tasks/{task_id}", params={"reason": "bench"})
            returned[f"task.cancelled/{task_id}"] = time.time()
            assert r.status_code == 200, r.text
            time.sleep(pace)
    return returned


def run_backend(backend: str, args: argparse.Namespace) -> list[list[str]]:
    url = (
        create_bench_database()
        if backend == "postgresql"
        else f"sqlite:///{tempfile.mkdtemp()}/bench.db"
    )
    server = ServerProcess(url)
    task_type = f"bench-streams-{uuid.uuid4().hex[:8]}"
    params = {"task_type": task_type, "types": TYPES}
    subs = [Subscriber("SSE"), Subscriber("WebSocket")]
    threads = [
        threading.Thread(target=follow_sse, args=(server, params, subs[0]), daemon=True),
        threading.Thread(target=follow_ws, args=(server, params, subs[1]), daemon=True),
    ]
    rows: list[list[str]] = []
    try:
        server.start()
        for t in threads:
            t.start()
        for sub in subs:
            if not sub.attached.wait(15) or sub.error:
                raise RuntimeError(f"{sub.name} did not attach: {sub.error}")
        returned = drive(server, task_type, args.tasks, args.pace)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and any(len(s.arrivals) < len(returned) for s in subs):
            time.sleep(0.05)
        for sub in subs:
            sub.stop.set()
            to_event = [(got - at) * 1000 for got, at in sub.arrivals.values()]
            to_response = [
                (got - returned[f"{kind}/{task_id}"]) * 1000
                for (kind, task_id), (got, _at) in sub.arrivals.items()
                if f"{kind}/{task_id}" in returned
            ]
            if not to_event:
                rows.append([backend, sub.name, f"0/{len(returned)}"] + ["-"] * 5)
                continue
            rows.append(
                [
                    backend,
                    sub.name,
                    f"{len(sub.arrivals)}/{len(returned)}",
                    f"{pct(to_event, 0.5):.1f}",
                    f"{pct(to_event, 0.95):.1f}",
                    f"{max(to_event):.1f}",
                    f"{pct(to_response, 0.5):.1f}",
                    f"{pct(to_response, 0.95):.1f}",
                ]
            )
            mean = statistics.mean(to_event)
            print(f"  {backend:<10} {sub.name:<9} mean event→received {mean:.1f} ms", flush=True)
    finally:
        for sub in subs:
            sub.stop.set()
        server.stop()
        if backend == "postgresql":
            drop_pg_database(url)
    return rows


def main() -> None:
    exit_cleanly_on_sigterm()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=300, help="tasks submitted then cancelled")
    parser.add_argument("--pace", type=float, default=0.005, help="seconds between changes")
    parser.add_argument("--backends", default="sqlite,postgresql")
    add_results_flag(parser)
    args = parser.parse_args()
    rows: list[list[str]] = []
    for backend in [b.strip() for b in args.backends.split(",") if b.strip()]:
        if backend == "postgresql" and (reason := postgres_available()):
            print(f"  skipping PostgreSQL: {reason}")
            continue
        print(f"  {backend}: {args.tasks} submissions + {args.tasks} cancellations ...", flush=True)
        rows += run_backend(backend, args)
    head = [
        "backend",
        "stream",
        "received",
        "event→recv p50 ms",
        "p95 ms",
        "max ms",
        "response→recv p50 ms",
        "p95 ms",
    ]
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    print()
    for row in [head, ["-" * w for w in widths], *rows]:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    results: list[Result] = []
    for row in rows:
        if row[3] == "-":
            continue
        note = f"{row[2]} received"
        results += [
            Result("streams", row[0], f"{row[1]} event→received p50", float(row[3]), "ms", note),
            Result("streams", row[0], f"{row[1]} event→received p95", float(row[4]), "ms", note),
        ]
    emit(results, args.results)


if __name__ == "__main__":
    main()
