"""Issue 16, rate limits per principal and route class (AINS_RATE_LIMITS): 429 problem+json
with Retry-After and RateLimit-* headers, one client's burst never limiting another, counters
shared by replicas through Redis, and a fallback to memory when Redis is not there. Each runs
real server processes; limits are mostly per day, so no window ends during a test."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from ains.security.ratelimit import REDIS_RETRY_SECONDS
from tests.support.flows import register_agent
from tests.support.server import (
    ROOT,
    ServerProcess,
    drop_pg_database,
    free_port,
    fresh_database_url,
    running_server,
    wait_for,
)
from tests.support.services import unavailable

REDIS_URL = "redis://127.0.0.1:6379/0"
JSON = {"Content-Type": "application/json"}


def _limits(**per_class: str) -> str:
    return json.dumps(per_class)


def _key(api: httpx.Client, role: str, principal_id: str) -> str:
    r = api.post("/ains/keys", json={"role": role, "principal_id": principal_id})
    assert r.status_code == 201, r.text
    return str(r.json()["api_key"])


def _submit(api: httpx.Client, client_id: str, capability: str) -> httpx.Response:
    body = {"client_id": client_id, "task_type": "t", "capability_required": capability}
    return api.post("/aitp/tasks", json={**body, "input_data": {}})


def _assert_refused(r: httpx.Response, limit: int, route_class: str) -> dict[str, Any]:
    assert r.status_code == 429, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    problem = dict(r.json())
    assert problem["status"] == 429
    assert problem["route_class"] == route_class
    assert "AINS_RATE_LIMITS" in problem["detail"]
    retry_after = int(r.headers["retry-after"])
    assert retry_after >= 1
    assert r.headers["ratelimit-limit"] == str(limit)
    assert r.headers["ratelimit-remaining"] == "0"
    assert int(r.headers["ratelimit-reset"]) == retry_after
    return problem


@pytest.fixture
def redis_client() -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        client.close()
        unavailable(f"Redis at {REDIS_URL} unavailable: {exc}")
    yield client
    client.close()


def test_a_burst_is_refused_with_429_and_another_client_is_not_limited(
    backend: str, tmp_path: Path, uid: str
) -> None:
    limits = _limits(submit="5/day", read="3/day")
    with running_server(backend, tmp_path, AINS_RATE_LIMITS=limits) as server:
        with server.client() as local_admin:  # protected mode
            key_a = _key(local_admin, "client", f"a-{uid}")
            key_b = _key(local_admin, "client", f"b-{uid}")
        with server.client(key_a) as a, server.client(key_b) as b:
            answers = [_submit(a, f"a-{uid}", f"cap-{uid}") for _ in range(5)]
            assert [r.status_code for r in answers] == [201] * 5

            refused = _submit(a, f"a-{uid}", f"cap-{uid}")
            _assert_refused(refused, 5, "submit")

            # the other client's bucket is whole; A's other classes are untouched
            others = [_submit(b, f"b-{uid}", f"cap-{uid}") for _ in range(5)]
            assert [r.status_code for r in others] == [201] * 5
            listed = a.get("/aitp/tasks", params={"capability": f"cap-{uid}"})
            assert listed.status_code == 200, listed.text
            # nothing of the refused submission was written
            assert len(listed.json()["items"]) == 5  # A sees its own tasks only


def test_a_refused_client_is_answered_before_its_body_is_read(
    backend: str, tmp_path: Path, uid: str
) -> None:
    """After a refusal, that credential's requests of the class are refused before anything
    else (not even the body is validated), with a Retry-After counting down, and no sooner than
    half a second (a flood costs little). Other classes and other clients never meet it."""
    # an hour's window: a refusal that a window ending at once would lift cannot flake this
    limits = _limits(submit="2/hour", read="2/second")
    with running_server(backend, tmp_path, AINS_RATE_LIMITS=limits) as server:
        with server.client() as local_admin:
            key_a = _key(local_admin, "client", f"a-{uid}")
            key_b = _key(local_admin, "client", f"b-{uid}")
        with server.client(key_a) as a, server.client(key_b) as b:
            statuses = [_submit(a, f"a-{uid}", f"cap-{uid}").status_code for _ in range(3)]
            assert statuses == [201, 201, 429], statuses

            started = time.monotonic()
            not_even_json = a.post("/aitp/tasks", content=b"{", headers=JSON)
            assert time.monotonic() - started >= 0.5
            problem = _assert_refused(not_even_json, 2, "submit")
            assert problem["retry_after"] == int(not_even_json.headers["retry-after"]) <= 3600
            assert b.post("/aitp/tasks", content=b"{", headers=JSON).status_code == 422
            # both 429s are audited (the second, answered before authentication, too), as one
            # reason: the first at once, the second counted into the window's row
            with server.client() as local_admin:
                denied = local_admin.get(
                    "/ains/audit", params={"actor": f"a-{uid}", "outcome": "denied"}
                ).json()["items"]
            assert {(r["action"], r["status"]) for r in denied} == {("task.submit", 429)}
            assert sum(r["detail"]["count"] for r in denied) == 2, denied

            reads = [a.get("/aitp/tasks").status_code for _ in range(3)]
            assert reads[:2] == [200, 200], reads  # another class, its own count
            wait_for(
                lambda: a.get("/aitp/tasks").status_code == 200,
                timeout=5,
                interval=0.1,
                message="client A's reads to be admitted again once the second is over",
            )


def test_claims_and_reports_are_counted_apart(backend: str, tmp_path: Path, uid: str) -> None:
    limits = _limits(claim="2/day", report="100/day")
    with running_server(backend, tmp_path, AINS_RATE_LIMITS=limits) as server:
        with server.client() as local_admin:
            agent = register_agent(local_admin, f"cap-{uid}")
        path = f"/aitp/agents/{agent['agent_id']}"
        with server.client(agent["api_key"]) as me:
            claims = [me.post(f"{path}/claim", json={"wait_seconds": 0}) for _ in range(3)]
            assert [r.status_code for r in claims[:2]] == [200, 200]
            _assert_refused(claims[2], 2, "claim")
            beat = me.post(f"/ains/agents/{agent['agent_id']}/heartbeat", json={})
            assert beat.status_code == 200, beat.text


@pytest.mark.pg_only
def test_replicas_sharing_redis_share_the_limit(
    backend: str, tmp_path: Path, uid: str, redis_client: redis.Redis
) -> None:
    """Two replicas (processes on one PostgreSQL database) and one Redis, with a key prefix
    of this test's own: a principal's reads on either count against one limit."""
    prefix = f"ains-test:{uid}"
    url = fresh_database_url(backend, tmp_path)
    env = {
        "AINS_RATE_LIMITS": _limits(read="6/day"),
        "AINS_REDIS_URL": REDIS_URL,
        "AINS_RATE_LIMIT_KEY_PREFIX": prefix,
    }
    first = ServerProcess(url, env=env).start()
    second = ServerProcess(url, env=env).start()
    try:
        with first.client() as one, second.client() as two:
            answers = [one.get("/aitp/tasks"), two.get("/aitp/tasks"), one.get("/aitp/tasks")]
            answers += [two.get("/aitp/tasks"), two.get("/aitp/tasks"), one.get("/aitp/tasks")]
            assert [r.status_code for r in answers] == [200] * 6
            _assert_refused(two.get("/aitp/tasks"), 6, "read")
            _assert_refused(one.get("/aitp/tasks"), 6, "read")
        assert redis_client.keys(f"{prefix}:*"), "the counters live in Redis under the prefix"
    finally:
        first.stop()
        second.stop()
        drop_pg_database(url)
        keys = redis_client.keys(f"{prefix}:*")
        if keys:
            redis_client.delete(*keys)


def test_unreachable_redis_falls_back_to_memory_and_logs_once(backend: str, tmp_path: Path) -> None:
    nobody = f"redis://127.0.0.1:{free_port()}/0"
    env = {"AINS_RATE_LIMITS": _limits(read="3/day"), "AINS_REDIS_URL": nobody}
    with running_server(backend, tmp_path, **env) as server, server.client() as api:
        answers = [api.get("/aitp/tasks") for _ in range(3)]
        assert [r.status_code for r in answers] == [200] * 3
        _assert_refused(api.get("/aitp/tasks"), 3, "read")
        time.sleep(REDIS_RETRY_SECONDS + 0.5)  # Redis is tried again, and fails again
        _assert_refused(api.get("/aitp/tasks"), 3, "read")
        assert server.log().count("rate limits: Redis (AINS_REDIS_URL) failed") == 1


@pytest.mark.parametrize(
    ("value", "named"),
    [
        ('{"sumbit": "10/second"}', "unknown route class 'sumbit'"),
        ('{"read": "lots"}', "read='lots' is not a rate limit"),
        ('{"read": "0/second"}', "read='0/second' is not a rate limit"),
    ],
)
def test_a_bad_rate_limit_setting_stops_the_server_naming_it(
    tmp_path: Path, value: str, named: str
) -> None:
    env = {
        "PATH": "/usr/bin:/bin",
        "AINS_DATABASE_URL": f"sqlite:///{tmp_path / 'ains.db'}",
        "AINS_PORT": str(free_port()),
        "AINS_RATE_LIMITS": value,
    }
    done = subprocess.run(
        [sys.executable, "-m", "ains.cli", "serve"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert f"AINS_RATE_LIMITS: {named}" in done.stdout + done.stderr
