"""SQL of the audit trail."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from ains.models import audit_log

A = audit_log.c


async def insert_entries(conn: AsyncConnection, entries: Sequence[dict[str, Any]]) -> None:
    """One statement for any number of rows (a group commit writes a group's rows at once)."""
    if entries:
        await conn.execute(sa.insert(audit_log), list(entries))


@dataclass(frozen=True)
class AuditFilter:
    actor: str | None = None
    action: str | None = None
    target: str | None = None
    outcome: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    request_id: str | None = None


async def query(
    conn: AsyncConnection, where: AuditFilter, *, before_id: int | None, limit: int
) -> list[dict[str, Any]]:
    """Newest first; `actor` matches a principal id or a key id, an `action` ending in `.*`
    every action under that prefix, `until` is exclusive."""
    stmt = sa.select(audit_log).order_by(A.id.desc()).limit(limit)
    if where.actor:
        stmt = stmt.where(sa.or_(A.principal_id == where.actor, A.key_id == where.actor))
    if where.action and where.action.endswith(".*"):
        stmt = stmt.where(A.action.startswith(where.action[:-1], autoescape=True))
    elif where.action:
        stmt = stmt.where(A.action == where.action)
    if where.target:
        stmt = stmt.where(A.target_id == where.target)
    if where.outcome:
        stmt = stmt.where(A.outcome == where.outcome)
    if where.request_id:
        stmt = stmt.where(A.request_id == where.request_id)
    if where.since is not None:
        stmt = stmt.where(A.occurred_at >= where.since)
    if where.until is not None:
        stmt = stmt.where(A.occurred_at < where.until)
    if before_id is not None:
        stmt = stmt.where(A.id < before_id)
    return [dict(r._mapping) for r in await conn.execute(stmt)]
