"""Issue 15, Redis for replicas: the API-key cache counts its hits and misses in /metrics; a key
revoked through one replica is refused by another within a second with Redis carrying the
message (on SQLite, two processes on one file have no other bus, so only Redis can carry it);
Redis killed and restarted under load: the server keeps serving from the database, `/ready`
says `degraded` naming Redis, the reason is logged once, it reconnects by itself, and no task
is lost or duplicated. Each uses real server processes and a throwaway redis-server."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.reliability.crash import Submitter, audit, echo_agents
from tests.support.redis_server import ThrowawayRedis, throwaway_redis
from tests.support.server import (
    ServerProcess,
    drop_pg_database,
    fresh_database_url,
    running_server,
    wait_for,
)

OUTAGE_LINE = "cache invalidation: Redis (AINS_REDIS_URL) failed"
# long enough that only an invalidation message, never the TTL, can end a cached key
NO_EXPIRY = {"AINS_KEY_CACHE_SECONDS": "3600"}


def _new_key(server: ServerProcess, principal: str) -> dict[str, Any]:
    with server.client() as admin:
        r = admin.post("/ains/keys", json={"role": "client", "principal_id": principal})
        assert r.status_code == 201, r.text
        return dict(r.json())


def _tasks(server: ServerProcess, key: str) -> int:
    headers = {"Authorization": f"Bearer {key}"}
    return httpx.get(f"{server.url}/aitp/tasks", headers=headers, timeout=10).status_code


def _cache_counts(server: ServerProcess, cache: str = "api_keys") -> tuple[float, float]:
    text = httpx.get(f"{server.url}/metrics", timeout=10).text

    def value(kind: str) -> float:
        found = re.search(rf'^ains_cache_{kind}_total{{cache="{cache}"}} (\S+)$', text, re.M)
        assert found, f"ains_cache_{kind}_total{{cache={cache!r}}} missing from /metrics"
        return float(found.group(1))

    return value("hits"), value("misses")


def _ready(server: ServerProcess) -> dict[str, Any]:
    r = httpx.get(f"{server.url}/ready", timeout=10)
    assert r.status_code == 200, r.text
    return dict(r.json())


def test_key_lookups_are_cached_and_counted_per_cache(
    backend: str, tmp_path: Path, uid: str
) -> None:
    with running_server(backend, tmp_path) as server:
        key = _new_key(server, f"c-{uid}")["api_key"]
        hits, misses = _cache_counts(server)
        for _ in range(10):
            assert _tasks(server, key) == 200
        after_hits, after_misses = _cache_counts(server)
        # the first lookup of the key goes to the database; the next ones come from the cache
        # (5 s of caching, far more than ten requests take)
        assert after_misses - misses >= 1
        assert after_hits - hits >= 8
        assert (after_hits - hits) + (after_misses - misses) == 10


def test_key_cache_seconds_0_sends_every_lookup_to_the_database(
    backend: str, tmp_path: Path, uid: str
) -> None:
    with running_server(backend, tmp_path, AINS_KEY_CACHE_SECONDS="0") as server:
        key = _new_key(server, f"c-{uid}")["api_key"]
        hits, misses = _cache_counts(server)
        for _ in range(5):
            assert _tasks(server, key) == 200
        assert _cache_counts(server) == (hits, misses + 5)


@pytest.fixture
def redis_replicas(
    backend: str, tmp_path: Path
) -> Iterator[tuple[ServerProcess, ServerProcess, ThrowawayRedis]]:
    with throwaway_redis() as redis:
        url = fresh_database_url(backend, tmp_path)
        env = {"AINS_REDIS_URL": redis.url, **NO_EXPIRY}
        first = ServerProcess(url, env=env).start()
        second = ServerProcess(url, env=env).start()
        try:
            yield first, second, redis
        finally:
            second.stop()
            first.stop()
            if backend == "postgresql":
                drop_pg_database(url)


def test_a_key_revoked_through_one_replica_is_refused_by_the_other_within_1s(
    redis_replicas: tuple[ServerProcess, ServerProcess, ThrowawayRedis], uid: str
) -> None:
    a, b, _redis = redis_replicas
    for replica in (a, b):
        assert _ready(replica)["redis"] == "ok"
    key = _new_key(a, f"c-{uid}")
    assert _tasks(b, key["api_key"]) == 200  # now cached by b, for an hour
    assert _tasks(b, key["api_key"]) == 200
    with a.client() as admin:
        assert admin.delete(f"/ains/keys/{key['key_id']}").status_code == 204
    started = time.monotonic()
    wait_for(lambda: _tasks(b, key["api_key"]) == 401, timeout=5, interval=0.02, message="401")
    took = time.monotonic() - started
    print(f"\n[{a.backend}] revoked on A, refused by B after {took * 1000:.0f} ms")
    assert took < 1.0


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_redis_killed_and_restarted_under_load_loses_nothing(
    backend: str, tmp_path: Path, uid: str
) -> None:
    cap, client = f"redis-outage-{uid}:v1", f"c-{uid}"
    with throwaway_redis() as redis:
        env = {"AINS_REDIS_URL": redis.url, "AINS_KEY_CACHE_SECONDS": "60"}
        with running_server(backend, tmp_path, **env) as server, server.client() as api:
            assert _ready(server) == {
                "status": "ready",
                "database": server.backend,
                "redis": "ok",
            }
            key = _new_key(server, f"k-{uid}")
            agents = echo_agents(server, cap, 2)
            load = Submitter(server.url, cap, client).start()
            try:
                wait_for(lambda: len(load.acked) >= 20, timeout=60, message="load running")
                redis.kill()
                down = wait_for(
                    lambda: (r := _ready(server))["status"] == "degraded" and r,
                    timeout=30,
                    message="/ready to say degraded",
                )
                assert down["redis"] == "degraded" and down["redis_problem"], down
                served = len(load.acked)
                # still serving from the database, a key still authenticates
                wait_for(lambda: len(load.acked) >= served + 20, timeout=60, message="served")
                assert _tasks(server, key["api_key"]) == 200
                redis.start()
                wait_for(
                    lambda: _ready(server).get("redis") == "ok",
                    timeout=30,
                    message="/ready to say Redis is back",
                )
                # after the reconnect the caches start afresh: a revocation is seen at once
                assert api.delete(f"/ains/keys/{key['key_id']}").status_code == 204
                assert _tasks(server, key["api_key"]) == 401
                resumed = len(load.acked)
                wait_for(lambda: len(load.acked) >= resumed + 20, timeout=60, message="resumed")
                load.stop()
                # while the agents still run: every accepted task must reach COMPLETED
                result = audit(api, client, load.acked)
            finally:
                load.stop()
                for agent in agents:
                    agent.stop()
            log = server.log()
        print(
            f"\n[{backend}] Redis killed and restarted under load: tasks={result.tasks} "
            f"completed={result.completed} lost={result.lost} duplicated={result.duplicated} "
            f"refused_submissions={load.refused}"
        )
        assert result.problems == []
        assert (result.lost, result.duplicated, result.completed) == (0, 0, result.tasks)
        assert log.count(OUTAGE_LINE) == 1, log
        assert "Traceback" not in log, log
