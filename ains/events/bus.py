"""Wake-ups between the parts of one process and, on PostgreSQL, between replicas.

A message is a (topic, payload) pair of strings. `publish` delivers it to this process's
subscribers at once and, on PostgreSQL, to every other replica through LISTEN/NOTIFY (messages
published close together are sent in one round trip). Messages are hints that work may be
waiting; the database stays the source of truth, so a lost message only delays work until the
next safety-net pass.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

import orjson

from ains.db import dialect
from ains.db import repository as driver_sql

log = logging.getLogger(__name__)

Handler = Callable[[str], None]
Relay = Callable[[str, str], None]
CHANNEL = "ains_bus"


class Bus:
    def __init__(self) -> None:
        self._handlers: dict[str, list[Handler]] = defaultdict(list)
        self._relays: dict[str, list[Relay]] = defaultdict(list)

    def add_relay(self, topic: str, relay: Relay) -> None:
        """Also hand this topic's published messages to ``relay`` (another way out to the
        other replicas, such as Redis pub/sub)."""
        self._relays[topic].append(relay)

    def _relay(self, topic: str, payload: str) -> None:
        for relay in self._relays.get(topic, ()):
            try:
                relay(topic, payload)
            except Exception:
                log.exception("bus relay for %s failed", topic)

    def subscribe(self, topic: str, handler: Handler) -> None:
        self._handlers[topic].append(handler)

    def deliver(self, topic: str, payload: str) -> None:
        for handler in self._handlers.get(topic, ()):
            try:
                handler(payload)
            except Exception:  # a bad subscriber must not break the publisher
                log.exception("bus handler for %s failed", topic)

    def publish(self, topic: str, payload: str) -> None:
        self.deliver(topic, payload)
        self._relay(topic, payload)

    def publish_many(self, topic: str, payloads: Iterable[str]) -> None:
        for payload in payloads:
            self.publish(topic, payload)

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None


class PostgresBus(Bus):
    """Adds LISTEN/NOTIFY fan-out across server processes sharing one PostgreSQL."""

    def __init__(self, dsn: str) -> None:
        super().__init__()
        self._dsn = dsn
        self._origin = f"{os.getpid()}-{os.urandom(4).hex()}"
        self._outbox: set[tuple[str, str]] = set()
        self._flush_scheduled = False
        self._conn: Any = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    def publish(self, topic: str, payload: str) -> None:
        self.deliver(topic, payload)
        self._relay(topic, payload)
        self._outbox.add((topic, payload))
        if not self._flush_scheduled:
            self._flush_scheduled = True
            asyncio.get_running_loop().call_soon(self._spawn_flush)

    def _spawn_flush(self) -> None:
        asyncio.get_running_loop().create_task(self._flush())

    async def _flush(self) -> None:
        self._flush_scheduled = False
        batch, self._outbox = self._outbox, set()
        if not batch or self._conn is None:
            return
        messages = [
            orjson.dumps({"o": self._origin, "t": topic, "p": payload}).decode()
            for topic, payload in batch
        ]
        try:
            await driver_sql.notify_many(self._conn, CHANNEL, messages)
        except Exception:
            log.warning("NOTIFY failed; other replicas catch up on their next pass")

    def _on_notify(self, _conn: Any, _pid: int, _channel: str, message: str) -> None:
        try:
            data = orjson.loads(message)
        except orjson.JSONDecodeError:
            return
        if data.get("o") != self._origin:
            self.deliver(str(data["t"]), str(data["p"]))

    async def _connect(self) -> None:
        import asyncpg

        self._conn = await asyncpg.connect(self._dsn)
        await self._conn.add_listener(CHANNEL, self._on_notify)

    async def start(self) -> None:
        await self._connect()
        self._task = asyncio.get_running_loop().create_task(self._watch())

    async def _watch(self) -> None:
        """Reconnect the listening connection if the database restarts."""
        while not self._stopping:
            await asyncio.sleep(1.0)
            if self._conn is not None and not self._conn.is_closed():
                continue
            try:
                await self._connect()
                log.info("bus reconnected")
                for topic in ("route", "deadline", "events"):
                    self.deliver(topic, "*")
            except Exception:
                self._conn = None

    async def stop(self) -> None:
        self._stopping = True
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._conn is not None:
            with contextlib.suppress(Exception):
                await self._conn.close()


def create_bus(database_url: str) -> Bus:
    if dialect.has_listen_notify(database_url):
        return PostgresBus(dialect.plain_dsn(database_url))
    return Bus()
