"""Folds `task_rollup_deltas` (appended by triggers, see migration 0005) into `task_rollups`.

Readers add rollups and deltas, so folding never changes a figure: it only keeps the deltas
few. It runs shortly after tasks change (woken by committed events) and once at start; on
PostgreSQL one replica folds at a time (an advisory lock), and each batch is one statement
that deletes exactly the deltas it adds."""

from __future__ import annotations

import logging

from ains.analytics import repository
from ains.db.engine import Database
from ains.engine.loop import Loop
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
    """The background loop: folds once at start, then after each burst of task changes (a
    failed fold waits for the next burst; figures stay exact meanwhile)."""

    def __init__(self, db: Database, bus: Bus) -> None:
        self.db = db
        self.loop = Loop(
            "analytics rollup", self._pass, retry_after=None, settle=SETTLE_SECONDS, logger=log
        )
        bus.subscribe("events", self.loop.wake)

    async def _pass(self) -> None:
        await fold(self.db)

    async def run(self) -> None:
        await self.loop.run()
