"""Issue 16, "secrets never leak": canaries — sealed task inputs, results, progress and errors
(`encrypt: true` with AINS_ENCRYPTION_KEYS set), webhook secrets, API keys and JWTs — go through
a real server, and none of them is then found in the database (SQLite: the file bytes, WAL
included; PostgreSQL: every column of every table), in the server's log, or in an answer that
has no business carrying it. Plain control values are found in the same places, so that each
search is known to look where the data is."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import jwt
import pytest

from ains.security.crypto import generate_key
from tests.support.receiver import Receiver, receiver
from tests.support.server import ServerProcess, running_server, wait_for

JWT_SECRET = "canary-jwt-signing-secret-4f1c2a9e7b"
STREAM_SECONDS = 0.8


@dataclass
class Canaries:
    """Secret values the server is handed, and plain values it is expected to store."""

    uid: str = field(default_factory=lambda: uuid.uuid4().hex[:10])
    secrets: dict[str, str] = field(default_factory=dict)
    plain: dict[str, str] = field(default_factory=dict)

    def secret(self, name: str, value: str | None = None) -> str:
        self.secrets[name] = value or f"CANARY-{name}-{self.uid}"
        return self.secrets[name]

    def found_in(self, text: bytes | str) -> list[str]:
        data = text.encode() if isinstance(text, str) else text
        return sorted(name for name, value in self.secrets.items() if value.encode() in data)


@pytest.fixture(scope="module")
def hook_receiver() -> Iterator[Receiver]:
    with receiver() as rec:
        yield rec


@pytest.fixture(scope="module")
def canary_server(
    backend: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    env = {
        "AINS_ENCRYPTION_KEYS": f"k1:{generate_key()}",
        "AINS_JWT_SECRET": JWT_SECRET,
        "AINS_WEBHOOK_ALLOWED_HOSTS": '["127.0.0.1"]',
        # the most the server ever logs
        "AINS_LOG_LEVEL": "debug",
    }
    with running_server(backend, tmp_path_factory.mktemp("canary"), **env) as server:
        yield server


def _key(api: httpx.Client, c: Canaries, name: str, role: str, principal_id: str) -> str:
    r = api.post("/ains/keys", json={"role": role, "principal_id": principal_id})
    assert r.status_code == 201, r.text
    return c.secret(name, r.json()["api_key"])


def _jwt(c: Canaries, name: str, sub: str, role: str) -> str:
    exp = datetime.now(UTC) + timedelta(minutes=10)
    token = jwt.encode({"sub": sub, "role": role, "exp": exp}, JWT_SECRET, algorithm="HS256")
    return c.secret(name, token)


def _ok(r: httpx.Response) -> Any:
    assert r.status_code < 300, f"{r.request.method} {r.request.url}: {r.status_code} {r.text}"
    return r.json() if r.content else None


@dataclass
class Run:
    server: ServerProcess
    canaries: Canaries
    clients: dict[str, httpx.Client]
    ids: dict[str, str]


def _exercise(server: ServerProcess, rec: Receiver) -> Run:
    """Every secret goes in, by the paths a user would take."""
    c = Canaries()
    with server.client() as bootstrap:
        admin_key = _key(bootstrap, c, "admin-key", "admin", f"root-{c.uid}")
    admin = server.client(admin_key)
    alice = f"alice-{c.uid}"
    clients = {
        "admin": admin,
        "alice": server.client(_key(admin, c, "client-key", "client", alice)),
        "alice-jwt": server.client(_jwt(c, "client-jwt", alice, "client")),
        "bob": server.client(_jwt(c, "other-jwt", f"bob-{c.uid}", "client")),
    }
    cap = f"canary-{c.uid}:v1"
    body = {"name": "a", "capabilities": [cap], "max_concurrency": 10}
    agent = _ok(admin.post("/ains/agents", json=body))
    clients["agent"] = server.client(c.secret("agent-key", agent["api_key"]))
    # webhooks: a secret given in plain, one the server makes (shown once), one set later
    given = c.secret("webhook-secret")
    hook = _ok(clients["alice"].post("/aitp/webhooks", json={"url": rec.url, "secret": given}))
    made = _ok(clients["alice"].post("/aitp/webhooks", json={"url": rec.url}))
    c.secret("webhook-made-secret", made["secret"])
    patched = {"secret": c.secret("webhook-new-secret")}
    _ok(clients["alice"].patch(f"/aitp/webhooks/{made['webhook_id']}", json=patched))
    _ok(clients["alice"].post(f"/aitp/webhooks/{hook['webhook_id']}/test"))
    # sealed tasks: input, progress, result; another one's error
    c.plain["task-type"] = f"PLAIN-type-{c.uid}"
    sealed = {"task_type": c.plain["task-type"], "capability_required": cap, "encrypt": True,
              "input_data": {"prompt": c.secret("sealed-input")}}  # fmt: skip
    done = _ok(clients["alice-jwt"].post("/aitp/tasks", json=sealed))
    c.plain["input"] = f"PLAIN-input-{c.uid}"  # not sealed: stored as given
    plain = {**sealed, "encrypt": False, "input_data": {"prompt": c.plain["input"]}}
    _ok(clients["alice"].post("/aitp/tasks", json={**plain, "capability_required": "nobody:v1"}))
    failed = _ok(clients["alice"].post("/aitp/tasks", json={**sealed, "max_retries": 0}))
    claimed = _ok(
        clients["agent"].post(
            f"/aitp/agents/{agent['agent_id']}/claim", json={"max_tasks": 2, "wait_seconds": 5}
        )
    )["tasks"]
    assert {t["task_id"] for t in claimed} == {done["task_id"], failed["task_id"]}, claimed
    attempts = {t["task_id"]: t["attempt_id"] for t in claimed}
    agent_api = clients["agent"]
    run_one = f"/aitp/tasks/{done['task_id']}"
    _ok(agent_api.post(f"{run_one}/start", json={"attempt_id": attempts[done["task_id"]]}))
    progress = {"attempt_id": attempts[done["task_id"]], "progress": c.secret("sealed-progress")}
    _ok(agent_api.post(f"{run_one}/heartbeat", json=progress))
    result = {"attempt_id": attempts[done["task_id"]],
              "result_data": {"answer": c.secret("sealed-result")}}  # fmt: skip
    _ok(agent_api.post(f"{run_one}/complete", json=result))
    error = {"attempt_id": attempts[failed["task_id"]], "error": c.secret("sealed-error"),
             "retryable": False}  # fmt: skip
    _ok(agent_api.post(f"/aitp/tasks/{failed['task_id']}/fail", json=error))
    wait_for(lambda: len(rec.events(ok_only=False)) >= 3, message="webhook deliveries")
    ids = {"done": done["task_id"], "failed": failed["task_id"], "hook": hook["webhook_id"],
           "made": made["webhook_id"], "agent": agent["agent_id"]}  # fmt: skip
    return Run(server, c, clients, ids)


@pytest.fixture(scope="module")
def run(canary_server: ServerProcess, hook_receiver: Receiver) -> Iterator[Run]:
    done = _exercise(canary_server, hook_receiver)
    # credentials in the query string too, where browsers' EventSource must put them
    for name in ("client-key", "client-jwt"):
        _stream_text(canary_server, {"token": done.canaries.secrets[name], "after": "0"})
    yield done
    for client in done.clients.values():
        client.close()


def _stream_text(server: ServerProcess, params: dict[str, str], key: str | None = None) -> str:
    text = ""
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    timeout = httpx.Timeout(10, read=STREAM_SECONDS)
    with httpx.stream(
        "GET", f"{server.url}/aitp/events", params=params, headers=headers, timeout=timeout
    ) as r:
        assert r.status_code == 200, r.read()
        deadline = time.monotonic() + STREAM_SECONDS
        try:
            for chunk in r.iter_text():
                text += chunk
                if time.monotonic() > deadline:
                    break
        except httpx.ReadTimeout:
            pass
    return text


# --- the database -----------------------------------------------------------------------------


async def _pg_dump(url: str) -> bytes:
    """Every value of every column of every table in the public schema."""
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        tables = await conn.fetch(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = 'public' AND table_type = 'BASE TABLE'"
        )
        out = bytearray()
        for t in tables:
            for record in await conn.fetch(f'SELECT * FROM "{t["table_name"]}"'):
                for value in record.values():
                    out += value if isinstance(value, bytes) else str(value).encode()
                    out += b"\n"
        return bytes(out)
    finally:
        await conn.close()


def _database_bytes(server: ServerProcess) -> bytes:
    if server.backend == "postgresql":
        return asyncio.run(_pg_dump(server.database_url))
    path = Path(server.database_url.removeprefix("sqlite:///"))
    files = [path, path.with_name(path.name + "-wal")]
    return b"".join(f.read_bytes() for f in files if f.exists())


def test_the_database_holds_no_secret(run: Run) -> None:
    stored = _database_bytes(run.server)
    for name, value in run.canaries.plain.items():
        assert value.encode() in stored, f"the search does not reach where {name} is stored"
    assert run.canaries.found_in(stored) == []


# --- answers ----------------------------------------------------------------------------------


def test_answers_show_secrets_only_to_whom_they_belong(run: Run) -> None:
    c, api, ids = run.canaries, run.clients, run.ids
    # the owner reads its sealed task back: the search would see a leak
    own = _ok(api["alice"].get(f"/aitp/tasks/{ids['done']}"))
    assert "sealed-input" in c.found_in(str(own)) and "sealed-result" in c.found_in(str(own))
    answers = {
        "key list": api["admin"].get("/ains/keys"),
        "audit log": api["admin"].get("/ains/audit", params={"limit": 500}),
        "webhook list": api["alice"].get("/aitp/webhooks"),
        "webhook": api["alice"].get(f"/aitp/webhooks/{ids['hook']}"),
        "webhook (admin)": api["admin"].get(f"/aitp/webhooks/{ids['made']}"),
        "deliveries": api["alice"].get(f"/aitp/webhooks/{ids['hook']}/deliveries"),
        "delivery logs": api["alice"].get(f"/aitp/webhooks/{ids['hook']}/logs"),
        "agent": api["agent"].get(f"/ains/agents/{ids['agent']}"),
        "trust": api["admin"].get(f"/ains/agents/{ids['agent']}/trust"),
        "analytics export": api["admin"].get(
            "/aitp/analytics/export", params={"report": "tasks", "format": "json"}
        ),
        "another client's task list": api["bob"].get("/aitp/tasks"),
        "another client's DLQ": api["bob"].get("/aitp/dlq"),
        "metrics": httpx.get(f"{run.server.url}/metrics"),
        "a bad token's 401": httpx.get(
            f"{run.server.url}/aitp/tasks",
            headers={"Authorization": f"Bearer {c.secrets['client-jwt']}x"},
        ),
    }
    leaks = {name: c.found_in(r.text) for name, r in answers.items()}
    assert all(r.status_code < 500 for r in answers.values())
    assert {name: found for name, found in leaks.items() if found} == {}
    bob_stream = _stream_text(run.server, {"after": "0"}, key=c.secrets["other-jwt"])
    assert "retry:" in bob_stream
    assert c.found_in(bob_stream) == []


# --- the log ----------------------------------------------------------------------------------


def test_the_log_holds_no_secret_after_all_of_the_above(run: Run) -> None:
    assert run.server.log_path is not None
    log = run.server.log_path.read_bytes()
    assert log.strip(), "the server logged nothing at debug level"
    assert run.canaries.found_in(log) == []
