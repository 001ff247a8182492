"""Issue 16, keys and tokens: API keys that expire (over HTTP and `ains keys create
--expires-in`), revocation reaching every replica within a second, and JWTs verified against a
JWKS URL (cached, refetched on an unknown `kid`), with the algorithm pinned and `nbf` checked.
Each runs real server processes."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from tests.support.flows import register_agent
from tests.support.server import (
    ROOT,
    ServerProcess,
    drop_pg_database,
    free_port,
    migrated_database_url,
    running_server,
    wait_for,
)


def _create_key(api: httpx.Client, **body: Any) -> httpx.Response:
    return api.post("/ains/keys", json={"role": "client", "principal_id": "c-exp", **body})


def _tasks(server: ServerProcess, key: str) -> int:
    headers = {"Authorization": f"Bearer {key}"}
    return httpx.get(f"{server.url}/aitp/tasks", headers=headers, timeout=10).status_code


# --- keys that expire --------------------------------------------------------------------------


def test_an_api_key_is_refused_after_its_expiry(backend: str, tmp_path: Path) -> None:
    with running_server(backend, tmp_path) as server, server.client() as admin:
        expires = datetime.now(UTC) + timedelta(seconds=2)
        r = _create_key(admin, expires_at=expires.isoformat())
        assert r.status_code == 201, r.text
        created = r.json()
        assert datetime.fromisoformat(created["expires_at"]) == expires
        listed = {k["key_id"]: k for k in admin.get("/ains/keys").json()["items"]}
        assert listed[created["key_id"]]["expires_at"] is not None
        assert _tasks(server, created["api_key"]) == 200
        time.sleep(max(0.0, (expires - datetime.now(UTC)).total_seconds()) + 0.1)
        r = httpx.get(
            f"{server.url}/aitp/tasks", headers={"Authorization": f"Bearer {created['api_key']}"}
        )
        assert r.status_code == 401 and "expired" in r.json()["detail"], r.text
        # a key that never expires keeps working
        forever = _create_key(admin).json()
        assert forever["expires_at"] is None and _tasks(server, forever["api_key"]) == 200


def test_an_expiry_in_the_past_or_without_timezone_is_a_clear_422(
    backend: str, tmp_path: Path
) -> None:
    with running_server(backend, tmp_path) as server, server.client() as admin:
        past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
        for value, reason in ((past, "future"), ("2030-01-01T00:00:00", "timezone")):
            r = _create_key(admin, expires_at=value)
            assert r.status_code == 422, r.text
            assert r.headers["content-type"].startswith("application/problem+json")
            assert "expires_at" in r.text and reason in r.text
        assert all(k["principal_id"] != "c-exp" for k in admin.get("/ains/keys").json()["items"])


def _cli(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ains.cli", "keys", "create", *args],
        env={"AINS_DATABASE_URL": database_url, "PATH": "/usr/bin:/bin"},
        cwd=ROOT,
        capture_output=True,
        timeout=60,
        text=True,
    )


def test_keys_cli_creates_a_key_that_expires(backend: str, tmp_path: Path) -> None:
    with running_server(backend, tmp_path) as server:
        # long enough to outlast the command's own start on a loaded machine
        out = _cli(server.database_url, "--role", "client", "--name", "ci", "--expires-in", "10s")
        assert out.returncode == 0, out.stderr
        key = out.stdout.strip().splitlines()[-1]
        assert "expires" in out.stderr
        assert _tasks(server, key) == 200
        wait_for(lambda: _tasks(server, key) == 401, timeout=25, message="key expired")
        bad = _cli(server.database_url, "--role", "client", "--expires-in", "soon")
        assert bad.returncode == 2
        lines = [line for line in bad.stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and "--expires-in=soon" in lines[0], bad.stderr


# --- revocation on every replica ---------------------------------------------------------------


@pytest.fixture
def two_replicas(backend: str, tmp_path: Path) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    url = migrated_database_url(backend, tmp_path)
    first = ServerProcess(url).start()
    second = ServerProcess(url).start()
    try:
        yield first, second
    finally:
        second.stop()
        first.stop()
        if backend == "postgresql":
            drop_pg_database(url)


def _refused_within(server: ServerProcess, key: str, seconds: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < seconds + 4:
        if _tasks(server, key) == 401:
            return time.monotonic() - started
        time.sleep(0.02)
    raise AssertionError("the revoked key still works on the other replica")


@pytest.mark.pg_only  # replicas share PostgreSQL; SQLite serves one process
def test_a_revoked_key_stops_working_on_every_replica_within_a_second(
    two_replicas: tuple[ServerProcess, ServerProcess], uid: str
) -> None:
    a, b = two_replicas
    with a.client() as admin:
        key = _create_key(admin).json()
        assert _tasks(b, key["api_key"]) == 200  # now cached by replica b
        assert admin.delete(f"/ains/keys/{key['key_id']}").status_code == 204
        assert _refused_within(b, key["api_key"], 1.0) < 1.0

        agent = register_agent(admin, f"cap-{uid}")
        headers = {"Authorization": f"Bearer {agent['api_key']}"}
        beat = f"{b.url}/ains/agents/{agent['agent_id']}/heartbeat"
        assert httpx.post(beat, headers=headers).status_code == 200  # cached by b
        assert admin.delete(f"/ains/agents/{agent['agent_id']}").status_code == 204
        assert _refused_within(b, agent["api_key"], 1.0) < 1.0


# --- JWT: JWKS, pinned algorithm, nbf ----------------------------------------------------------


class Jwks:
    """A JSON Web Key Set served over HTTP, whose keys the test rotates."""

    def __init__(self) -> None:
        self.keys: dict[str, rsa.RSAPrivateKey] = {}
        self.fetches = 0
        jwks = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                jwks.fetches += 1
                body = json.dumps({"keys": jwks.public_jwks()}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args: Any) -> None:
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.http.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http.server_address[1]}/.well-known/jwks.json"

    def add(self, kid: str) -> rsa.RSAPrivateKey:
        self.keys[kid] = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return self.keys[kid]

    def public_jwks(self) -> list[dict[str, Any]]:
        out = []
        for kid, private in self.keys.items():
            jwk = json.loads(RSAAlgorithm.to_jwk(private.public_key()))
            out.append({**jwk, "kid": kid, "alg": "RS256", "use": "sig"})
        return out


def _claims(**extra: Any) -> dict[str, Any]:
    exp = datetime.now(UTC) + timedelta(minutes=5)
    return {"sub": "alice", "role": "client", "exp": exp, **extra}


def _call(server: ServerProcess, token: str) -> httpx.Response:
    return httpx.get(f"{server.url}/aitp/tasks", headers={"Authorization": f"Bearer {token}"})


def test_jwts_are_verified_against_a_jwks_refetched_on_an_unknown_kid(
    backend: str, tmp_path: Path
) -> None:
    jwks = Jwks()
    first = jwks.add("k1")
    env = {"AINS_JWT_ALGORITHM": "RS256", "AINS_JWT_JWKS_URL": jwks.url}
    try:
        with running_server(backend, tmp_path, **env) as server:

            def token(private: Any, kid: str, **claims: Any) -> str:
                return jwt.encode(_claims(**claims), private, "RS256", headers={"kid": kid})

            assert _call(server, token(first, "k1")).status_code == 200
            for _ in range(5):  # cached: no refetch per request
                assert _call(server, token(first, "k1")).status_code == 200
            assert jwks.fetches == 1
            # the identity provider rotates: a token with the new kid works at once
            second = jwks.add("k2")
            time.sleep(1.1)  # the refetch pause against floods of made-up kids
            assert _call(server, token(second, "k2")).status_code == 200, "new kid refetched"
            assert jwks.fetches == 2
            # a key the JWKS does not publish, or a kid lying about its key, is refused
            stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            assert _call(server, token(stranger, "k3")).status_code == 401
            assert _call(server, token(stranger, "k1")).status_code == 401
            # nbf in the future: not yet valid
            later = datetime.now(UTC) + timedelta(minutes=2)
            r = _call(server, token(first, "k1", nbf=later))
            assert r.status_code == 401 and "not yet valid" in r.json()["detail"], r.text
    finally:
        jwks.http.shutdown()
        jwks.http.server_close()


def test_the_jwt_algorithm_is_pinned_and_nbf_checked(backend: str, tmp_path: Path) -> None:
    secret = "a-long-shared-secret-for-hs256-hs384-and-hs512-tokens-0123456789!"
    with running_server(backend, tmp_path, AINS_JWT_SECRET=secret) as server:
        assert _call(server, jwt.encode(_claims(), secret, "HS256")).status_code == 200
        for algorithm in ("HS384", "HS512"):  # the right secret, another algorithm
            r = _call(server, jwt.encode(_claims(), secret, algorithm))
            assert r.status_code == 401 and "HS256" in r.json()["detail"], r.text
        unsigned = jwt.encode(_claims(), None, "none")
        assert _call(server, unsigned).status_code == 401
        later = datetime.now(UTC) + timedelta(minutes=2)
        r = _call(server, jwt.encode(_claims(nbf=later), secret, "HS256"))
        assert r.status_code == 401 and "not yet valid" in r.json()["detail"], r.text


def test_jwks_settings_that_cannot_work_refuse_to_start(tmp_path: Path) -> None:
    base = {"AINS_DATABASE_URL": f"sqlite:///{tmp_path}/j.db", "PATH": "/usr/bin:/bin",
            "AINS_PORT": str(free_port())}  # fmt: skip
    cases = [
        ({"AINS_JWT_JWKS_URL": "https://idp.example/jwks"}, "asymmetric"),
        ({"AINS_JWT_JWKS_URL": "ftp://idp.example/jwks", "AINS_JWT_ALGORITHM": "RS256"}, "http"),
    ]
    for env, says in cases:
        out = subprocess.run(
            [sys.executable, "-m", "ains.cli", "serve"],
            env={**base, **env},
            cwd=ROOT,
            capture_output=True,
            timeout=60,
            text=True,
        )
        lines = [line for line in out.stderr.splitlines() if line.strip()]
        assert out.returncode == 2 and len(lines) == 1, out.stderr
        assert "AINS_JWT_JWKS_URL" in lines[0] and says in lines[0], out.stderr
