"""Streams (SSE /aitp/events, WebSocket /ws/tasks) and their principals: the per-principal cap,
revoked keys end their streams, and queue.stats shows what GET /aitp/queue/stats shows."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import sqlite3
import threading
import time
from typing import Any

import asyncpg
import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from tests.conftest import require_postgres
from tests.support.server import (
    ServerProcess,
    create_pg_database,
    drop_pg_database,
    wait_for,
)


class SSEStream:
    """An SSE subscription read by a thread: its messages, and when the server ended it."""

    def __init__(self, server: ServerProcess, key: str) -> None:
        self.messages: list[dict[str, Any]] = []
        self.ended_at: float | None = None
        self._client = httpx.Client(base_url=server.url, timeout=None)
        self._response = self._client.send(
            self._client.build_request(
                "GET", "/aitp/events", headers={"Authorization": f"Bearer {key}"}
            ),
            stream=True,
        )
        assert self._response.status_code == 200, self._response.read()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()
        wait_for(lambda: self.messages, timeout=10, message="first SSE message")

    def _read(self) -> None:
        try:
            for line in self._response.iter_lines():
                if line.startswith("data: "):
                    self.messages.append(json.loads(line[6:]))
        except httpx.HTTPError:
            pass
        self.ended_at = time.monotonic()

    def events(self) -> list[dict[str, Any]]:
        return [m for m in self.messages if m["type"] != "queue.stats"]

    def close(self) -> None:
        # shut the socket down: a close() alone waits for the reader thread's recv to return
        sock = self._response.extensions["network_stream"].get_extra_info("socket")
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        self._thread.join(timeout=5)
        self._response.close()
        self._client.close()


def new_key(api: httpx.Client, principal_id: str) -> dict[str, Any]:
    body = {"role": "client", "principal_id": principal_id, "name": principal_id}
    r = api.post("/ains/keys", json=body)
    assert r.status_code == 201, r.text
    return dict(r.json())


def ws_connect(server: ServerProcess, key: str) -> ClientConnection:
    url = server.url.replace("http://", "ws://") + f"/ws/tasks?token={key}"
    return connect(url, open_timeout=10)


def submit_as(server: ServerProcess, key: str, client_id: str, capability: str) -> str:
    body = {"client_id": client_id, "task_type": "t", "capability_required": capability}
    with server.client(key) as owner:
        r = owner.post("/aitp/tasks", json=body)
    assert r.status_code == 201, r.text
    return str(r.json()["task_id"])


def ws_next_event(ws: ClientConnection, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        message = json.loads(ws.recv(timeout=max(0.01, deadline - time.monotonic())))
        if message["type"] != "queue.stats":
            return dict(message)


def ws_closed_code(ws: ClientConnection, timeout: float) -> int | None:
    """The close code once the server closes the socket; events received meanwhile fail."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            message = json.loads(ws.recv(timeout=max(0.01, deadline - time.monotonic())))
        except TimeoutError:
            break
        except ConnectionClosed:
            return ws.close_code
        assert message["type"] == "queue.stats", f"delivered after revocation: {message}"
    return None


def ws_accepted(server: ServerProcess, key: str) -> bool:
    with ws_connect(server, key) as ws:
        try:
            return bool(json.loads(ws.recv(timeout=5))["type"] == "queue.stats")
        except ConnectionClosed:
            return False


def test_streams_are_capped_per_principal(
    server: ServerProcess, api: httpx.Client, uid: str
) -> None:
    limit = 10  # AINS_MAX_STREAMS_PER_PRINCIPAL's default
    key_a = new_key(api, f"cap-a-{uid}")["api_key"]
    key_b = new_key(api, f"cap-b-{uid}")["api_key"]
    streams = [SSEStream(server, key_a) for _ in range(limit)]
    try:
        r = httpx.get(f"{server.url}/aitp/events", headers={"Authorization": f"Bearer {key_a}"})
        assert r.status_code == 429
        assert r.headers["content-type"] == "application/problem+json"
        assert "AINS_MAX_STREAMS_PER_PRINCIPAL" in r.json()["detail"]
        with ws_connect(server, key_a) as ws:
            with pytest.raises(ConnectionClosed):
                ws.recv(timeout=5)
            assert ws.close_code == 4429
        other = SSEStream(server, key_b)  # the cap is per principal
        other.close()
        streams.pop().close()  # a closed stream frees its place at once
        wait_for(lambda: ws_accepted(server, key_a), timeout=2, message="place not freed")
    finally:
        for stream in streams:
            stream.close()


