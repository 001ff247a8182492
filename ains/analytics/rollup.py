"""Folds `task_rollup_deltas` (appended by triggers, see migration 0005) into `task_rollups`.

Readers add rollups and deltas, so folding never changes a figure: it only keeps the deltas
few. It runs shortly after tasks change (woken by committed events) and once at start; on
PostgreSQL one replica folds at a time (an advisory lock), and each batch is one statement
that deletes exactly the deltas it adds."""

from __future__ import annotations

import asyncio
import logging

from ains.analytics import repository
from ains.db.engine import Database
from ains.events.bus import Bus

log = logging.getLogger(__name__)

BATCH = 20_000
SETTLE_SECONDS = 5.0  # let completions accumulate: readers add unfolded deltas anyway


async def fold(db: Database) -> None:
    """Folds every delta present now, a batch per transaction (short write locks)."""
    while True:
        async with db.transaction() as tx:
            folded = await repository.fold_deltas(tx.conn, BATCH)
        if folded < BATCH:
            return


class RollupFolder:
    """The background loop: folds once at start, then after each burst of task changes."""

    def __init__(self, db: Database, bus: Bus) -> None:
        self.db = db
        self._wake = asyncio.Event()
        bus.subscribe("events", self.poke)

    def poke(self, _message: str = "") -> None:
        self._wake.set()

    async def run(self) -> None:
        while True:
            try:
                await fold(self.db)
            except Exception:  # the next burst retries; figures stay exact meanwhile
                log.exception("folding analytics rollups failed")
            await self._wake.wait()
            self._wake.clear()
            await asyncio.sleep(SETTLE_SECONDS)
