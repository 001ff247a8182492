"""`ains keys rotate-encryption`: re-seal every stored payload with the newest key of the ring.

What is sealed: an `encrypt: true` task's input, result, metadata, progress, last error and
cancellation reason, its attempts' errors, its events' reasons and error texts, and webhook
signing secrets (a secret stored in the clear before a ring was configured is sealed too). A
value sealed with any other key id of the ring is opened and sealed again with the first
(active) one; values already under the active key are left alone, so a second run changes
nothing, and an interrupted run resumes where it stopped.

Rows are walked in batches by primary key, each batch in its own short transaction with the
rows locked (PostgreSQL `FOR UPDATE`; SQLite has one writer), so servers keep running. Every
server must already hold the new key in its ring (first in `AINS_ENCRYPTION_KEYS`, old keys
kept) before this runs, or it could not read what was re-sealed.

The statements touch the tables of tasks, events and webhooks on purpose: rotation is one
security operation across the domains that hold sealed data.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from ains.audit import trail
from ains.clock import utcnow
from ains.db.engine import Database
from ains.models import events, task_attempts, tasks, webhooks
from ains.security.crypto import DecryptionError, KeyRing
from ains.security.principals import Principal
from ains.tasks.sealing import UNREADABLE
from ains.webhooks.secrets_at_rest import SEALED_PREFIX

DEFAULT_BATCH_SIZE = 500
CLI_ADMIN = Principal(role="admin", principal_id="cli")
T = tasks.c
TASK_COLUMNS = (
    "input_encrypted",
    "result_encrypted",
    "metadata",
    "progress",
    "last_error",
    "cancellation_reason",
)


@dataclass
class RotationReport:
    """How many rows got a re-sealed value, per table, and how many values no key opens."""

    active_kid: str
    resealed: dict[str, int] = field(
        default_factory=lambda: {"tasks": 0, "task_attempts": 0, "events": 0, "webhooks": 0}
    )
    unreadable: int = 0


class _Resealer:
    def __init__(self, ring: KeyRing, report: RotationReport) -> None:
        self.ring = ring
        self.report = report

    def token(self, value: Any, aad: bytes) -> str | None:
        """The value sealed with the active key, or None when it needs no change."""
        if not isinstance(value, str) or value == UNREADABLE:
            return None
        parts = value.split(".")
        if len(parts) != 4 or parts[0] != "v1" or parts[1] == self.ring.active_kid:
            return None
        try:
            plain = self.ring.decrypt_json(value, aad)
        except DecryptionError:
            if parts[1] not in self.ring.keys:
                self.report.unreadable += 1  # its key left the ring: nothing can open it
            return None  # otherwise a plaintext that merely looks like a token
        return self.ring.encrypt_json(plain, aad)

    def secret(self, webhook_id: str, stored: str) -> str | None:
        aad = f"webhook-secret:{webhook_id}".encode()
        if not stored.startswith(SEALED_PREFIX):
            return SEALED_PREFIX + self.ring.encrypt_json(stored, aad)
        new = self.token(stored[len(SEALED_PREFIX) :], aad)
        return None if new is None else SEALED_PREFIX + new


async def rotate(
    db: Database, ring: KeyRing, batch_size: int = DEFAULT_BATCH_SIZE
) -> RotationReport:
    report = RotationReport(ring.active_kid)
    resealer = _Resealer(ring, report)
    walks: Sequence[tuple[str, Callable[[AsyncConnection, Any], Any]]] = (
        ("tasks", lambda conn, after: _tasks_batch(conn, resealer, after, batch_size)),
        ("task_attempts", lambda conn, after: _attempts_batch(conn, resealer, after, batch_size)),
        ("events", lambda conn, after: _events_batch(conn, resealer, after, batch_size)),
        ("webhooks", lambda conn, after: _webhooks_batch(conn, resealer, after, batch_size)),
    )
    for table, batch in walks:
        after: Any = None
        while True:
            async with db.transaction() as tx:
                changed, after = await batch(tx.conn, after)
            report.resealed[table] += changed
            if after is None:
                break
    async with db.transaction() as tx:
        detail = {"resealed": report.resealed, "unreadable": report.unreadable}
        await trail.record(
            tx.conn, CLI_ADMIN, "encryption.rotate", target_type="key_ring",
            target_id=ring.active_kid, detail=detail, now=utcnow(),
        )  # fmt: skip
    return report


def _locked(conn: AsyncConnection, stmt: sa.Select[Any]) -> sa.Select[Any]:
    return stmt.with_for_update() if conn.dialect.name == "postgresql" else stmt


def _page(rows: Sequence[Any], key: str, size: int) -> Any:
    """The key to continue after, or None when this was the last batch."""
    return getattr(rows[-1], key) if len(rows) == size else None


async def _tasks_batch(
    conn: AsyncConnection, resealer: _Resealer, after: str | None, size: int
) -> tuple[int, str | None]:
    stmt = sa.select(T.task_id, *(T[c] for c in TASK_COLUMNS)).where(T.encrypted.is_(True))
    if after is not None:
        stmt = stmt.where(T.task_id > after)
    rows = list(await conn.execute(_locked(conn, stmt.order_by(T.task_id).limit(size))))
    changed = 0
    for row in rows:
        values = _resealed(resealer, row._mapping, TASK_COLUMNS, row.task_id.encode())
        if values:
            await conn.execute(sa.update(tasks).where(T.task_id == row.task_id).values(values))
            changed += 1
    return changed, _page(rows, "task_id", size)


def _resealed(
    resealer: _Resealer, row: Mapping[str, Any], columns: Sequence[str], aad: bytes
) -> dict[str, Any]:
    values = {}
    for column in columns:
        new = resealer.token(row[column], aad)
        if new is not None:
            values[column] = new
    return values


def _of_encrypted_tasks(task_id: sa.ColumnElement[Any]) -> sa.ColumnElement[bool]:
    return task_id.in_(sa.select(T.task_id).where(T.encrypted.is_(True)))


async def _attempts_batch(
    conn: AsyncConnection, resealer: _Resealer, after: str | None, size: int
) -> tuple[int, str | None]:
    A = task_attempts.c
    stmt = sa.select(A.attempt_id, A.task_id, A.error).where(
        A.error.is_not(None), _of_encrypted_tasks(A.task_id)
    )
    if after is not None:
        stmt = stmt.where(A.attempt_id > after)
    rows = list(await conn.execute(_locked(conn, stmt.order_by(A.attempt_id).limit(size))))
    changed = 0
    for row in rows:
        new = resealer.token(row.error, row.task_id.encode())
        if new is not None:
            await conn.execute(
                sa.update(task_attempts).where(A.attempt_id == row.attempt_id).values(error=new)
            )
            changed += 1
    return changed, _page(rows, "attempt_id", size)


async def _events_batch(
    conn: AsyncConnection, resealer: _Resealer, after: int | None, size: int
) -> tuple[int, int | None]:
    E = events.c
    stmt = sa.select(E.event_id, E.task_id, E.reason, E.data).where(
        E.task_id.is_not(None), _of_encrypted_tasks(E.task_id)
    )
    if after is not None:
        stmt = stmt.where(E.event_id > after)
    rows = list(await conn.execute(_locked(conn, stmt.order_by(E.event_id).limit(size))))
    changed = 0
    for row in rows:
        aad = row.task_id.encode()
        values: dict[str, Any] = {}
        if (reason := resealer.token(row.reason, aad)) is not None:
            values["reason"] = reason
        data = row.data if isinstance(row.data, dict) else None
        if data and (error := resealer.token(data.get("error"), aad)) is not None:
            values["data"] = {**data, "error": error}
        if values:
            await conn.execute(sa.update(events).where(E.event_id == row.event_id).values(values))
            changed += 1
    return changed, _page(rows, "event_id", size)


async def _webhooks_batch(
    conn: AsyncConnection, resealer: _Resealer, after: str | None, size: int
) -> tuple[int, str | None]:
    W = webhooks.c
    stmt = sa.select(W.webhook_id, W.secret)
    if after is not None:
        stmt = stmt.where(W.webhook_id > after)
    rows = list(await conn.execute(_locked(conn, stmt.order_by(W.webhook_id).limit(size))))
    changed = 0
    for row in rows:
        new = resealer.secret(row.webhook_id, row.secret)
        if new is not None:
            await conn.execute(
                sa.update(webhooks).where(W.webhook_id == row.webhook_id).values(secret=new)
            )
            changed += 1
    return changed, _page(rows, "webhook_id", size)
