"""A flooding client beside a well-behaved one: does one principal past its rate limit slow
another down?

    python -m bench.ratelimit [--requests 200] [--rate 20] [--flood-connections 16]
                              [--flood-limit 40] [--backends sqlite,postgresql]

Per backend, a fresh server (PostgreSQL: a worker per core) with
`AINS_RATE_LIMITS={"submit": "<flood-limit>/second"}`, its counters in Redis when it answers at
`--redis-url` (so the workers hold the flooder to one limit), and two client keys. The
well-behaved client submits single tasks (`POST /aitp/tasks`) at a steady `--rate` per second
(open loop) and times each answer: first alone (after a warm-up), then while the flooder (wrk,
C, `--flood-connections` keep-alive connections with the other key) submits as fast as the
server answers, most of it refused with 429. Prints both p99s and their ratio; the aim is a
ratio of at most 2. Needs wrk (`apt-get install wrk`).
"""

from __future__ import annotations

import argparse
import asyncio
import re
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import httpx
import redis

from bench.common import (
    Result,
    add_results_flag,
    ains_server,
    emit,
    exit_cleanly_on_sigterm,
    pct,
    stop_process,
    table,
)
from tests.support.server import ServerProcess, postgres_available

SCRIPT = Path(__file__).with_name("submit.lua")
AIM = 2.0
REDIS_URL = "redis://127.0.0.1:6379/0"


def _key(server: ServerProcess, principal_id: str) -> str:
    with server.client() as local_admin:  # protected mode: the local admin
        r = local_admin.post("/ains/keys", json={"role": "client", "principal_id": principal_id})
        r.raise_for_status()
        return str(r.json()["api_key"])


async def _steady_submits(url: str, key: str, requests: int, rate: float) -> list[float]:
    """Latencies (ms) of `requests` submits started every 1/rate s, whatever came back."""
    body = {"client_id": "calm", "task_type": "t", "capability_required": "calm:v1"}
    headers = {"Authorization": f"Bearer {key}"}
    latencies: list[float] = []
    refused = 0

    async def one(api: httpx.AsyncClient) -> None:
        nonlocal refused
        started = time.perf_counter()
        r = await api.post("/aitp/tasks", json={**body, "input_data": {}})
        latencies.append((time.perf_counter() - started) * 1000)
        refused += r.status_code != 201

    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=30) as api:
        await one(api)  # warm the connection
        latencies.clear()
        start = time.perf_counter()
        pending = []
        for i in range(requests):
            await asyncio.sleep(max(0.0, start + i / rate - time.perf_counter()))
            pending.append(asyncio.create_task(one(api)))
        await asyncio.gather(*pending)
    if refused:
        raise SystemExit(f"the well-behaved client was refused {refused} times: raise the limit")
    return latencies


def _flood(url: str, key: str, connections: int, seconds: float) -> subprocess.Popen[str]:
    return subprocess.Popen(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds:.0f}s", "-s", str(SCRIPT),
         "-H", f"Authorization: Bearer {key}", f"{url}/aitp/tasks"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )  # fmt: skip


def _flood_counts(output: str) -> tuple[int, int]:
    """(requests, refused) from wrk's summary."""
    total = re.search(r"(\d+) requests in", output)
    refused = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return int(total.group(1)) if total else 0, int(refused.group(1)) if refused else 0


def _redis_env(url: str) -> dict[str, str]:
    """Shared counters (so several worker processes hold the flooder to one limit), under a
    prefix of this run's own; none when Redis does not answer."""
    if not url:
        return {}
    try:
        with redis.Redis.from_url(url, socket_connect_timeout=2) as client:
            client.ping()
    except redis.RedisError as exc:
        print(f"Redis at {url} unavailable ({exc}): each worker process counts alone")
        return {}
    prefix = f"ains-bench:{uuid.uuid4().hex[:8]}"
    return {"AINS_REDIS_URL": url, "AINS_RATE_LIMIT_KEY_PREFIX": prefix}


def _forget(env: dict[str, str]) -> None:
    if env:
        with redis.Redis.from_url(env["AINS_REDIS_URL"]) as client:
            keys = client.keys(env["AINS_RATE_LIMIT_KEY_PREFIX"] + ":*")
            if keys:
                client.delete(*keys)


def measure(backend: str, args: argparse.Namespace) -> list[Result]:
    env = {"AINS_RATE_LIMITS": f'{{"submit": "{args.flood_limit}/second"}}'}
    shared = _redis_env(args.redis_url)
    try:
        return _measure(backend, args, {**env, **shared})
    finally:
        _forget(shared)


def _measure(backend: str, args: argparse.Namespace, env: dict[str, str]) -> list[Result]:
    with ains_server(backend, **env) as server:
        # submit.lua submits for client_id "bench": the flooder is that client
        calm, flooder = _key(server, "calm"), _key(server, "bench")
        # warm-up, not measured: the first requests of a fresh process are slower
        asyncio.run(_steady_submits(server.url, calm, min(100, args.requests), args.rate))
        alone = asyncio.run(_steady_submits(server.url, calm, args.requests, args.rate))
        seconds = args.requests / args.rate + 3
        flood = _flood(server.url, flooder, args.flood_connections, seconds)
        try:
            time.sleep(1)  # the flood is under way before the first measured request
            flooded = asyncio.run(_steady_submits(server.url, calm, args.requests, args.rate))
            output, _ = flood.communicate(timeout=seconds + 30)
        finally:
            stop_process(flood)
    total, refused = _flood_counts(output)
    p99_alone, p99_flooded = pct(alone, 0.99), pct(flooded, 0.99)
    ratio = p99_flooded / p99_alone
    print(
        f"{backend}: p99 alone {p99_alone:.2f} ms, p99 beside the flood {p99_flooded:.2f} ms, "
        f"ratio {ratio:.2f} (aim <= {AIM:g}); p50 {pct(alone, 0.5):.2f} / "
        f"{pct(flooded, 0.5):.2f} ms; the flooder sent {total} requests, "
        f"{refused} refused with 429",
        flush=True,
    )
    note = f"flood {total} requests, {refused} refused; aim <= {AIM:g}"
    return [
        Result("ratelimit", backend, "calm client p99 alone", p99_alone, "ms"),
        Result("ratelimit", backend, "calm client p99 beside a flood", p99_flooded, "ms"),
        Result("ratelimit", backend, "p99 ratio flooded / alone", ratio, "x", note),
    ]


def main() -> None:
    exit_cleanly_on_sigterm()
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=200, help="measured submits per phase")
    parser.add_argument("--rate", type=float, default=20, help="the calm client's submits/s")
    parser.add_argument("--flood-connections", type=int, default=16)
    parser.add_argument("--flood-limit", type=int, default=40, help="submits/s per principal")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument(
        "--redis-url", default=REDIS_URL, help="shared counters ('' for none: per process)"
    )
    add_results_flag(parser)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed for the flooding client: apt-get install -y wrk")
    results: list[Result] = []
    for backend in [b.strip() for b in args.backends.split(",") if b.strip()]:
        if backend == "postgresql" and (reason := postgres_available()):
            print(f"postgresql skipped: {reason}")
            continue
        results += measure(backend, args)
    print(table(results), flush=True)
    emit(results, args.results)


if __name__ == "__main__":
    main()
