"""SQL for webhooks, their deliveries and delivery attempts, and the fan-out cursor."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from ains.db import dialect
from ains.models import webhook_attempts, webhook_cursor, webhook_deliveries, webhooks

W = webhooks.c
D = webhook_deliveries.c
A = webhook_attempts.c
CURSOR = "webhooks"


async def insert(conn: AsyncConnection, row: dict[str, Any]) -> None:
    await conn.execute(sa.insert(webhooks), [row])


async def get(conn: AsyncConnection, webhook_id: str) -> Row[Any] | None:
    return (await conn.execute(sa.select(webhooks).where(W.webhook_id == webhook_id))).first()


async def list_for(conn: AsyncConnection, owner_id: str | None, limit: int) -> list[Row[Any]]:
    stmt = sa.select(webhooks).order_by(W.created_at.desc(), W.webhook_id).limit(limit)
    if owner_id is not None:
        stmt = stmt.where(W.owner_id == owner_id)
    return list(await conn.execute(stmt))


async def for_task(conn: AsyncConnection, task_id: str) -> list[Row[Any]]:
    stmt = sa.select(webhooks).where(W.task_id == task_id).order_by(W.webhook_id)
    return list(await conn.execute(stmt))


async def enabled(conn: AsyncConnection) -> list[Row[Any]]:
    return list(await conn.execute(sa.select(webhooks).where(W.enabled.is_(True))))


async def update(conn: AsyncConnection, webhook_id: str, values: dict[str, Any]) -> None:
    await conn.execute(sa.update(webhooks).where(W.webhook_id == webhook_id).values(**values))


async def delete(conn: AsyncConnection, webhook_id: str) -> None:
    await conn.execute(sa.delete(webhook_attempts).where(A.webhook_id == webhook_id))
    await conn.execute(sa.delete(webhook_deliveries).where(D.webhook_id == webhook_id))
    await conn.execute(sa.delete(webhooks).where(W.webhook_id == webhook_id))


# --- the fan-out cursor -------------------------------------------------------------------


async def lock_cursor(conn: AsyncConnection, now: datetime) -> int:
    """Lock the cursor row for this transaction (PostgreSQL) and return its position."""
    stmt = sa.select(webhook_cursor.c.last_event_id).where(webhook_cursor.c.name == CURSOR)
    value = (await conn.execute(dialect.for_update(conn, stmt))).scalar()
    if value is not None:
        return int(value)
    ins = dialect.insert(conn, webhook_cursor)
    await conn.execute(
        ins.values(name=CURSOR, last_event_id=0, updated_at=now).on_conflict_do_nothing()
    )
    return await lock_cursor(conn, now)


async def advance_cursor(conn: AsyncConnection, last_event_id: int, now: datetime) -> None:
    await conn.execute(
        sa.update(webhook_cursor)
        .where(webhook_cursor.c.name == CURSOR)
        .values(last_event_id=last_event_id, updated_at=now)
    )


# --- deliveries ---------------------------------------------------------------------------


async def add_deliveries(conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> None:
    """Insert deliveries; one that already exists (same webhook and event) is skipped."""
    if not rows:
        return
    ins = dialect.insert(conn, webhook_deliveries)
    await conn.execute(
        ins.on_conflict_do_nothing(index_elements=["webhook_id", "event_id"]), list(rows)
    )


async def claim_due(
    conn: AsyncConnection, now: datetime, lease_until: datetime, limit: int
) -> list[Row[Any]]:
    """Take up to ``limit`` due deliveries of enabled webhooks, leasing them until
    ``lease_until`` (a sender that dies mid-delivery leaves them to be retried then)."""
    stmt = (
        sa.select(D.delivery_id)
        .join(webhooks, W.webhook_id == D.webhook_id)
        .where(D.status.in_(("pending", "sending")), D.next_attempt_at <= now)
        .where(W.enabled.is_(True))
        .order_by(D.next_attempt_at)
        .limit(limit)
    )
    stmt = dialect.for_update(conn, stmt, of=webhook_deliveries, skip_locked=True)
    ids = [r.delivery_id for r in await conn.execute(stmt)]
    if not ids:
        return []
    await conn.execute(
        sa.update(webhook_deliveries)
        .where(D.delivery_id.in_(ids))
        .values(status="sending", next_attempt_at=lease_until)
    )
    rows = await conn.execute(
        sa.select(
            webhook_deliveries,
            W.url,
            W.secret,
        )
        .join(webhooks, W.webhook_id == D.webhook_id)
        .where(D.delivery_id.in_(ids))
    )
    return list(rows)


async def next_due(conn: AsyncConnection) -> datetime | None:
    value = (
        await conn.execute(
            sa.select(sa.func.min(D.next_attempt_at))
            .join(webhooks, W.webhook_id == D.webhook_id)
            .where(D.status.in_(("pending", "sending")), W.enabled.is_(True))
        )
    ).scalar()
    return value  # type: ignore[no-any-return]


async def update_delivery(conn: AsyncConnection, delivery_id: str, values: dict[str, Any]) -> None:
    await conn.execute(
        sa.update(webhook_deliveries).where(D.delivery_id == delivery_id).values(**values)
    )


async def add_attempt(conn: AsyncConnection, row: dict[str, Any]) -> None:
    await conn.execute(sa.insert(webhook_attempts), [row])


async def record_outcome(
    conn: AsyncConnection, webhook_id: str, *, success: bool, now: datetime
) -> int:
    """Reset or bump the webhook's consecutive failure count; return the new count."""
    if success:
        values: dict[str, Any] = {"consecutive_failures": 0}
    else:
        values = {"consecutive_failures": W.consecutive_failures + 1}
    await conn.execute(
        sa.update(webhooks).where(W.webhook_id == webhook_id).values(**values, updated_at=now)
    )
    value = (
        await conn.execute(sa.select(W.consecutive_failures).where(W.webhook_id == webhook_id))
    ).scalar()
    return int(value or 0)


