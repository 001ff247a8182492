"""Folds `task_rollup_deltas` (appended by triggers, see migration 0005) into `task_rollups`.

Readers add rollups and deltas, so folding never changes a figure: it only keeps the deltas
few. It runs shortly after tasks change (woken by committed events) and once at start; on
PostgreSQL one replica folds at a time (an advisory lock), and each batch is one statement
that deletes exactly the deltas it adds."""

from __future__ import annotations

import asyncio
import logging

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from ains.db.engine import Database
from ains.events.bus import Bus

log = logging.getLogger(__name__)

BATCH = 20_000
SETTLE_SECONDS = 5.0  # let completions accumulate: readers add unfolded deltas anyway
LOCK_KEY = 0x41494E53_524F4C4C  # "AINSROLL"
MEASURES = ("n", "exec_sum", "exec_n", "cost_sum", "quality_sum", "quality_n")
DIM_KEYS = {"all": "''", "agent": "coalesce(agent_id, '')", "type": "task_type"}
DAILY = ":d"  # suffix of a dimension's daily rollups ('agent:d'); `hour` holds the day's start
DAY_OF_HOUR = {  # the UTC day of an hour, in the column's storage
    "sqlite": "substr(hour, 1, 10) || ' 00:00:00.000000'",
    "postgresql": "date_trunc('day', hour AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'",
}


def _fold_select(source: str, dialect: str) -> str:
    sums = ", ".join(f"sum({m})" for m in MEASURES)
    return " UNION ALL ".join(
        f"SELECT '{dim}{suffix}', {period}, {key}, status, {sums} FROM {source} "
        "WHERE true GROUP BY 2, 3, 4"  # hour, key, status
        for dim, key in DIM_KEYS.items()
        for suffix, period in (("", "hour"), (DAILY, DAY_OF_HOUR[dialect]))
    )


UPSERT = (
    "INSERT INTO task_rollups (dim, hour, key, status, {columns}) {select} "
    "ON CONFLICT (dim, hour, key, status) DO UPDATE SET {updates}"
).format(
    columns=", ".join(MEASURES),
    select="{select}",
    updates=", ".join(
        f"{m} = task_rollups.{m} + excluded.{m}"
        if m.endswith("n")
        else f"{m} = coalesce(task_rollups.{m}, 0) + coalesce(excluded.{m}, 0)"
        for m in MEASURES
    ),
)


async def _fold_postgresql(conn: AsyncConnection) -> int:
    """Folds up to BATCH deltas; answers how many (0 when another replica is folding)."""
    locked = await conn.scalar(sa.text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": LOCK_KEY})
    if not locked:
        return 0
    moved = (
        "moved AS (DELETE FROM task_rollup_deltas WHERE delta_id IN "
        f"(SELECT delta_id FROM task_rollup_deltas ORDER BY delta_id LIMIT {BATCH}) "
        "RETURNING *)"
    )
    upsert = UPSERT.format(select=_fold_select("moved", "postgresql"))
    # a data-modifying WITH runs to completion whether or not the outer query reads it
    statement = f"WITH {moved}, folded AS ({upsert}) SELECT count(*) FROM moved"
    return int(await conn.scalar(sa.text(statement)) or 0)


async def _fold_sqlite(conn: AsyncConnection) -> int:
    """Folds up to BATCH deltas; answers how many. One writer: nothing can slip between
    reading the batch and deleting it."""
    batch = f"SELECT delta_id FROM task_rollup_deltas ORDER BY delta_id LIMIT {BATCH}"
    count, last = (
        await conn.execute(sa.text(f"SELECT count(*), max(delta_id) FROM ({batch})"))
    ).one()
    if not count:
        return 0
    rows = f"(SELECT * FROM task_rollup_deltas WHERE delta_id <= {int(last)})"
    await conn.execute(sa.text(UPSERT.format(select=_fold_select(rows, "sqlite"))))
    await conn.execute(sa.text(f"DELETE FROM task_rollup_deltas WHERE delta_id <= {int(last)}"))
    return int(count)


async def fold(db: Database) -> None:
    """Folds every delta present now, a batch per transaction (short write locks)."""
    while True:
        async with db.transaction() as tx:
            if tx.conn.dialect.name == "postgresql":
                folded = await _fold_postgresql(tx.conn)
            else:
                folded = await _fold_sqlite(tx.conn)
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
