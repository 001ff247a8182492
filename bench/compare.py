"""AINS beside Celery and PgQueuer: the same workload, on this machine, in this run.

    pip install -e '.[bench]'          # celery[redis], pgqueuer
    python -m bench.compare [--tasks 20000] [--seconds 10] [--backends sqlite,postgresql]

End to end: `--tasks` no-op tasks; the 2 worker processes are started and idle first, then one
producer enqueues every task in 100-task batches and the workers drain them; the clock runs from
the first enqueue to the last completion (polled every 20 ms).
- AINS: a fresh `ains serve` per backend (AINS_WORKERS = cores on PostgreSQL) and 2 sample-agent
  processes (`ains agent`, echo handler, claims of up to 100, bulk reports) over HTTP — exactly
  `bench.throughput`'s end-to-end run; done = every task COMPLETED.
- Celery (Redis broker at 127.0.0.1:6379, a queue of its own): `celery worker --pool prefork
  --concurrency 2`, prefetch 100, no result backend; tasks sent through one pooled producer; done
  = a Redis counter each task increments reaches the total.
- PgQueuer (a fresh PostgreSQL database): 2 worker processes, each `PgQueuer` over one asyncpg
  connection with a no-op entrypoint, batch size `--peer-batch` (100); `Queries.enqueue` with
  lists of 100; done = its queue table is empty.
Single submissions: AINS by wrk (-t1 -c64, one task per POST) for `--seconds`; the peers by
`--producers` Python processes (default: cores) each enqueuing one task per call for `--seconds`
(PgQueuer: 8 connections per process). Ratios are AINS ÷ peer: above 1 AINS is faster.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import queue
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any

from bench.common import (
    Result,
    add_results_flag,
    ains_server,
    create_bench_database,
    emit,
    exit_cleanly_on_sigterm,
    machine_line,
    stop_process,
    table,
)
from bench.throughput import end_to_end, single_submissions
from tests.support.server import ROOT, drop_pg_database, postgres_available

REDIS_URL = "redis://127.0.0.1:6379/15"


def _wait(predicate: Callable[[], bool], limit: float, what: str) -> float:
    """perf_counter() once `predicate()` holds, polled every 20 ms; fails after `limit` s."""
    deadline = time.perf_counter() + limit
    while not predicate():
        if time.perf_counter() > deadline:
            raise SystemExit(f"{what}: not done after {limit:.0f} s")
        time.sleep(0.02)
    return time.perf_counter()


@contextmanager
def _process_group(
    cmd: list[str], env: dict[str, str], log: str
) -> Iterator[subprocess.Popen[bytes]]:
    """A worker process in its own group; SIGTERM, then the whole group killed, on the way out."""
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            cmd, env={**os.environ, **env}, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    try:
        yield proc
    finally:
        stop_process(proc, timeout=20)
        with suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)


def _rate_from_producers(target: Callable[..., None], args: tuple[Any, ...], n: int) -> float:
    """Run `n` producer processes (each puts its count of submissions); total per second."""
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    procs = [ctx.Process(target=target, args=(*args, out), daemon=True) for _ in range(n)]
    for p in procs:
        p.start()
    total, seconds = 0, 0.0
    try:
        for _ in procs:
            count, elapsed = out.get(timeout=args[-1] + 120)
            total += count
            seconds = max(seconds, elapsed)
    except queue.Empty:
        raise SystemExit("a producer process did not report") from None
    finally:
        for p in procs:
            p.join(timeout=10)
            if p.is_alive():
                p.kill()
    return total / seconds


# --- AINS -------------------------------------------------------------------------------------


def ains(backend: str, args: argparse.Namespace) -> dict[str, float]:
    with ains_server(backend) as server:
        e2e = end_to_end(server, args.tasks, 2, args.agent_concurrency, args.limit)
        print(f"  AINS {backend}: end to end {e2e:,.0f} tasks/s", flush=True)
        single = single_submissions(server, args.seconds, 64, 1)
        print(f"  AINS {backend}: single submissions {single:,.0f}/s", flush=True)
    return {"e2e": e2e, "single": single}


# --- Celery -----------------------------------------------------------------------------------


def _celery_env(run: str) -> dict[str, str]:
    return {
        "BENCH_CELERY_BROKER": REDIS_URL,
        "BENCH_CELERY_QUEUE": f"ains-bench-{run}",
        "BENCH_CELERY_COUNTER": f"ains-bench-{run}-done",
    }


def _celery_producer(env: dict[str, str], seconds: float, out: mp.Queue) -> None:
    os.environ.update(env)
    from bench.celery_app import app, noop

    count = 0
    with app.producer_or_acquire() as producer:
        start = time.perf_counter()
        while time.perf_counter() - start < seconds:
            noop.apply_async((count,), producer=producer)
            count += 1
        out.put((count, time.perf_counter() - start))


def celery(args: argparse.Namespace) -> dict[str, float]:
    import redis

    run = uuid.uuid4().hex[:8]
    env = _celery_env(run)
    os.environ.update(env)  # read by bench.celery_app at import
    from bench.celery_app import app, noop

    r = redis.Redis.from_url(REDIS_URL)
    counter = env["BENCH_CELERY_COUNTER"]
    worker = [
        sys.executable, "-m", "celery", "-A", "bench.celery_app", "worker", "--pool", "prefork",
        "--concurrency", "2", "--loglevel", "WARNING", "--without-gossip", "--without-mingle",
        "--without-heartbeat", "-Q", env["BENCH_CELERY_QUEUE"],
    ]  # fmt: skip
    try:
        with _process_group(worker, env, f"/tmp/ains-bench-celery-{run}.log"):
            noop.delay(-1)  # ready once a warm-up task has run
            _wait(lambda: int(r.get(counter) or 0) >= 1, 60, "celery worker start")
            r.delete(counter)
            body = list(range(100))
            start = time.perf_counter()
            with app.producer_or_acquire() as producer:
                for first in range(0, args.tasks, 100):
                    for i in body[: min(100, args.tasks - first)]:
                        noop.apply_async((first + i,), producer=producer)
            done = _wait(lambda: int(r.get(counter) or 0) >= args.tasks, args.limit, "celery")
            e2e = args.tasks / (done - start)
        print(f"  Celery: end to end {e2e:,.0f} tasks/s", flush=True)
        single = _rate_from_producers(_celery_producer, (env, args.seconds), args.producers)
        print(f"  Celery: single submissions {single:,.0f}/s", flush=True)
    finally:
        queue_name = env["BENCH_CELERY_QUEUE"]
        r.delete(counter, *r.scan_iter(match=f"*{queue_name}*"))  # its queue and bindings
        if not any(r.scan_iter(match="_kombu.binding.*")):  # no other run left in db 15
            r.delete("_kombu.binding_deadlines")
        r.close()
    return {"e2e": e2e, "single": single}


# --- PgQueuer ---------------------------------------------------------------------------------


async def _pgq_worker(dsn: str, batch: int) -> None:
    import asyncpg
    from pgqueuer import PgQueuer

    conn = await asyncpg.connect(dsn)
    pgq = PgQueuer.from_asyncpg_connection(conn)

    @pgq.entrypoint("noop")
    async def noop(job: object) -> None:
        return None

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, pgq.shutdown.set)
    try:
        await pgq.run(batch_size=batch)
    finally:
        await conn.close()


def _pgq_producer(dsn: str, seconds: float, out: mp.Queue) -> None:
    async def main() -> tuple[int, float]:
        import asyncpg
        from pgqueuer import Queries

        conns = [await asyncpg.connect(dsn) for _ in range(8)]
        count = 0
        start = time.perf_counter()

        async def loop(conn: Any) -> None:
            nonlocal count
            q = Queries.from_asyncpg_connection(conn)
            while time.perf_counter() - start < seconds:
                await q.enqueue("noop", None)
                count += 1

        await asyncio.gather(*(loop(c) for c in conns))
        elapsed = time.perf_counter() - start
        for c in conns:
            await c.close()
        return count, elapsed

    out.put(asyncio.run(main()))


def pgqueuer(args: argparse.Namespace) -> dict[str, float]:
    import asyncpg
    from pgqueuer import Queries

    dsn = create_bench_database()
    loop = asyncio.new_event_loop()
    conn = None
    try:
        conn = loop.run_until_complete(asyncpg.connect(dsn))
        q = Queries.from_asyncpg_connection(conn)
        loop.run_until_complete(q.install())

        def remaining() -> int:
            return int(loop.run_until_complete(conn.fetchval("SELECT count(*) FROM pgqueuer")))

        cmd = [sys.executable, "-m", "bench.compare", "--pgq-worker", dsn, "--peer-batch",
               str(args.peer_batch)]  # fmt: skip
        run = uuid.uuid4().hex[:8]
        with (
            _process_group(cmd, {}, f"/tmp/ains-bench-pgq-{run}-0.log"),
            _process_group(cmd, {}, f"/tmp/ains-bench-pgq-{run}-1.log"),
        ):
            loop.run_until_complete(q.enqueue("noop", None))  # ready once it is picked
            _wait(lambda: remaining() == 0, 60, "pgqueuer workers start")
            time.sleep(1)  # the second worker too
            start = time.perf_counter()
            for first in range(0, args.tasks, 100):
                n = min(100, args.tasks - first)
                loop.run_until_complete(q.enqueue(["noop"] * n, [None] * n, [0] * n))
            done = _wait(lambda: remaining() == 0, args.limit, "pgqueuer")
            e2e = args.tasks / (done - start)
        print(f"  PgQueuer: end to end {e2e:,.0f} tasks/s", flush=True)
        single = _rate_from_producers(_pgq_producer, (dsn, args.seconds), args.producers)
        print(f"  PgQueuer: single submissions {single:,.0f}/s", flush=True)
    finally:
        if conn is not None:
            loop.run_until_complete(conn.close())
        loop.close()
        drop_pg_database(dsn)
    return {"e2e": e2e, "single": single}


# --- the run ----------------------------------------------------------------------------------


def ratios(figures: dict[str, dict[str, float]], backends: list[str]) -> list[Result]:
    results = []
    for system, f in figures.items():
        results += [
            Result("compare", system, "end to end", f["e2e"], "tasks/s"),
            Result("compare", system, "single submissions", f["single"], "tasks/s"),
        ]
    for backend in backends:
        mine = figures.get(f"AINS {backend}")
        if mine is None:
            continue
        for peer in ("Celery", "PgQueuer"):
            theirs = figures.get(peer)
            if theirs is None:
                continue
            for key, label in (("e2e", "end to end"), ("single", "single submissions")):
                results.append(
                    Result("compare", f"AINS {backend}", f"{label} ÷ {peer}",
                           mine[key] / theirs[key], "x")
                )  # fmt: skip
    return results


def main() -> None:
    exit_cleanly_on_sigterm()
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tasks", type=int, default=20_000)
    parser.add_argument("--seconds", type=int, default=10, help="single-submission run")
    parser.add_argument("--backends", default="sqlite,postgresql", help="AINS databases")
    parser.add_argument("--peers", default="celery,pgqueuer")
    parser.add_argument("--producers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--peer-batch", type=int, default=100, help="PgQueuer batch size")
    parser.add_argument("--agent-concurrency", type=int, default=200)
    parser.add_argument("--limit", type=float, default=600, help="seconds allowed per drain")
    parser.add_argument("--pgq-worker", metavar="DSN", help=argparse.SUPPRESS)
    add_results_flag(parser)
    args = parser.parse_args()
    if args.pgq_worker:
        asyncio.run(_pgq_worker(args.pgq_worker, args.peer_batch))
        return
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    peers = [p.strip() for p in args.peers.split(",") if p.strip()]
    if reason := postgres_available():
        raise SystemExit(f"PostgreSQL is needed (PgQueuer, AINS on PostgreSQL): {reason}")
    print(machine_line(), flush=True)
    figures: dict[str, dict[str, float]] = {}
    for backend in backends:
        figures[f"AINS {backend}"] = ains(backend, args)
    if "celery" in peers:
        figures["Celery"] = celery(args)
    if "pgqueuer" in peers:
        figures["PgQueuer"] = pgqueuer(args)
    results = ratios(figures, backends)
    print(f"\n{machine_line()}\n{args.tasks:,} no-op tasks, 2 worker processes each\n")
    print(table(results), flush=True)
    emit(results, args.results)


if __name__ == "__main__":
    main()
