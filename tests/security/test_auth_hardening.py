"""Issue 11, authentication: the last admin key, protected mode for good, agents that try to
undo their quarantine or deregistration, floods of bogus keys, JWT claims and /metrics access.
Each runs a real server process on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from ains.db.engine import create_engine
from ains.models import api_keys
from tests.support.flows import claim, submit
from tests.support.server import ROOT, free_port, fresh_database_url, running_server


def _key(api: httpx.Client, role: str, principal_id: str) -> dict[str, Any]:
    r = api.post("/ains/keys", json={"role": role, "principal_id": principal_id})
    assert r.status_code == 201, r.text
    return dict(r.json())


def _problem(r: httpx.Response, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    return dict(r.json())


def _revoke_every_admin_key_in_the_database(url: str) -> None:
    async def run() -> None:
        engine = create_engine(url)
        try:
            async with engine.begin() as conn:
                await conn.execute(
                    sa.update(api_keys)
                    .where(api_keys.c.role == "admin")
                    .values(revoked_at=datetime.now(UTC))
                )
        finally:
            await engine.dispose()

    asyncio.run(run())


# --- 1. the last admin key, and protected mode ending for good --------------------------------


def test_the_last_admin_key_cannot_be_revoked_and_protected_mode_never_returns(
    backend: str, tmp_path: Path
) -> None:
    with running_server(backend, tmp_path) as server:
        with server.client() as anonymous:  # protected mode: the local admin
            only = _key(anonymous, "admin", "root")
        with server.client(only["api_key"]) as root:
            r = root.delete(f"/ains/keys/{only['key_id']}")
            assert "last active admin key" in _problem(r, 409)["detail"]
            assert root.get("/ains/keys").status_code == 200  # still valid

            second = _key(root, "admin", "root-2")
            assert root.delete(f"/ains/keys/{second['key_id']}").status_code == 204
            assert root.delete(f"/ains/keys/{only['key_id']}").status_code == 409

        attack = {"role": "admin", "principal_id": "attacker"}
        _problem(httpx.post(f"{server.url}/ains/keys", json=attack), 401)

        # even with every admin key gone behind the API's back, and a fresh process without
        # cached answers, anonymous callers stay refused
        _revoke_every_admin_key_in_the_database(server.database_url)
        server.stop()
        server.start()
        _problem(httpx.post(f"{server.url}/ains/keys", json=attack), 401)
        _problem(httpx.get(f"{server.url}/aitp/tasks"), 401)


def test_protected_mode_still_serves_a_loopback_caller_before_the_first_admin_key(
    backend: str, tmp_path: Path
) -> None:
    with running_server(backend, tmp_path) as server, server.client() as anonymous:
        # the caller's address decides, and X-Forwarded-For is not believed either way
        forwarded = {"X-Forwarded-For": "203.0.113.9"}
        assert anonymous.get("/ains/keys", headers=forwarded).status_code == 200
        client = _key(anonymous, "client", "c1")
        assert anonymous.get("/ains/keys").status_code == 200  # a client key does not secure
        _key(anonymous, "admin", "root")
        _problem(anonymous.get("/ains/keys"), 401)
        with server.client(client["api_key"]) as c:
            assert c.get("/aitp/tasks").status_code == 200


# --- 3. agents cannot undo an admin's decisions ----------------------------------------------


def test_a_quarantined_agent_cannot_lift_its_quarantine_by_registering_again(
    backend: str, tmp_path: Path
) -> None:
    cap, other = f"q-{uuid.uuid4().hex[:6]}:v1", f"wide-{uuid.uuid4().hex[:6]}:v1"
    with running_server(backend, tmp_path) as server, server.client() as bootstrap:
        root_key = _key(bootstrap, "admin", "root")["api_key"]
        with server.client(root_key) as root:
            r = root.post(
                "/ains/agents", json={"name": "a", "capabilities": [cap], "max_concurrency": 4}
            )
            assert r.status_code == 201, r.text
            agent_id, agent_key = r.json()["agent_id"], r.json()["api_key"]
            quarantine = {"status": "QUARANTINED", "max_concurrency": 1, "reason": "abuse"}
            assert root.patch(f"/ains/agents/{agent_id}", json=quarantine).status_code == 200
            for _ in range(3):
                submit(root, cap, client_id="victim")
                submit(root, other, client_id="victim")

            with server.client(agent_key) as agent:
                again = {"agent_id": agent_id, "name": "renamed", "max_concurrency": 10000,
                         "capabilities": [cap, other], "team": "red"}  # fmt: skip
                r = agent.post("/ains/agents", json=again)
                assert r.status_code == 201, r.text
                for view in (r.json(), root.get(f"/ains/agents/{agent_id}").json()):
                    assert view["status"] == "QUARANTINED"
                    assert view["max_concurrency"] == 1
                    assert view["capabilities"] == [cap]
                    assert view["team"] is None
                    assert view["name"] == "renamed"  # harmless fields may change
                assert r.json()["api_key"] is None
                assert claim(agent, agent_id, max_tasks=100, wait=1) == []

                # only an admin changes what an agent is routed
                widen = {"capabilities": [cap, other], "reason": "approved"}
                _problem(agent.patch(f"/ains/agents/{agent_id}", json=widen), 403)
                r = root.patch(f"/ains/agents/{agent_id}", json=widen)
                assert r.status_code == 200 and r.json()["capabilities"] == [cap, other], r.text


def test_a_deregistered_agent_cannot_come_back_with_its_own_key(
    backend: str, tmp_path: Path
) -> None:
    cap = f"d-{uuid.uuid4().hex[:6]}:v1"
    with running_server(backend, tmp_path) as server, server.client() as bootstrap:
        root_key = _key(bootstrap, "admin", "root")["api_key"]
        with server.client(root_key) as root:
            created = []
            for name in ("by-admin", "by-itself"):
                r = root.post("/ains/agents", json={"name": name, "capabilities": [cap]})
                assert r.status_code == 201, r.text
                created.append(r.json())
            extra = _key(root, "agent", created[0]["agent_id"])["api_key"]  # a second key
            submit(root, cap, client_id="victim")

            assert root.delete(f"/ains/agents/{created[0]['agent_id']}").status_code == 204
            with server.client(created[1]["api_key"]) as itself:
                assert itself.delete(f"/ains/agents/{created[1]['agent_id']}").status_code == 204

            for agent, key in ((created[0], extra), *((a, a["api_key"]) for a in created)):
                with server.client(key) as c:
                    body = {"agent_id": agent["agent_id"], "name": "back", "capabilities": [cap]}
                    _problem(c.post("/ains/agents", json=body), 401)
                    _problem(c.post(f"/ains/agents/{agent['agent_id']}/heartbeat"), 401)
                    claimed = c.post(
                        f"/aitp/agents/{agent['agent_id']}/claim",
                        json={"max_tasks": 10, "wait_seconds": 0},
                    )
                    _problem(claimed, 401)
            assert root.get(f"/ains/agents/{created[0]['agent_id']}").json()["status"] == (
                "DEREGISTERED"
            )


# --- 4. floods of bogus keys -------------------------------------------------------------------


def test_bogus_keys_are_throttled_and_their_denials_aggregated(
    backend: str, tmp_path: Path
) -> None:
    with running_server(backend, tmp_path) as server, server.client() as bootstrap:
        root_key = _key(bootstrap, "admin", "root")["api_key"]
        statuses: dict[int, int] = {}
        retry_after = set()
        with httpx.Client(base_url=server.url, timeout=30) as attacker:
            for i in range(200):
                headers = {"Authorization": f"Bearer ains_bogus{i:04d}{uuid.uuid4().hex}"}
                r = attacker.get("/aitp/tasks", headers=headers)
                statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
                if r.status_code == 429:
                    _problem(r, 429)
                    retry_after.add(int(r.headers["retry-after"]))
        assert set(statuses) == {401, 429}, statuses
        assert statuses[429] >= 100, statuses
        assert retry_after and all(1 <= s <= 60 for s in retry_after)

        with server.client(root_key) as root:  # the same address, a valid key
            assert root.get("/aitp/tasks").status_code == 200
            rows = root.get("/ains/audit", params={"outcome": "denied", "limit": 500}).json()
        denials = [row for row in rows["items"] if row["action"] == "GET /aitp/tasks"]
        assert 1 <= len(denials) <= 6, denials
        assert sum(row["detail"]["count"] for row in denials) == 200
        aggregated = [row for row in denials if row["detail"].get("aggregated")]
        assert aggregated and max(row["detail"]["count"] for row in aggregated) >= 100
        assert all(row["detail"]["source"] == "127.0.0.1" for row in denials)


# --- 5. JWT ---------------------------------------------------------------------------------


def _key_pair(algorithm: str) -> tuple[Any, str]:
    private: Any
    if algorithm == "RS256":
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    else:
        private = ec.generate_private_key(ec.SECP256R1())
    public = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private, public.decode()


@pytest.mark.parametrize("algorithm", ["RS256", "ES256"])
def test_jwts_need_exp_and_the_configured_audience_and_issuer(
    backend: str, tmp_path: Path, algorithm: str
) -> None:
    private, public = _key_pair(algorithm)
    env = {"AINS_JWT_ALGORITHM": algorithm, "AINS_JWT_PUBLIC_KEY": public,
           "AINS_JWT_AUDIENCE": "ains-api", "AINS_JWT_ISSUER": "https://idp.example"}  # fmt: skip
    exp = datetime.now(UTC) + timedelta(minutes=5)
    good = {"sub": "alice", "role": "client", "exp": exp, "aud": "ains-api",
            "iss": "https://idp.example"}  # fmt: skip

    def call(claims: dict[str, Any]) -> httpx.Response:
        token = jwt.encode(claims, private, algorithm=algorithm)
        return httpx.get(f"{server.url}/aitp/tasks", headers={"Authorization": f"Bearer {token}"})

    with running_server(backend, tmp_path, **env) as server, server.client() as bootstrap:
        _key(bootstrap, "admin", "root")
        assert call(good).status_code == 200, call(good).text
        no_exp = {k: v for k, v in good.items() if k != "exp"}
        assert "exp" in _problem(call(no_exp), 401)["detail"]
        assert "aud" in _problem(call({**good, "aud": "another-api"}), 401)["detail"].lower()
        assert "aud" in _problem(call({k: v for k, v in good.items() if k != "aud"}), 401)["detail"]
        assert (
            "iss" in _problem(call({**good, "iss": "https://evil.example"}), 401)["detail"].lower()
        )
        assert "iss" in _problem(call({k: v for k, v in good.items() if k != "iss"}), 401)["detail"]
        expired = {**good, "exp": datetime.now(UTC) - timedelta(minutes=1)}
        _problem(call(expired), 401)


def test_a_public_key_with_the_default_hs256_refuses_to_start(backend: str, tmp_path: Path) -> None:
    _, public = _key_pair("RS256")
    env = {"AINS_DATABASE_URL": fresh_database_url(backend, tmp_path),
           "AINS_PORT": str(free_port()), "AINS_JWT_PUBLIC_KEY": public,
           "PATH": "/usr/bin:/bin"}  # fmt: skip
    started = time.monotonic()
    out = subprocess.run(
        [sys.executable, "-m", "ains.cli", "serve"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        timeout=60,
        text=True,
    )
    assert out.returncode == 2, out.stderr
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, out.stderr
    assert "AINS_JWT_PUBLIC_KEY" in lines[0] and "HS256" in lines[0]
    assert "symmetric" in lines[0]
    assert time.monotonic() - started < 60


# --- 6. /metrics -----------------------------------------------------------------------------


def test_metrics_need_the_token_outside_the_allowed_networks(backend: str, tmp_path: Path) -> None:
    env = {"AINS_METRICS_TOKEN": "scrape-s3cret", "AINS_METRICS_ALLOW": "10.0.0.0/8"}
    with running_server(backend, tmp_path, **env) as server:
        url = f"{server.url}/metrics"
        assert (
            _problem(httpx.get(url), 401) and "Bearer" in httpx.get(url).headers["www-authenticate"]
        )
        _problem(httpx.get(url, headers={"Authorization": "Bearer wrong"}), 401)
        # a forwarded address from an allowed network is not believed
        _problem(httpx.get(url, headers={"X-Forwarded-For": "10.1.2.3"}), 401)
        r = httpx.get(url, headers={"Authorization": "Bearer scrape-s3cret"})
        assert r.status_code == 200 and "ains_" in r.text


def test_metrics_from_outside_the_allowed_networks_without_a_token_are_forbidden(
    backend: str, tmp_path: Path
) -> None:
    with running_server(backend, tmp_path, AINS_METRICS_ALLOW="10.0.0.0/8") as server:
        _problem(httpx.get(f"{server.url}/metrics"), 403)
    with running_server(backend, tmp_path) as server:  # the default: loopback may scrape
        assert httpx.get(f"{server.url}/metrics").status_code == 200
