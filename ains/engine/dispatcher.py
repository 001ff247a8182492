"""Routes queued work as soon as it appears: woken by "route" messages (a task became
claimable, an agent freed capacity or came online), never by a polling timer. A slow
safety-net pass every few seconds covers messages lost between replicas."""

from __future__ import annotations

import asyncio
import logging

import sqlalchemy as sa

from ains.db.engine import Database
from ains.events.bus import Bus
from ains.models import tasks
from ains.tasks.execution import ROUTE_BATCH, ExecutionService
from ains.tasks.repository import IS_PENDING

log = logging.getLogger(__name__)
SAFETY_NET_SECONDS = 5.0


class Dispatcher:
    def __init__(self, db: Database, execution: ExecutionService, bus: Bus) -> None:
        self.db = db
        self.execution = execution
        self._dirty: set[str] = set()
        self._everything = True
        self._wake = asyncio.Event()
        bus.subscribe("route", self.mark)

    def mark(self, capability: str) -> None:
        if capability == "*":
            self._everything = True
        else:
            self._dirty.add(capability)
        self._wake.set()

    async def _pending_capabilities(self) -> set[str]:
        async with self.db.read() as conn:
            rows = await conn.execute(
                sa.select(tasks.c.capability_required).where(IS_PENDING).distinct()
            )
            return {r.capability_required for r in rows}

    async def run_once(self) -> int:
        capabilities, self._dirty = self._dirty, set()
        if self._everything:
            self._everything = False
            capabilities |= await self._pending_capabilities()
        routed = 0
        for capability in sorted(capabilities):
            while True:
                async with self.db.transaction() as tx:
                    count = await self.execution.route(tx, capability)
                routed += count
                if count < ROUTE_BATCH:
                    break
        return routed

    async def run(self) -> None:
        while True:
            try:
                await asyncio.wait_for(self._wake.wait(), SAFETY_NET_SECONDS)
            except TimeoutError:
                self._everything = True
            self._wake.clear()
            try:
                await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("routing pass failed; retrying shortly")
                self._everything = True
                await asyncio.sleep(0.5)
                self._wake.set()
