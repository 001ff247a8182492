"""Acts on deadlines — agent heartbeats, leases, task timeouts, retry delays, and the duties
that ride along (schedules falling due, queue escalations) — when they fall due. It sleeps
exactly until the nearest one, and is woken when a nearer one is created."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from typing import NamedTuple

from ains.clock import Clock
from ains.db.engine import Database, Tx
from ains.engine.loop import RETRY_AFTER, Loop
from ains.events.bus import Bus
from ains.tasks.control import DUE_BATCH, TaskControl

log = logging.getLogger(__name__)
MAX_SLEEP_SECONDS = 5.0
Action = Callable[[Tx, datetime], Awaitable[int]]


class Duty(NamedTuple):
    """Work that rides the deadline loop: ``act`` does what is due (a batch at a time, returning
    how many it did) and ``next_due`` names when the next will be."""

    act: Action
    next_due: Callable[[Tx], Awaitable[datetime | None]]


class DeadlineLoop:
    def __init__(
        self,
        db: Database,
        control: TaskControl,
        bus: Bus,
        clock: Clock,
        duties: Sequence[Duty] = (),
    ) -> None:
        self.db = db
        self.control = control
        self.clock = clock
        self.duties = tuple(duties)
        self._next_at: datetime | None = None
        self.loop = Loop("deadline", self._pass, retry_after=self._after_failure, logger=log)
        bus.subscribe("deadline", self.poke)

    def poke(self, when: str) -> None:
        if when == "*" or self._next_at is None:
            self.loop.wake()
            return
        try:
            at = datetime.fromisoformat(when)
        except ValueError:
            self.loop.wake()
            return
        if at < self._next_at:
            self.loop.wake()

    async def _drain(self, action: Action, now: datetime) -> None:
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
            *(duty.act for duty in self.duties),
        ):
            await self._drain(action, now)
        async with self.db.transaction() as tx:
            found = [await c.next_deadline(tx)]
            for duty in self.duties:
                found.append(await duty.next_due(tx))
        dates = [d for d in found if d is not None]
        return min(dates) if dates else None

    def _sleep_until(self, nearest: datetime | None) -> float:
        cap = self.clock() + timedelta(seconds=MAX_SLEEP_SECONDS)
        self._next_at = min(nearest, cap) if nearest else cap
        return max(0.0, (self._next_at - self.clock()).total_seconds()) + 0.001

    async def _pass(self) -> float:
        return self._sleep_until(await self.run_once())

    def _after_failure(self) -> float:
        return self._sleep_until(self.clock() + timedelta(seconds=RETRY_AFTER))

    async def run(self) -> None:
        await self.loop.run()
