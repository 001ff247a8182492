"""Submission and end-to-end throughput, and routing latency, on SQLite and PostgreSQL.

    python -m bench.throughput --backend both --tasks 20000 --agents 2

(a) single-task submissions over HTTP: wrk (C, so the client takes little CPU from the server)
    posting one task per request from 32 connections for a fixed time;
(b) end to end: N tasks submitted in 100-task batches while sample agent processes
    (`ains agent --handler echo`) claim and complete them; time until the last is COMPLETED;
(c) routing latency: queued → assigned to a waiting agent, from the task.assigned events.
Everything runs on this machine: server, agents and load generator share its cores.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import httpx
import sqlalchemy as sa

from ains.db.engine import create_engine
from ains.models import events, tasks
from tests.support.server import (
    AgentProcess,
    ServerProcess,
    drop_pg_database,
    fresh_database_url,
)

LUA = Path(__file__).with_name("submit.lua")


def single_submissions(server: ServerProcess, seconds: int, connections: int) -> float:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed for the submission benchmark: apt-get install -y wrk")
    out = subprocess.run(
        [
            "wrk",
            "-t2",
            f"-c{connections}",
            f"-d{seconds}s",
            "-s",
            str(LUA),
            f"{server.url}/aitp/tasks",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non2xx:
        raise SystemExit(f"submissions failed:\n{out}")
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    assert match, out
    return float(match.group(1))


async def _count(url: str, capability: str) -> int:
    engine = create_engine(url, pool_size=1)
    try:
        async with engine.connect() as conn:
            value = await conn.scalar(
                sa.select(sa.func.count()).where(
                    tasks.c.capability_required == capability, tasks.c.status == "COMPLETED"
                )
            )
            return int(value or 0)
    finally:
        await engine.dispose()


async def _routing_latencies(url: str, capability: str) -> list[float]:
    engine = create_engine(url, pool_size=1)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(
                sa.select(events.c.data).where(events.c.event_type == "task.assigned")
            )
            return [
                float(r.data["wait_ms"])
                for r in rows
                if r.data
                and r.data.get("capability_required") == capability
                and r.data.get("wait_ms") is not None
            ]
    finally:
        await engine.dispose()


def end_to_end(server: ServerProcess, total: int, agents: int, concurrency: int) -> float:
    capability = "e2e:v1"
    procs = [
        AgentProcess(
            server.url,
            [
                "-c",
                capability,
                "--concurrency",
                str(concurrency),
                "--wait-seconds",
                "5",
                "--name",
                f"bench-{i}",
            ],
        ).start()
        for i in range(agents)
    ]
    try:
        time.sleep(3)
        started = time.perf_counter()
        body = [
            {"task_type": "noop", "capability_required": capability, "input_data": {"i": i}}
            for i in range(100)
        ]
        with httpx.Client(base_url=server.url, timeout=60) as client:
            for _ in range(total // 100):
                r = client.post("/aitp/tasks/batch", json={"client_id": "bench", "tasks": body})
                r.raise_for_status()
        while asyncio.run(_count(server.database_url, capability)) < total:
            if time.perf_counter() - started > 600:
                raise SystemExit("end-to-end run did not finish in 10 minutes")
            time.sleep(0.2)
        return total / (time.perf_counter() - started)
    finally:
        for p in procs:
            p.stop()


def routing_latency(server: ServerProcess, samples: int) -> tuple[float, float]:
    """One agent waits in a long-poll; each task is submitted alone and handed to it."""
    capability = "route:v1"
    agent = AgentProcess(
        server.url, ["-c", capability, "--concurrency", "4", "--wait-seconds", "10"]
    ).start()
    try:
        time.sleep(3)
        with httpx.Client(base_url=server.url, timeout=30) as client:
            for i in range(samples):
                client.post(
                    "/aitp/tasks",
                    json={
                        "client_id": "bench",
                        "task_type": "t",
                        "capability_required": capability,
                        "input_data": {"i": i},
                    },
                ).raise_for_status()
                time.sleep(0.02)
        time.sleep(2)
    finally:
        agent.stop()
    waits = sorted(asyncio.run(_routing_latencies(server.database_url, capability)))
    if not waits:
        return float("nan"), float("nan")
    return statistics.median(waits), waits[min(len(waits) - 1, int(len(waits) * 0.99))]


def run(backend: str, args: argparse.Namespace) -> dict[str, float]:
    url = fresh_database_url(backend, Path(tempfile.mkdtemp()))
    workers = args.pg_workers if backend == "postgresql" else 1
    server = ServerProcess(
        url, env={"AINS_LOG_LEVEL": "warning", "AINS_WORKERS": str(workers)}
    ).start()
    try:
        figures = {"submit_per_s": single_submissions(server, args.seconds, args.connections)}
        figures["e2e_per_s"] = end_to_end(server, args.tasks, args.agents, args.agent_concurrency)
        p50, p99 = routing_latency(server, args.routing_samples)
        figures["routing_p50_ms"], figures["routing_p99_ms"] = p50, p99
        return figures
    finally:
        server.stop()
        if backend == "postgresql":
            drop_pg_database(url)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--tasks", type=int, default=20_000)
    parser.add_argument("--agents", type=int, default=2)
    parser.add_argument("--agent-concurrency", type=int, default=200)
    parser.add_argument("--routing-samples", type=int, default=300)
    parser.add_argument("--pg-workers", type=int, default=2, help="server processes on PostgreSQL")
    args = parser.parse_args()
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    print(f"{'backend':<12}{'submit/s':>10}{'e2e/s':>10}{'route p50 ms':>14}{'route p99 ms':>14}")
    for backend in backends:
        f = run(backend, args)
        print(
            f"{backend:<12}{f['submit_per_s']:>10.0f}{f['e2e_per_s']:>10.0f}"
            f"{f['routing_p50_ms']:>14.2f}{f['routing_p99_ms']:>14.2f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
