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

Rotation is one security operation across the domains that hold sealed data: it walks them
through the repositories of tasks, events and webhooks.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from ains.audit import trail
from ains.clock import utcnow
from ains.db.engine import Database
from ains.events import repository as event_repository
from ains.security.crypto import DecryptionError, KeyRing
from ains.security.principals import Principal
from ains.tasks import repository as task_repository
from ains.tasks.sealing import UNREADABLE
from ains.webhooks import repository as webhook_repository
from ains.webhooks.secrets_at_rest import SEALED_PREFIX

DEFAULT_BATCH_SIZE = 500
CLI_ADMIN = Principal(role="admin", principal_id="cli")
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


def _page(rows: Sequence[Any], key: str, size: int) -> Any:
    """The key to continue after, or None when this was the last batch."""
    return getattr(rows[-1], key) if len(rows) == size else None


async def _tasks_batch(
    conn: AsyncConnection, resealer: _Resealer, after: str | None, size: int
) -> tuple[int, str | None]:
    rows = await task_repository.encrypted_tasks_batch(conn, TASK_COLUMNS, after, size)
    changed = 0
    for row in rows:
        values = _resealed(resealer, row._mapping, TASK_COLUMNS, row.task_id.encode())
        if values:
            await task_repository.update_task(conn, row.task_id, values)
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


async def _attempts_batch(
    conn: AsyncConnection, resealer: _Resealer, after: str | None, size: int
) -> tuple[int, str | None]:
    rows = await task_repository.encrypted_attempt_errors_batch(conn, after, size)
    changed = 0
    for row in rows:
        new = resealer.token(row.error, row.task_id.encode())
        if new is not None:
            await task_repository.set_attempt_error(conn, row.attempt_id, new)
            changed += 1
    return changed, _page(rows, "attempt_id", size)


async def _events_batch(
    conn: AsyncConnection, resealer: _Resealer, after: int | None, size: int
) -> tuple[int, int | None]:
    rows = await event_repository.of_encrypted_tasks_batch(conn, after, size)
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
            await event_repository.update_event(conn, row.event_id, values)
            changed += 1
    return changed, _page(rows, "event_id", size)


async def _webhooks_batch(
    conn: AsyncConnection, resealer: _Resealer, after: str | None, size: int
) -> tuple[int, str | None]:
    rows = await webhook_repository.secrets_batch(conn, after, size)
    changed = 0
    for row in rows:
        new = resealer.secret(row.webhook_id, row.secret)
        if new is not None:
            await webhook_repository.set_secret(conn, row.webhook_id, new)
            changed += 1
    return changed, _page(rows, "webhook_id", size)