def test_revoking_a_key_ends_its_streams_within_a_second(
    server: ServerProcess, api: httpx.Client, uid: str
) -> None:
    client_id = f"rev-{uid}"
    created = new_key(api, client_id)
    key, capability = created["api_key"], f"rev-{uid}:v1"
    stream = SSEStream(server, key)
    with ws_connect(server, key) as ws:
        assert json.loads(ws.recv(timeout=10))["type"] == "queue.stats"
        first = submit_as(server, key, client_id, capability)
        wait_for(lambda: any(m["task_id"] == first for m in stream.events()), timeout=5)
        assert ws_next_event(ws, timeout=5)["task_id"] == first

        revoked_at = time.monotonic()
        assert api.delete(f"/ains/keys/{created['key_id']}").status_code == 204
        code = ws_closed_code(ws, timeout=1.5)
        wait_for(lambda: stream.ended_at is not None, timeout=1.5, message="SSE still open")
    assert code == 1008
    assert stream.ended_at is not None and stream.ended_at - revoked_at < 1.5
    seen = len(stream.events())
    api.post(
        "/aitp/tasks",
        json={"client_id": client_id, "task_type": "t", "capability_required": capability},
    )
    time.sleep(0.5)
    assert len(stream.events()) == seen
    stream.close()


def _revoke_in_database(database_url: str, key_id: str) -> None:
    """Revoke a key without telling the server (as another replica whose message was lost)."""
    if database_url.startswith("sqlite"):
        with sqlite3.connect(database_url.removeprefix("sqlite:///")) as db:
            db.execute(
                "UPDATE api_keys SET revoked_at = CURRENT_TIMESTAMP WHERE key_id = ?", (key_id,)
            )
        return

    async def run() -> None:
        conn = await asyncpg.connect(database_url)
        try:
            await conn.execute("UPDATE api_keys SET revoked_at = now() WHERE key_id = $1", key_id)
        finally:
            await conn.close()

    asyncio.run(run())


def test_streams_of_a_key_revoked_elsewhere_end_within_a_second_and_a_half(
    server: ServerProcess, api: httpx.Client, uid: str
) -> None:
    created = new_key(api, f"rev2-{uid}")
    stream = SSEStream(server, created["api_key"])
    with ws_connect(server, created["api_key"]) as ws:
        assert json.loads(ws.recv(timeout=10))["type"] == "queue.stats"
        revoked_at = time.monotonic()
        _revoke_in_database(server.database_url, created["key_id"])
        code = ws_closed_code(ws, timeout=2.0)
        wait_for(lambda: stream.ended_at is not None, timeout=2.0, message="SSE still open")
    assert code == 1008
    assert stream.ended_at is not None and stream.ended_at - revoked_at < 1.5
    stream.close()


def test_sse_queue_stats_show_the_callers_queue_like_the_rest_endpoint(
    server: ServerProcess, api: httpx.Client, uid: str
) -> None:
    mine, theirs = f"qs-a-{uid}", f"qs-b-{uid}"
    key_a, key_b = new_key(api, mine)["api_key"], new_key(api, theirs)["api_key"]
    for _ in range(3):
        submit_as(server, key_a, mine, f"qs-{uid}:v1")  # no agent has it: stays PENDING
    submit_as(server, key_b, theirs, f"qs-{uid}:v1")
    for key, expected in ((key_a, 3), (key_b, 1)):
        with server.client(key) as owner:
            rest = owner.get("/aitp/queue/stats").json()
        stream = SSEStream(server, key)
        stats = stream.messages[0]
        stream.close()
        assert stats["type"] == "queue.stats"
        assert rest["depth"] == expected
        assert stats["data"]["pending"] == expected
        rest_by_priority = {str(p): n for p, n in rest["by_priority"].items() if n}
        assert stats["data"]["pending_by_priority"] == rest_by_priority


@pytest.mark.pg_only
def test_revoking_a_key_on_one_replica_ends_its_streams_on_another() -> None:
    """PostgreSQL replicas: the revoking replica tells the others (NOTIFY), so the streams end
    at once. The second replica re-checks keys only every 60 s, so only the message can end
    its streams within the 1.5 s allowed."""
    require_postgres()
    url = create_pg_database()
    first = ServerProcess(url).start()
    second = ServerProcess(url, env={"AINS_STREAM_KEY_RECHECK_SECONDS": "60"}).start()
    try:
        with first.client() as admin:
            for round_ in range(3):
                created = new_key(admin, f"replica-client-{round_}")
                stream = SSEStream(second, created["api_key"])
                with ws_connect(second, created["api_key"]) as ws:
                    assert json.loads(ws.recv(timeout=10))["type"] == "queue.stats"
                    revoked_at = time.monotonic()
                    assert admin.delete(f"/ains/keys/{created['key_id']}").status_code == 204
                    code = ws_closed_code(ws, timeout=1.5)
                    closed_in = time.monotonic() - revoked_at
                wait_for(lambda s=stream: s.ended_at is not None, timeout=1.5, message="SSE")
                assert code == 1008
                assert stream.ended_at is not None
                assert stream.ended_at - revoked_at < 1.5
                assert closed_in < 1.5
                stream.close()
    finally:
        first.stop()
        second.stop()
        drop_pg_database(url)
