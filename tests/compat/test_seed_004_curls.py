"""Seed 004's curl examples, read from the seed file at test time and run verbatim against a
server on localhost:4000 (where they point). The one change: the placeholder `TOKEN` becomes a
JWT signed with the server's AINS_JWT_SECRET, as seed 004's clients get theirs."""

from __future__ import annotations

import json
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.compat.seed004 import SERVER_ENV, curl_examples, example_path, seed_text, token
from tests.support.server import ServerProcess, drop_pg_database, migrated_database_url

pytestmark = pytest.mark.serial  # binds port 4000, as the seed's curls do
PORT = 4000


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@pytest.fixture
def port_4000(backend: str, tmp_dir: Path) -> Iterator[ServerProcess]:
    deadline = time.monotonic() + 90
    while not _port_free(PORT):
        if time.monotonic() > deadline:
            pytest.fail(f"port {PORT} stayed busy")
        time.sleep(0.5)
    url = migrated_database_url(backend, tmp_dir)
    server = ServerProcess(url, env=dict(SERVER_ENV), port=PORT, host="localhost").start()
    try:
        yield server
    finally:
        server.stop()
        if backend == "postgresql":
            drop_pg_database(url)


def _run(command: str) -> tuple[int, Any]:
    out = subprocess.run(
        ["bash", "-c", command + " -s -w '\\n%{http_code}'"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    ).stdout
    body, _, code = out.rpartition("\n")
    return int(code), json.loads(body)


def test_the_seed_shows_three_curl_examples() -> None:
    examples = curl_examples(seed_text())
    assert [example_path(c) for c in examples] == [
        "/api/ai/tasks/health",
        "/api/ai/tasks",
        "/api/ai/tasks/queue/status",
    ]
    assert sum("Bearer TOKEN" in c for c in examples) == 2


def test_every_seed_004_curl_example_works_verbatim(port_4000: ServerProcess) -> None:
    jwt_token = token()
    answers = {}
    for command in curl_examples(seed_text()):
        status, body = _run(command.replace("Bearer TOKEN", f"Bearer {jwt_token}"))
        answers[example_path(command)] = (status, body)

    status, health = answers["/api/ai/tasks/health"]
    assert status == 200, health
    assert health["success"] is True and health["status"] == "healthy"

    status, created = answers["/api/ai/tasks"]
    assert status == 201, created
    task = created["data"]
    assert created["success"] is True
    assert (task["agentId"], task["taskType"], task["priority"], task["priorityLevel"]) == (
        "test",
        "test",
        "HIGH",
        8,
    )
    assert task["status"] == "PENDING" and task["id"] and task["clientId"] == "seed004-user"

    status, queue = answers["/api/ai/tasks/queue/status"]
    assert status == 200, queue
    assert queue["success"] is True
    assert queue["data"]["pending"] == 1
    assert queue["data"]["byPriority"] == {"URGENT": 0, "HIGH": 1, "NORMAL": 0, "LOW": 0}


def test_the_examples_check_the_token(port_4000: ServerProcess) -> None:
    """The token is verified: the same examples with a JWT whose signature is not
    AINS_JWT_SECRET's are refused."""
    forged = token().rsplit(".", 1)[0] + ".c2lnbmF0dXJl"
    for command in curl_examples(seed_text()):
        if "Bearer TOKEN" not in command:
            continue
        status, body = _run(command.replace("Bearer TOKEN", f"Bearer {forged}"))
        assert status == 401, body
