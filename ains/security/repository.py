"""SQL of the security domain beyond keys: the server's persistent `secured` flag and the
revocation guards."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from ains.models import api_keys, server_state

SECURED = "secured"


async def mark_secured(conn: AsyncConnection, now: datetime) -> None:
    """Record, in the caller's transaction, that an admin key has existed (idempotent)."""
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    await conn.execute(
        insert(server_state)
        .values(name=SECURED, value="true", updated_at=now)
        .on_conflict_do_nothing()
    )


async def is_secured(conn: AsyncConnection) -> bool:
    row = (
        await conn.execute(sa.select(server_state.c.value).where(server_state.c.name == SECURED))
    ).first()
    return row is not None


def unexpired(now: datetime) -> sa.ColumnElement[bool]:
    return sa.or_(api_keys.c.expires_at.is_(None), api_keys.c.expires_at > now)


async def active_admin_key_ids(conn: AsyncConnection, now: datetime) -> list[str]:
    """The active (unrevoked, unexpired) admin keys, locked on PostgreSQL so that two
    revocations of the last two admin keys cannot both pass the last-admin check (SQLite has
    one writer anyway)."""
    stmt = sa.select(api_keys.c.key_id).where(
        api_keys.c.role == "admin", api_keys.c.revoked_at.is_(None), unexpired(now)
    )
    if conn.dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    return [r.key_id for r in await conn.execute(stmt)]


async def revoke_principal_keys(
    conn: AsyncConnection, role: str, principal_id: str, now: datetime
) -> list[tuple[str, str]]:
    """Revoke every active key of one principal; returns their (key id, hash) pairs (for the
    caches of this replica and, by id, the others)."""
    rows = await conn.execute(
        sa.update(api_keys)
        .where(
            api_keys.c.role == role,
            api_keys.c.principal_id == principal_id,
            api_keys.c.revoked_at.is_(None),
        )
        .values(revoked_at=now)
        .returning(api_keys.c.key_id, api_keys.c.key_hash)
    )
    return [(str(r.key_id), str(r.key_hash)) for r in rows]
