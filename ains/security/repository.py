"""All SQL of the security domain: API keys, the server's persistent `secured` flag, the
revocation guards."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from ains.db import dialect
from ains.models import api_keys, server_state

SECURED = "secured"


async def mark_secured(conn: AsyncConnection, now: datetime) -> None:
    """Record, in the caller's transaction, that an admin key has existed (idempotent)."""
    await conn.execute(
        dialect.insert(conn, server_state)
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
    return [r.key_id for r in await conn.execute(dialect.for_update(conn, stmt))]


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


# --- API keys ----------------------------------------------------------------------------------

K = api_keys.c


async def insert_key(conn: AsyncConnection, values: dict[str, Any]) -> None:
    await conn.execute(sa.insert(api_keys).values(values))


async def active_key_by_hash(conn: AsyncConnection, key_hash: str) -> Any:
    """The unrevoked key with this hash (expired or not)."""
    stmt = sa.select(K.key_id, K.role, K.principal_id, K.team, K.expires_at).where(
        K.key_hash == key_hash, K.revoked_at.is_(None)
    )
    return (await conn.execute(stmt)).first()


async def keys_page(
    conn: AsyncConnection, *, after: tuple[datetime, str] | None, limit: int
) -> list[Row[Any]]:
    """Keys oldest first, after (created_at, key_id) `after`; up to `limit`."""
    stmt = sa.select(api_keys).order_by(K.created_at, K.key_id)
    if after is not None:
        created, key_id = after
        stmt = stmt.where(
            sa.or_(K.created_at > created, sa.and_(K.created_at == created, K.key_id > key_id))
        )
    return list(await conn.execute(stmt.limit(limit)))


async def active_key_role(conn: AsyncConnection, key_id: str) -> str | None:
    role = await conn.scalar(sa.select(K.role).where(K.key_id == key_id, K.revoked_at.is_(None)))
    return None if role is None else str(role)


async def revoke_key(conn: AsyncConnection, key_id: str, now: datetime) -> str | None:
    """Revoke one unrevoked key; its hash, or None when there was no such key."""
    stmt = (
        sa.update(api_keys)
        .where(K.key_id == key_id, K.revoked_at.is_(None))
        .values(revoked_at=now)
        .returning(K.key_hash)
    )
    row = (await conn.execute(stmt)).first()
    return None if row is None else str(row.key_hash)


async def usable_admin_key_exists(conn: AsyncConnection, now: datetime) -> bool:
    stmt = (
        sa.select(K.key_id)
        .where(K.role == "admin", K.revoked_at.is_(None), unexpired(now))
        .limit(1)
    )
    return (await conn.execute(stmt)).first() is not None


async def unrevoked_keys(conn: AsyncConnection, key_ids: set[str]) -> list[Row[Any]]:
    """(key_id, expires_at) of those of `key_ids` that exist and are not revoked."""
    stmt = sa.select(K.key_id, K.expires_at).where(
        K.key_id.in_(sorted(key_ids)), K.revoked_at.is_(None)
    )
    return list(await conn.execute(stmt))
