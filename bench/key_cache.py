"""The API-key cache: hit rate and database statements per task, with the cache and without.

    python -m bench.key_cache [--tasks 300] [--backends sqlite,postgresql]

Per backend and per `AINS_KEY_CACHE_SECONDS` (5, the default, then 0: no cache), a fresh
server (one worker) and the sample agent with an agent key; a client with its own key submits
`--tasks` single tasks (`POST /aitp/tasks`), then waits until all are COMPLETED. Every request
of both carries an API key, so every one looks its key up. Reads `ains_cache_hits_total` /
`ains_cache_misses_total{cache="api_keys"}` and the statement count
(`ains_db_query_duration_seconds_count`) from /metrics before and after, and prints the hit rate
and the statements per task.
"""

from __future__ import annotations

import argparse
import re
import time

import httpx

from bench.common import Result, add_results_flag, ains_server, emit, exit_cleanly_on_sigterm, table
from tests.support.server import AgentProcess, ServerProcess

AGENT_ARGS = ["-c", "keycache:v1", "--handler", "echo", "--wait-seconds", "5", "--name", "kc"]


def _counters(server: ServerProcess) -> tuple[float, float, float]:
    text = httpx.get(f"{server.url}/metrics", timeout=30).text

    def total(pattern: str) -> float:
        return sum(float(v) for v in re.findall(rf"^{pattern} (\S+)$", text, re.M))

    return (
        total(r'ains_cache_hits_total\{cache="api_keys"\}'),
        total(r'ains_cache_misses_total\{cache="api_keys"\}'),
        total(r"ains_db_query_duration_seconds_count\{[^}]*\}"),
    )


def _completed(api: httpx.Client) -> int:
    params = {"client_id": "bench-client", "status": "COMPLETED", "limit": 500}
    return len(api.get("/aitp/tasks", params=params).json()["items"])


def run_one(backend: str, cache_seconds: str, tasks: int) -> list[Result]:
    with ains_server(backend, workers=1, AINS_KEY_CACHE_SECONDS=cache_seconds) as server:
        with server.client() as admin:
            client_key = admin.post(
                "/ains/keys", json={"role": "client", "principal_id": "bench-client"}
            ).json()["api_key"]
            agent_key = admin.post(
                "/ains/keys", json={"role": "agent", "principal_id": "bench-agent"}
            ).json()["api_key"]
        agent = AgentProcess(
            server.url,
            [*AGENT_ARGS, "--agent-id", "bench-agent"],
            api_key=agent_key,
        ).start()
        try:
            before = _counters(server)
            started = time.monotonic()
            with server.client(client_key) as client:
                for n in range(tasks):
                    r = client.post(
                        "/aitp/tasks",
                        json={
                            "client_id": "bench-client",
                            "task_type": "kc",
                            "capability_required": "keycache:v1",
                            "input_data": {"n": n},
                        },
                    )
                    r.raise_for_status()
            with server.client() as admin:  # no key: polling adds no key lookups
                while _completed(admin) < tasks:
                    if time.monotonic() - started > 120 + tasks:
                        raise RuntimeError(f"not all {tasks} tasks completed:\n{agent.log()}")
                    time.sleep(1.0)
            after = _counters(server)
        finally:
            agent.stop()
    hits, misses, statements = (b - a for a, b in zip(before, after, strict=True))
    lookups = hits + misses
    note = f"AINS_KEY_CACHE_SECONDS={cache_seconds}"
    return [
        Result("key_cache", backend, "hit rate", 100 * hits / lookups if lookups else 0, "%", note),
        Result("key_cache", backend, "key lookups", lookups, "count", note),
        Result("key_cache", backend, "statements per task", statements / tasks, "stmt", note),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=300)
    parser.add_argument("--backends", default="sqlite,postgresql")
    add_results_flag(parser)
    args = parser.parse_args()
    exit_cleanly_on_sigterm()
    results: list[Result] = []
    for backend in args.backends.split(","):
        for cache_seconds in ("5", "0"):
            results += run_one(backend, cache_seconds, args.tasks)
    print(table(results))
    emit(results, args.results)


if __name__ == "__main__":
    main()
