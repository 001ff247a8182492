"""The audit log: every state-changing operation and every denied access."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from ains.models import audit_log
from ains.security.principals import Principal


async def record(
    conn: AsyncConnection,
    principal: Principal,
    action: str,
    *,
    target_type: str | None = None,
    target_id: str | None = None,
    outcome: str = "success",
    detail: dict[str, Any] | None = None,
    now: datetime,
) -> None:
    await conn.execute(
        sa.insert(audit_log).values(
            occurred_at=now,
            principal_id=principal.principal_id,
            role=principal.role,
            action=action,
            target_type=target_type,
            target_id=target_id,
            outcome=outcome,
            detail=detail,
        )
    )


async def query(
    conn: AsyncConnection,
    *,
    principal_id: str | None,
    action: str | None,
    target_id: str | None,
    outcome: str | None,
    before_id: int | None,
    limit: int,
) -> list[dict[str, Any]]:
    stmt = sa.select(audit_log).order_by(audit_log.c.id.desc()).limit(limit)
    if principal_id:
        stmt = stmt.where(audit_log.c.principal_id == principal_id)
    if action:
        stmt = stmt.where(audit_log.c.action == action)
    if target_id:
        stmt = stmt.where(audit_log.c.target_id == target_id)
    if outcome:
        stmt = stmt.where(audit_log.c.outcome == outcome)
    if before_id:
        stmt = stmt.where(audit_log.c.id < before_id)
    return [dict(r._mapping) for r in await conn.execute(stmt)]
