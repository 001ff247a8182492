"""The audit log: every state-changing operation and every denied access."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from ains.security import repository
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
    await repository.add_audit_record(
        conn,
        {
            "occurred_at": now,
            "principal_id": principal.principal_id,
            "role": principal.role,
            "action": action,
            "target_type": target_type,
            "target_id": target_id,
            "outcome": outcome,
            "detail": detail,
        },
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
    return await repository.audit_records(
        conn,
        principal_id=principal_id,
        action=action,
        target_id=target_id,
        outcome=outcome,
        before_id=before_id,
        limit=limit,
    )
