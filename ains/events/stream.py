"""Real-time fan-out of committed events to the SSE and WebSocket subscribers of this process.

One reader per process follows the events table (woken by the bus: this process's commits and,
on PostgreSQL, other replicas' NOTIFY) and hands each new event, with its task's row, to every
subscriber's queue; each subscriber filters by what its principal may see and its filters.
A subscriber that reconnects with a cursor first catches up from the table.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

from ains.db.engine import Database
from ains.engine.loop import Loop
from ains.events import feed
from ains.events.bus import Bus
from ains.events.payloads import event_payload
from ains.events.registry import StreamRegistry, Subscriber
from ains.models import tasks
from ains.queue import repository as queue_repo
from ains.security import keys
from ains.security.principals import Principal

log = logging.getLogger(__name__)

STATS_INTERVAL_SECONDS = 5.0
KEY_REVOKED_TOPIC = "keys.revoked"
T = tasks.c


@dataclass(frozen=True)
class StreamFilter:
    task_ids: frozenset[str] = frozenset()
    batch_id: str | None = None
    task_type: str | None = None
    status: frozenset[str] = frozenset()
    types: frozenset[str] = frozenset()

    def accepts(self, ev: Mapping[str, Any], task: Mapping[str, Any] | None) -> bool:
        if self.task_ids and ev.get("task_id") not in self.task_ids:
            return False
        if self.batch_id and (ev.get("batch_id") or (task or {}).get("batch_id")) != self.batch_id:
            return False
        if self.task_type and (task or {}).get("task_type") != self.task_type:
            return False
        if self.status and ev.get("to_status") not in self.status:
            return False
        return self.wants_type(str(ev["event_type"]))

    def wants_type(self, kind: str) -> bool:
        """Whether the `types` filter lets events of type `kind` through (the hub asks before
        it reads an event's task row and queues it for this subscriber)."""
        if not self.types:
            return True
        return kind in self.types or f"{kind.split('.', 1)[0]}.*" in self.types


class StreamHub:
    def __init__(
        self, db: Database, bus: Bus, max_per_principal: int, key_recheck_seconds: float = 1.0
    ) -> None:
        self.key_recheck_seconds = key_recheck_seconds
        self.db = db
        self._bus = bus
        self.registry = StreamRegistry(max_per_principal)
        self._subscribers: set[Subscriber] = set()
        self._position: int | None = None
        self._lock = asyncio.Lock()
        self._holes = feed.HoleWatcher()
        self.fanout = Loop("event stream", self._pass, logger=log)
        self.key_recheck = Loop(
            "stream key re-check",
            self._recheck_keys,
            first_delay=key_recheck_seconds,
            retry_after=key_recheck_seconds,
            logger=log,
        )
        bus.subscribe("events", self.fanout.wake)
        bus.subscribe(KEY_REVOKED_TOPIC, self.registry.revoke_key)

    def open(self, principal: Principal) -> Subscriber:
        """A new stream for ``principal``; TooManyRequests past its cap. ``close`` it after."""
        return self.registry.open(principal)

    def close(self, sub: Subscriber) -> None:
        self.registry.close(sub)
        self._subscribers.discard(sub)

    def key_revoked(self, key_id: str) -> None:
        """End the streams opened with API key ``key_id``, here and (through the bus) in
        every other replica."""
        self._bus.publish(KEY_REVOKED_TOPIC, key_id)

    async def _recheck_keys(self) -> float:
        """Safety net for revocations whose message was lost: ends, within a second, the
        streams whose API key is no longer valid. Only keys with open streams are looked up."""
        key_ids = self.registry.key_ids()
        if not key_ids:
            return self.key_recheck_seconds
        try:
            async with self.db.read() as conn:
                valid = await keys.valid_key_ids(conn, key_ids)
        except Exception:  # the database is away: expected, and no traceback worth logging
            log.warning("could not re-check the API keys of open streams")
            return self.key_recheck_seconds
        for key_id in key_ids - valid:
            self.registry.revoke_key(key_id)
        return self.key_recheck_seconds

    async def _attach(self, sub: Subscriber) -> int:
        async with self._lock:
            if self._position is None:
                async with self.db.read() as conn:
                    self._position = await feed.last_event_id(conn)
            self._subscribers.add(sub)
            return self._position

    async def _pass(self) -> float | None:
        async with self._lock:
            if not self._subscribers:
                self._position = None  # nobody listens: stop following
                return None
            position = self._position or 0
            subscribers = list(self._subscribers)
            async with self.db.read() as conn:
                rows = await feed.events_after(conn, position)
                ready, wait = self._holes.take(rows, position, time.monotonic())
                # each event with the subscribers whose type filter wants it: the others would
                # drop it unread, so neither its task row is read nor their queues fed (agents
                # follow only cancellations, a few events among a task's many)
                fanout = [
                    (ev, [s for s in subscribers if s.wants(ev["event_type"])]) for ev in ready
                ]
                tasks = await feed.task_rows(
                    conn, [str(ev["task_id"]) for ev, subs in fanout if subs and ev.get("task_id")]
                )
            for ev, subs in fanout:
                item = (ev, tasks.get(ev.get("task_id") or ""))
                for sub in subs:
                    sub.offer(item)
            if ready:
                self._position = int(ready[-1]["event_id"])
            more = len(rows) >= 500
        return 0.0 if more else wait

    async def messages(
        self, sub: Subscriber, filters: StreamFilter, after: int | None
    ) -> AsyncIterator[dict[str, Any]]:
        """The event messages the stream's principal may see, in event order, then live ones;
        a ``queue.stats`` message every 5 seconds. Ends when ``sub`` is revoked."""
        principal = sub.principal
        sub.wants = filters.wants_type
        position = await self._attach(sub)
        try:
            last = position if after is None else after
            yield await self._stats(principal)  # first: tells the subscriber it is attached
            if after is not None:
                async for message, _seen in self._catch_up(principal, filters, after, position):
                    if sub.revoked:
                        return
                    yield message
                last = max(after, position)
            next_stats = time.monotonic() + STATS_INTERVAL_SECONDS
            while not sub.revoked:
                timeout = max(0.0, next_stats - time.monotonic())
                try:
                    item = await asyncio.wait_for(sub.queue.get(), timeout=timeout)
                except TimeoutError:
                    yield await self._stats(principal)
                    next_stats = time.monotonic() + STATS_INTERVAL_SECONDS
                    continue
                if item is None or sub.revoked:
                    return
                ev, task = item
                if int(ev["event_id"]) <= last:
                    continue
                last = int(ev["event_id"])
                if feed.may_see(principal, ev, task) and filters.accepts(ev, task):
                    yield event_payload(ev, task)
        finally:
            self._subscribers.discard(sub)

    async def _catch_up(
        self, principal: Principal, filters: StreamFilter, after: int, until: int
    ) -> AsyncIterator[tuple[dict[str, Any], int]]:
        cursor = after
        while cursor < until:
            async with self.db.read() as conn:
                rows = [e for e in await feed.events_after(conn, cursor) if e["event_id"] <= until]
                tasks = await feed.task_rows(
                    conn, [str(e["task_id"]) for e in rows if e.get("task_id")]
                )
            if not rows:
                return
            for ev in rows:
                cursor = int(ev["event_id"])
                task = tasks.get(ev.get("task_id") or "")
                if feed.may_see(principal, ev, task) and filters.accepts(ev, task):
                    yield event_payload(ev, task), cursor

    async def _stats(self, principal: Principal) -> dict[str, Any]:
        async with self.db.read() as conn:
            depth = await queue_repo.depth_by(conn, T.priority, queue_repo.visible_to(principal))
        return {
            "type": "queue.stats",
            "event": "queue.stats",
            "data": {"pending": sum(depth.values()), "pending_by_priority": depth},
        }