async def disable(conn: AsyncConnection, webhook_id: str, reason: str, now: datetime) -> None:
    await conn.execute(
        sa.update(webhooks)
        .where(W.webhook_id == webhook_id, W.enabled.is_(True))
        .values(enabled=False, disabled_reason=reason, updated_at=now)
    )


async def attempts(conn: AsyncConnection, webhook_id: str, limit: int) -> list[Row[Any]]:
    return list(
        await conn.execute(
            sa.select(webhook_attempts, D.event_id, D.event_type)
            .join(webhook_deliveries, D.delivery_id == A.delivery_id)
            .where(A.webhook_id == webhook_id)
            .order_by(A.id.desc())
            .limit(limit)
        )
    )


async def deliveries(conn: AsyncConnection, webhook_id: str, limit: int) -> list[Row[Any]]:
    return list(
        await conn.execute(
            sa.select(webhook_deliveries)
            .where(D.webhook_id == webhook_id)
            .order_by(D.created_at.desc(), D.event_id.desc())
            .limit(limit)
        )
    )


async def attempts_of(conn: AsyncConnection, delivery_ids: Sequence[str]) -> list[Row[Any]]:
    if not delivery_ids:
        return []
    return list(
        await conn.execute(
            sa.select(webhook_attempts).where(A.delivery_id.in_(list(delivery_ids))).order_by(A.id)
        )
    )


async def secrets_batch(conn: AsyncConnection, after: str | None, size: int) -> list[Row[Any]]:
    """The next `size` webhooks' secrets after `after` (key rotation), locked."""
    stmt = sa.select(W.webhook_id, W.secret)
    if after is not None:
        stmt = stmt.where(W.webhook_id > after)
    stmt = dialect.for_update(conn, stmt.order_by(W.webhook_id).limit(size))
    return list(await conn.execute(stmt))


async def set_secret(conn: AsyncConnection, webhook_id: str, secret: str) -> None:
    await conn.execute(sa.update(webhooks).where(W.webhook_id == webhook_id).values(secret=secret))


async def anything_to_deliver(conn: AsyncConnection) -> bool:
    """Whether a webhook is enabled or a delivery is still owed."""
    busy = await conn.scalar(
        sa.select(
            sa.or_(
                sa.exists().where(W.enabled.is_(True)),
                sa.exists().where(D.status.in_(("pending", "sending"))),
            )
        )
    )
    return bool(busy)
