"""Acts on deadlines — agent heartbeats, leases, task timeouts, retry delays — when they fall
due. It sleeps exactly until the nearest one, and is poked when a nearer one is created."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from ains.clock import Clock
from ains.db.engine import Database, Tx
from ains.events.bus import Bus
from ains.tasks.control import DUE_BATCH, TaskControl

log = logging.getLogger(__name__)
MAX_SLEEP_SECONDS = 5.0


class DeadlineLoop:
    def __init__(self, db: Database, control: TaskControl, bus: Bus, clock: Clock) -> None:
        self.db = db
        self.control = control
        self.clock = clock
        self._wake = asyncio.Event()
        self._next_at: datetime | None = None
        self.extra_passes: list[Callable[[Tx, datetime], Awaitable[int]]] = []
        self.extra_deadlines: list[Callable[[Tx], Awaitable[datetime | None]]] = []
        bus.subscribe("deadline", self.poke)

    def poke(self, when: str) -> None:
        if when == "*" or self._next_at is None:
            self._wake.set()
            return
        try:
            at = datetime.fromisoformat(when)
        except ValueError:
            self._wake.set()
            return
        if at < self._next_at:
            self._wake.set()

    async def _drain(self, action: Callable[[Tx, datetime], Awaitable[int]], now: datetime) -> None:
        while True:
            async with self.db.transaction() as tx:
                done = await action(tx, now)
            if done < DUE_BATCH:
                return

    async def run_once(self) -> datetime | None:
        now = self.clock()
        c = self.control
        for action in (
            c.mark_offline_agents,
            c.enforce_timeouts,
            c.expire_leases,
            c.requeue_retries,
            *self.extra_passes,
        ):
            await self._drain(action, now)
        async with self.db.transaction() as tx:
            found = [await c.next_deadline(tx)]
            for extra in self.extra_deadlines:
                found.append(await extra(tx))
        dates = [d for d in found if d is not None]
        return min(dates) if dates else None

    async def run(self) -> None:
        while True:
            self._wake.clear()
            try:
                nearest = await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("deadline pass failed; retrying shortly")
                nearest = self.clock() + timedelta(seconds=0.5)
            cap = self.clock() + timedelta(seconds=MAX_SLEEP_SECONDS)
            self._next_at = min(nearest, cap) if nearest else cap
            delay = max(0.0, (self._next_at - self.clock()).total_seconds())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), delay + 0.001)
