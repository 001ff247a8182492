"""Shared by the MCP tests: one sample agent and two client keys per server (per backend)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from tests.support.server import ServerProcess, online_echo_agent


@pytest.fixture(scope="package")
def echo_cap(server: ServerProcess) -> Iterator[str]:
    """A capability served by a running sample agent (echo handler), for the MCP tests."""
    cap = f"mcp-echo-{uuid.uuid4().hex[:8]}:v1"
    with online_echo_agent(server, cap):
        yield cap


def client_key(server: ServerProcess, principal_id: str) -> str:
    with server.client() as admin:  # protected mode: the loopback caller is the local admin
        body = {"role": "client", "principal_id": principal_id, "name": principal_id}
        r = admin.post("/ains/keys", json=body)
    assert r.status_code == 201, r.text
    return str(r.json()["api_key"])


@pytest.fixture(scope="package")
def keys(server: ServerProcess) -> dict[str, str]:
    uid = uuid.uuid4().hex[:8]
    return {who: client_key(server, f"mcp-{who}-{uid}") for who in ("a", "b")}
