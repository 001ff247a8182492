"""Dispatch latency: from a submit being answered to a waiting agent's long-poll returning the task.

    python -m bench.dispatch [--rate 200] [--seconds 10] [--pollers 2] [--backends sqlite]

Per backend, a fresh server; `--pollers` agent processes (each its own registered agent) sit in
`POST /aitp/agents/{id}/claim` long-polls (up to 100 tasks, 10 s) and stamp each task as their
claim returns, then complete what they got in one bulk report and poll again. The main process
submits single tasks (`POST /aitp/tasks`) at a steady `--rate` per second and stamps each as its
response arrives. Latency = claim returned − submit answered, on this host's clock (negative when
the long-poll beats the submit's own response). Aim: p50 ≤ 5 ms, p99 ≤ 20 ms at 200 tasks/s.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import queue
import time
from concurrent.futures import ThreadPoolExecutor
from multiprocessing.synchronize import Event as EventType

import httpx

from bench.common import (
    Result,
    add_results_flag,
    ains_server,
    emit,
    exit_cleanly_on_sigterm,
    pct,
    table,
)
from bench.protocol import claim, complete, register
from tests.support.server import postgres_available


def poller(
    url: str, capability: str, name: str, stop: EventType, ready: EventType, out: mp.Queue
) -> None:
    """An agent process: long-poll, stamp, bulk-complete, repeat until `stop`."""
    arrivals: dict[str, float] = {}
    try:
        with (
            httpx.Client(base_url=url, timeout=30) as api,
            httpx.Client(base_url=url, timeout=30) as reporter,
            ThreadPoolExecutor(1) as reports,  # reports go in the background, as agents do
        ):
            agent_id = register(api, name, capability)
            ready.set()
            while not stop.is_set():
                claimed = claim(api, agent_id, 100, 2)
                now = time.time()
                for task in claimed:
                    arrivals[task["task_id"]] = now
                reports.submit(complete, reporter, agent_id, claimed)
    finally:
        out.put(arrivals)


async def _submit_paced(
    url: str, capability: str, rate: float, seconds: float
) -> tuple[dict[str, float], float]:
    answered: dict[str, float] = {}
    body = {"client_id": "bench", "task_type": "noop", "capability_required": capability}
    total = int(rate * seconds)
    in_flight = asyncio.Semaphore(64)  # past 64 unanswered, the server is behind: wait for it
    limits = httpx.Limits(max_connections=64)
    async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits) as api:

        async def submit(i: int) -> None:
            try:
                r = await api.post("/aitp/tasks", json={**body, "input_data": {"i": i}})
                now = time.time()
                r.raise_for_status()
                answered[r.json()["task_id"]] = now
            finally:
                in_flight.release()

        start = time.perf_counter()
        pending = []
        for i in range(total):
            pause = start + i / rate - time.perf_counter()
            if pause > 0:
                await asyncio.sleep(pause)
            await in_flight.acquire()
            pending.append(asyncio.create_task(submit(i)))
        await asyncio.gather(*pending)
        elapsed = time.perf_counter() - start
    if elapsed > seconds * 1.2:
        print(f"  the server fell behind: {total} submits took {elapsed:.1f} s", flush=True)
    return answered, total / elapsed


def submit_paced(
    url: str, capability: str, rate: float, seconds: float
) -> tuple[dict[str, float], float]:
    """(task id → time its submit was answered, submits/s achieved). A submit goes every 1/rate s
    whether or not the previous ones were answered (open loop: a slow answer keeps the rate), up to
    64 unanswered; past that the server is behind, and the rate reached says so."""
    return asyncio.run(_submit_paced(url, capability, rate, seconds))


def measure(backend: str, rate: float, seconds: float, pollers: int) -> list[Result]:
    ctx = mp.get_context("spawn")
    capability = "dispatch:v1"
    with ains_server(backend) as server:
        stop, out = ctx.Event(), ctx.Queue()
        procs = []
        try:
            for i in range(pollers):
                ready = ctx.Event()
                proc = ctx.Process(
                    target=poller,
                    args=(server.url, capability, f"dispatch-{i}", stop, ready, out),
                    daemon=True,
                )
                proc.start()
                procs.append(proc)
                if not ready.wait(30):
                    raise SystemExit("a polling agent did not register in 30 s")
            time.sleep(1)  # every poller parked in its long-poll
            answered, achieved = submit_paced(server.url, capability, rate, seconds)
            time.sleep(2)
            stop.set()
            arrivals: dict[str, float] = {}
            for _ in procs:
                try:
                    arrivals.update(out.get(timeout=30))
                except queue.Empty:
                    break
        finally:
            stop.set()
            for proc in procs:
                proc.join(timeout=10)
                if proc.is_alive():
                    proc.kill()
                    proc.join()
    ms = [(arrivals[t] - at) * 1000 for t, at in answered.items() if t in arrivals]
    note = f"{len(ms)} tasks, {achieved:.0f}/s of {rate:g}/s asked, {pollers} pollers"
    return [
        Result("dispatch", backend, "submit answered → long-poll returns p50", pct(ms, 0.5),
               "ms", note),
        Result("dispatch", backend, "submit answered → long-poll returns p99", pct(ms, 0.99),
               "ms", note),
        Result("dispatch", backend, "submit answered → long-poll returns max", max(ms, default=0),
               "ms", note),
    ]  # fmt: skip


def main() -> None:
    exit_cleanly_on_sigterm()
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rate", type=float, default=200, help="submits per second")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--pollers", type=int, default=2, help="agent processes long-polling")
    parser.add_argument("--backends", default="sqlite,postgresql")
    add_results_flag(parser)
    args = parser.parse_args()
    results: list[Result] = []
    for backend in [b.strip() for b in args.backends.split(",") if b.strip()]:
        if backend == "postgresql" and (reason := postgres_available()):
            print(f"postgresql skipped: {reason}")
            continue
        results += measure(backend, args.rate, args.seconds, args.pollers)
    print(table(results), flush=True)
    emit(results, args.results)


if __name__ == "__main__":
    main()
