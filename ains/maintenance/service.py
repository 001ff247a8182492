"""Retention, the stale-task sweep and statistics. The prune deletes in small batches, one
transaction each, so submissions and claims only ever wait for one batch."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ains.audit import trail
from ains.clock import Clock
from ains.config import Settings
from ains.db.engine import Database, Tx
from ains.maintenance import repository as repo
from ains.maintenance.archive import Archive
from ains.security.principals import Principal
from ains.tasks.control import DUE_BATCH, TaskControl

# the setting of each kind's age in days (None: idempotency keys go when they expire)
DAYS_SETTING: dict[str, str | None] = {
    "tasks": "retention_tasks_days",
    "events": "retention_events_days",
    "webhook_deliveries": "retention_deliveries_days",
    "schedule_executions": "retention_executions_days",
    "idempotency_keys": None,
    "trust_records": "retention_trust_days",
    "routing_decisions": "retention_routing_days",
    "audit_log": "retention_audit_days",
}
# tasks first: their events go with them, and the events kind then sees what is left
ORDER = tuple(DAYS_SETTING)
BATCH_SECONDS = 0.01  # what one batch (one transaction) should take on SQLite
MIN_BATCH = 50
MAX_PAUSE_SECONDS = 0.1


def next_batch_size(size: int, took: float, most: int) -> int:
    """The next batch's size on SQLite, so that a batch holds its one writer (and the
    server's one connection) for about BATCH_SECONDS."""
    if took > BATCH_SECONDS:
        return max(MIN_BATCH, int(size * BATCH_SECONDS / took))
    if took < BATCH_SECONDS / 2:
        return min(most, size * 2)
    return size


@dataclass(frozen=True)
class PruneResult:
    dry_run: bool
    counts: dict[str, int]
    cutoffs: dict[str, datetime | None]  # None: the kind is kept forever
    archive: dict[str, str]

    def view(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "counts": self.counts,
            "total": sum(self.counts.values()),
            "cutoffs": self.cutoffs,
            "archive_files": self.archive,
        }


def cutoffs(
    settings: Settings, now: datetime, older_than_days: float | None = None
) -> dict[str, datetime | None]:
    """Per kind, the moment before which its rows go; `older_than_days` overrides every
    kind's age (0 = keep forever, as in the settings)."""
    out: dict[str, datetime | None] = {}
    for kind, name in DAYS_SETTING.items():
        if name is None:
            out[kind] = now
            continue
        days = older_than_days
        if days is None:
            per_kind = getattr(settings, name)
            days = settings.retention_days if per_kind is None else per_kind
        out[kind] = None if days == 0 else now - timedelta(days=days)
    return out


class MaintenanceService:
    def __init__(
        self, settings: Settings, clock: Clock, db: Database, control: TaskControl | None
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.db = db
        self.control = control

    async def prune(
        self, *, dry_run: bool = False, older_than_days: float | None = None
    ) -> PruneResult:
        now = self.clock()
        limits = cutoffs(self.settings, now, older_than_days)
        archive = None
        if self.settings.archive_dir and not dry_run:
            archive = Archive(self.settings.archive_dir, now)
        counts: dict[str, int] = {}
        try:
            for kind in ORDER:
                cutoff = limits[kind]
                if cutoff is None:
                    counts[kind] = 0
                elif dry_run:
                    counts[kind] = await self._count(kind, cutoff)
                else:
                    counts[kind] = await self._prune_kind(kind, cutoff, archive)
        finally:
            if archive is not None:
                archive.close()
        return PruneResult(dry_run, counts, limits, archive.files() if archive else {})

    async def _count(self, kind: str, cutoff: datetime) -> int:
        async with self.db.read(snapshot=True) as conn:
            floor = await repo.outbox_floor(conn)
            return await repo.count(conn, kind, repo.where_of(kind, cutoff, floor))

    async def _prune_kind(self, kind: str, cutoff: datetime, archive: Archive | None) -> int:
        total = 0
        since: datetime | None = None
        size = self.settings.retention_batch_size
        while True:
            started = time.perf_counter()
            async with self.db.transaction() as tx:
                deleted, since = await self._prune_batch(tx, kind, cutoff, archive, since, size)
            if since is None:
                return total
            total += deleted
            took = time.perf_counter() - started
            if self.db.single_writer:
                size = next_batch_size(size, took, self.settings.retention_batch_size)
            await self._pace(took)

    async def _pace(self, took: float) -> None:
        """Between batches. SQLite has one writer, and the server one connection: as long
        again for everyone else, so submissions and claims wait for one short batch at most.
        PostgreSQL's batches lock only the rows they delete, which nobody else writes."""
        await asyncio.sleep(min(took, MAX_PAUSE_SECONDS) if self.db.single_writer else 0)

    async def _prune_batch(
        self,
        tx: Tx,
        kind: str,
        cutoff: datetime,
        archive: Archive | None,
        since: datetime | None,
        size: int,
    ) -> tuple[int, datetime | None]:
        """Deletes one batch; answers how many rows and where the next batch starts (None
        when nothing is left, or another replica is pruning)."""
        conn = tx.conn
        if not await repo.lock(conn):
            return 0, None
        floor = await repo.outbox_floor(conn)
        where = repo.where_of(kind, cutoff, floor)
        keys, last = await repo.take_batch(conn, kind, where, size, since)
        if not keys:
            return 0, None
        if archive is not None:
            await archive.write(kind, await repo.archive_rows(conn, kind, keys))
        token = await repo.mark_pruning(conn)
        deleted = await repo.delete(conn, kind, keys)
        await repo.unmark_pruning(conn, token)
        return deleted, last

    async def sweep_stale(self) -> dict[str, int]:
        """Settle now the tasks past their timeout or lease, as the deadline loop would."""
        assert self.control is not None, "the sweep runs in the server"
        now = self.clock()
        timed_out = await self._drain(self.control.enforce_timeouts, now)
        leases = await self._drain(self.control.expire_leases, now)
        return {"timed_out": timed_out, "leases_expired": leases, "total": timed_out + leases}

    async def _drain(self, action: Callable[[Tx, datetime], Awaitable[int]], now: datetime) -> int:
        total = 0
        while True:
            async with self.db.transaction() as tx:
                done = await action(tx, now)
            total += done
            if done < DUE_BATCH:
                return total

    async def stats(self) -> dict[str, Any]:
        async with self.db.read(snapshot=True) as conn:
            return {
                "database": self.db.dialect_name,
                "database_size_bytes": await repo.database_bytes(conn),
                "rows": await repo.table_rows(conn),
                "oldest_finished_task": await repo.oldest_finished_task(conn),
                "measured_at": self.clock(),
            }

    async def audit(self, principal: Principal, action: str, detail: dict[str, Any]) -> None:
        async with self.db.transaction() as tx:
            await trail.record(
                tx.conn,
                principal,
                action,
                target_type="maintenance",
                detail=detail,
                now=self.clock(),
            )
