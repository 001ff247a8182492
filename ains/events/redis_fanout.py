"""Cache invalidations between replicas over Redis pub/sub (when `AINS_REDIS_URL` is set).

The bus hands this relay the messages of a few topics (a key revoked or created); it publishes
them on one Redis channel, and delivers the other replicas' messages to this process's bus.
On PostgreSQL the same messages also go through LISTEN/NOTIFY, so either path alone keeps every
replica's caches right; a message is only ever "drop this entry", so receiving it twice is
harmless.

Redis down or restarted: the server keeps serving (the caches expire on their short TTL and the
database answers), `/ready` reports Redis `degraded` with the reason, the reason is logged once
per outage, and the subscriber reconnects by itself. Messages published while it was away are
lost, so on reconnecting it delivers `cache.reset`: every cache starts again from the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Iterable

import orjson
import redis.asyncio as aioredis

from ains.events.bus import Bus

log = logging.getLogger(__name__)

CHANNEL = "ains:invalidate"
RESET_TOPIC = "cache.reset"
RECONNECT_SECONDS = 1.0
# a subscription that heard nothing for this long pings, so a dead connection is noticed
PING_SECONDS = 5.0
START_WAIT_SECONDS = 2.0


class RedisFanout:
    def __init__(self, url: str, bus: Bus, topics: Iterable[str], channel: str = CHANNEL):
        self._client = aioredis.Redis.from_url(
            url, socket_connect_timeout=1.0, socket_timeout=None, health_check_interval=0
        )
        self._publisher = aioredis.Redis.from_url(
            url, socket_connect_timeout=1.0, socket_timeout=1.0
        )
        self._bus = bus
        self._channel = channel
        self._origin = f"{os.getpid()}-{os.urandom(4).hex()}"
        self._task: asyncio.Task[None] | None = None
        self._sends: set[asyncio.Task[None]] = set()
        self.subscribed = asyncio.Event()
        self.problem: str | None = "not connected yet"
        self._outage_logged = False
        for topic in topics:
            bus.add_relay(topic, self.send)

    # --- state, for /ready ------------------------------------------------------------------

    @property
    def healthy(self) -> bool:
        return self.problem is None

    def _down(self, reason: str) -> None:
        if not self._outage_logged:  # once per outage, not once per retry
            self._outage_logged = True
            log.warning(
                "cache invalidation: Redis (AINS_REDIS_URL) failed (%s): serving from the "
                "database; invalidations still travel over the database bus where there is "
                "one; reconnecting every %.0f s",
                reason,
                RECONNECT_SECONDS,
            )
        self.problem = reason
        self.subscribed.clear()

    def _up(self) -> None:
        self.problem = None
        self.subscribed.set()
        if self._outage_logged:
            self._outage_logged = False
            log.warning("cache invalidation: Redis (AINS_REDIS_URL) answers again")
        # whatever was published while we were not listening is lost: start caches afresh
        self._bus.deliver(RESET_TOPIC, "")

    # --- publishing -------------------------------------------------------------------------

    def send(self, topic: str, payload: str) -> None:
        message = orjson.dumps({"o": self._origin, "t": topic, "p": payload})
        task = asyncio.get_running_loop().create_task(self._send(message))
        self._sends.add(task)
        task.add_done_callback(self._sends.discard)

    async def _send(self, message: bytes) -> None:
        try:
            await self._publisher.publish(self._channel, message)
        except Exception as exc:  # the subscriber notices the outage and reports it
            log.debug("Redis publish failed: %s", exc)

    # --- subscribing ------------------------------------------------------------------------

    async def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._listen(), name="redis-fanout")
        # a moment for the first subscription, so a healthy start is not reported degraded
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.subscribed.wait(), START_WAIT_SECONDS)

    async def _listen(self) -> None:
        while True:
            try:
                await self._subscribe_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._down(f"{type(exc).__name__}: {exc}".strip().rstrip(":"))
            await asyncio.sleep(RECONNECT_SECONDS)

    async def _subscribe_once(self) -> None:
        pubsub = self._client.pubsub(ignore_subscribe_messages=True)
        try:
            await pubsub.subscribe(self._channel)
            self._up()
            while True:
                message = await pubsub.get_message(timeout=PING_SECONDS)
                if message is None:
                    await pubsub.ping()
                    continue
                self._on_message(message.get("data"))
        finally:
            with contextlib.suppress(Exception):
                await pubsub.aclose()  # type: ignore[no-untyped-call]

    def _on_message(self, data: object) -> None:
        if not isinstance(data, bytes | str):
            return
        try:
            parsed = orjson.loads(data)
            origin, topic, payload = parsed["o"], str(parsed["t"]), str(parsed["p"])
        except (orjson.JSONDecodeError, KeyError, TypeError):
            return
        if origin != self._origin:
            self._bus.deliver(topic, payload)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for task in list(self._sends):
            task.cancel()
        for client in (self._client, self._publisher):
            with contextlib.suppress(Exception):
                await client.aclose()
