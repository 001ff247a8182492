"""Group commit: submissions that arrive together share one transaction.

A commit costs far more than an insert (an fsync on PostgreSQL, a thread hop per statement
with aiosqlite), so concurrent submissions are queued and written by one drain task: the first
arrival starts a transaction at once, and whatever arrives while it runs goes into the next one.
An idle server adds no delay; a busy one writes hundreds of tasks per commit. Should a group
fail in the database, its rows are written again one per transaction, so that only the
submission at fault fails.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from ains.audit.repository import insert_entries
from ains.db.engine import Database
from ains.events.bus import Bus
from ains.events.repository import add_events
from ains.queue.fairness import stamp_fair_keys
from ains.tasks import repository as repo

log = logging.getLogger("ains.tasks.group_commit")

MAX_GROUP = 500

# the task row, its `task.created` event, its audit entry, and the submitter's future
Item = tuple[dict[str, Any], dict[str, Any], dict[str, Any], "asyncio.Future[None]"]


class GroupCommitter:
    def __init__(self, db: Database, bus: Bus, aging_interval: float) -> None:
        self.db = db
        self.bus = bus
        self.aging_interval = aging_interval
        self._queue: list[Item] = []
        self._draining = False
        self._drainer: asyncio.Task[None] | None = None

    async def insert(
        self, row: dict[str, Any], created_event: dict[str, Any], audit_entry: dict[str, Any]
    ) -> None:
        """Return once the task row, its event and its audit entry are committed (or raise
        why not)."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        self._queue.append((row, created_event, audit_entry, done))
        if not self._draining:
            self._draining = True
            self._drainer = loop.create_task(self._drain())
        await asyncio.shield(done)

    async def _drain(self) -> None:
        try:
            while self._queue:
                group, self._queue = self._queue[:MAX_GROUP], self._queue[MAX_GROUP:]
                await self._commit(group)
        finally:
            self._draining = False

    async def _commit(self, group: list[Item]) -> None:
        committed: list[bool] = []
        try:
            await self._write(group, committed)
        except Exception as exc:
            if committed:  # stored: only a wake-up after the commit failed
                log.exception("after committing %d submissions", len(group), exc_info=exc)
                for item in group:
                    _settle(item, None)
                return
            if len(group) == 1:
                _settle(group[0], exc)
                return
            # Validation should have refused anything the database would; should one row still
            # fail, it must not fail the other submitters: write each row on its own.
            log.warning(
                "group of %d submissions failed (%s); writing them one by one",
                len(group),
                type(exc).__name__,
            )
            for item in group:
                await self._commit([item])
        else:
            for item in group:
                _settle(item, None)

    async def _write(self, group: list[Item], committed: list[bool]) -> None:
        capabilities = sorted({item[0]["capability_required"] for item in group})
        rows = [item[0] for item in group]
        async with self.db.transaction() as tx:
            tx.on_commit(lambda: committed.append(True))
            await stamp_fair_keys(tx.conn, rows, rows[0]["created_at"], self.aging_interval)
            await repo.insert_tasks(tx.conn, rows)
            await add_events(tx.conn, [item[1] for item in group])
            await insert_entries(tx.conn, [item[2] for item in group])
            tx.on_commit(lambda: self.bus.publish_many("route", capabilities))


def _settle(item: Item, error: Exception | None) -> None:
    done = item[3]
    if done.done():
        return
    if error is None:
        done.set_result(None)
    else:
        done.set_exception(error)
