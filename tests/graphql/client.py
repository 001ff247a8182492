"""A GraphQL client for the tests: HTTP through httpx, subscriptions through `websockets`
speaking graphql-transport-ws, and the examples of docs/graphql.md (the tests run those)."""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any

import httpx
from websockets.sync.client import ClientConnection, connect

from tests.support.server import ROOT, ServerProcess

DOC = ROOT / "docs" / "graphql.md"
_BLOCK = re.compile(r"```graphql\n# example: (\w+)\n(.*?)```", re.DOTALL)


@cache
def examples() -> dict[str, str]:
    return {name: body for name, body in _BLOCK.findall(DOC.read_text())}


def example(name: str) -> str:
    return examples()[name]


def post(client: httpx.Client, query: str, variables: dict[str, Any] | None = None) -> Any:
    """The JSON answer to an operation (HTTP 200 expected: GraphQL errors are in the body)."""
    r = client.post("/graphql", json={"query": query, "variables": variables or {}})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/json"), r.headers
    return r.json()


def data(client: httpx.Client, query: str, variables: dict[str, Any] | None = None) -> Any:
    """The data of an operation that must succeed."""
    body = post(client, query, variables)
    assert "errors" not in body, body
    return body["data"]


def only_error(body: dict[str, Any]) -> dict[str, Any]:
    errors = body.get("errors") or []
    assert len(errors) == 1, body
    return dict(errors[0])


class Subscriptions:
    """One graphql-transport-ws connection (open it with `subscriptions`)."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws

    def send(self, message: dict[str, Any]) -> None:
        self.ws.send(json.dumps(message))

    def receive(self, timeout: float) -> dict[str, Any]:
        return dict(json.loads(self.ws.recv(timeout=timeout)))

    def acknowledged(self, timeout: float = 10) -> None:
        message = self.receive(timeout)
        assert message["type"] == "connection_ack", message

    def subscribe(self, query: str, variables: dict[str, Any] | None = None) -> str:
        op_id = uuid.uuid4().hex[:8]
        payload = {"query": query, "variables": variables or {}}
        self.send({"id": op_id, "type": "subscribe", "payload": payload})
        return op_id

    def next_data(self, op_id: str, timeout: float) -> dict[str, Any]:
        """The next `next` message's data for `op_id` (errors fail the test)."""
        deadline = time.monotonic() + timeout
        while True:
            message = self.receive(max(0.01, deadline - time.monotonic()))
            if message.get("id") != op_id or message["type"] == "pong":
                continue
            assert message["type"] == "next", message
            assert "errors" not in message["payload"], message
            return dict(message["payload"]["data"])


@contextmanager
def subscriptions(server: ServerProcess, key: str | None = None) -> Iterator[Subscriptions]:
    """A connection that has sent `connection_init` with `key`."""
    url = server.url.replace("http://", "ws://") + "/graphql"
    protocols: list[Any] = ["graphql-transport-ws"]
    with connect(url, subprotocols=protocols, open_timeout=10) as ws:
        subs = Subscriptions(ws)
        payload = {"Authorization": f"Bearer {key}"} if key else {}
        subs.send({"type": "connection_init", "payload": payload})
        yield subs
