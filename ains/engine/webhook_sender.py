"""The webhook delivery loop: fan events out into deliveries, send the due ones (bounded
concurrency), record each attempt, then sleep until the next retry is due or the bus says new
events were committed (here or on another replica)."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from ains.clock import Clock
from ains.db.engine import Database
from ains.engine.loop import Loop
from ains.events.bus import Bus
from ains.webhooks import repository as webhook_repository
from ains.webhooks.service import CLAIM_BATCH, FAN_OUT_BATCH, WebhookService

log = logging.getLogger(__name__)
MAX_SLEEP_SECONDS = 5.0
IDLE_RECHECK = 0.5
COALESCE_SECONDS = 0.005  # let commits that land together share one pass


class WebhookSender:
    def __init__(
        self, db: Database, service: WebhookService, bus: Bus, clock: Clock, concurrency: int
    ) -> None:
        self.db = db
        self.service = service
        self.clock = clock
        self.loop = Loop("webhook", self.run_once, settle=COALESCE_SECONDS, logger=log)
        self._limit = asyncio.Semaphore(concurrency)
        self._inflight: set[asyncio.Task[None]] = set()
        bus.subscribe("events", self.poke)
        bus.subscribe("webhooks", self.poke_config)
        self._idle_checked = 0.0
        self._idle_cached = False

    def poke(self, _payload: str = "") -> None:
        self.loop.wake()

    def poke_config(self, _payload: str = "") -> None:
        self._idle_checked = 0.0
        self.loop.wake()

    async def _idle(self) -> bool:
        """True while no webhook is enabled and no delivery is owed: then a pass has nothing
        to do, and the task path is not taxed with one per commit. Re-checked at least every
        IDLE_RECHECK seconds, and at once when a webhook changes on this replica."""
        now = time.monotonic()
        if now - self._idle_checked < IDLE_RECHECK:
            return self._idle_cached
        async with self.db.read() as conn:
            busy = await webhook_repository.anything_to_deliver(conn)
        self._idle_checked, self._idle_cached = now, not busy
        return self._idle_cached

    async def run_once(self) -> float:
        """One pass; returns how long to sleep at most before the next."""
        if await self._idle():
            return IDLE_RECHECK
        wait: float | None = None
        while True:
            async with self.db.transaction() as tx:
                done, hole_wait = await self.service.fan_out(tx)
            wait = hole_wait if hole_wait is not None else wait
            if done < FAN_OUT_BATCH:
                break
        while True:
            async with self.db.transaction() as tx:
                claimed = await self.service.claim(tx)
            for delivery in claimed:
                await self._limit.acquire()
                task = asyncio.get_running_loop().create_task(self._deliver(delivery))
                self._inflight.add(task)
                task.add_done_callback(self._inflight.discard)
            if len(claimed) < CLAIM_BATCH:
                break
        async with self.db.read() as conn:
            due = await self.service.next_due(conn)
        sleep = MAX_SLEEP_SECONDS
        if due is not None:
            sleep = min(sleep, max(0.0, (due - self.clock()).total_seconds()))
        if wait is not None:
            sleep = min(sleep, wait)
        return sleep

    async def _deliver(self, delivery: Any) -> None:
        try:
            result = await self.service.send(delivery)
            async with self.db.transaction() as tx:
                await self.service.record(tx, delivery, result)
            if not result.success:
                self.loop.wake()  # its retry may fall due sooner than the planned wake-up
        except Exception:
            # the lease runs out and the delivery is retried; nothing is lost
            log.exception("recording webhook delivery %s failed", delivery.delivery_id)
        finally:
            self._limit.release()

    async def run(self) -> None:
        try:
            await self.loop.run()
        finally:
            for task in list(self._inflight):
                task.cancel()
            await self.service.deliverer.close()
