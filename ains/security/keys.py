"""API keys: generated once, stored as SHA-256 hashes, revocable, optionally expiring."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from ains.clock import new_id, utcnow
from ains.exceptions import Conflict, NotFound
from ains.models import api_keys
from ains.pagination import decode_time_cursor, encode_time_cursor
from ains.security import repository
from ains.security.principals import Principal, Role

KEY_PREFIX = "ains_"


def hash_key(api_key: str) -> str:
    # Keys are 256-bit random values, so a fast hash is enough (no password stretching).
    return hashlib.sha256(api_key.encode()).hexdigest()


def generate_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def key_view(row: Any) -> dict[str, Any]:
    return {
        "key_id": row.key_id,
        "role": row.role,
        "principal_id": row.principal_id,
        "name": row.name,
        "team": row.team,
        "key_prefix": row.key_prefix,
        "created_at": row.created_at,
        "expires_at": row.expires_at,
        "revoked_at": row.revoked_at,
    }


@dataclass(frozen=True)
class KeyHolder:
    """Who an active (not revoked) key belongs to, and until when it is valid."""

    principal: Principal
    expires_at: datetime | None

    def expired(self, now: datetime) -> bool:
        return self.expires_at is not None and self.expires_at <= now


async def create_key(
    conn: AsyncConnection,
    *,
    role: Role,
    principal_id: str,
    name: str,
    team: str | None,
    now: datetime,
    expires_at: datetime | None = None,
) -> dict[str, Any]:
    api_key = generate_key()
    values = {
        "key_id": new_id("key"),
        "key_hash": hash_key(api_key),
        "key_prefix": api_key[:12],
        "role": role,
        "principal_id": principal_id,
        "name": name,
        "team": team,
        "created_at": now,
        "expires_at": expires_at,
        "revoked_at": None,
    }
    await conn.execute(sa.insert(api_keys).values(values))
    if role == "admin":
        await repository.mark_secured(conn, now)
    view = {k: v for k, v in values.items() if k != "key_hash"}
    return {**view, "api_key": api_key}


async def find_holder(conn: AsyncConnection, api_key: str) -> KeyHolder | None:
    """The holder of an unrevoked key, expired or not (the caller compares with its clock)."""
    K = api_keys.c
    row = (
        await conn.execute(
            sa.select(K.key_id, K.role, K.principal_id, K.team, K.expires_at)
            .where(K.key_hash == hash_key(api_key))
            .where(K.revoked_at.is_(None))
        )
    ).first()
    if row is None:
        return None
    principal = Principal(
        role=row.role, principal_id=row.principal_id, team=row.team, key_id=row.key_id
    )
    return KeyHolder(principal, row.expires_at)


async def list_keys(conn: AsyncConnection, *, limit: int, cursor: str | None) -> dict[str, Any]:
    """A page of keys, oldest first."""
    K = api_keys.c
    stmt = sa.select(api_keys).order_by(K.created_at, K.key_id)
    if cursor:
        created, key_id = decode_time_cursor("key", cursor)
        stmt = stmt.where(
            sa.or_(K.created_at > created, sa.and_(K.created_at == created, K.key_id > key_id))
        )
    rows = list(await conn.execute(stmt.limit(limit + 1)))
    page = rows[:limit]
    next_cursor = None
    if len(rows) > limit:
        next_cursor = encode_time_cursor("key", page[-1].created_at, page[-1].key_id)
    return {"items": [key_view(r) for r in page], "next_cursor": next_cursor}


async def revoke_key(conn: AsyncConnection, key_id: str, now: datetime) -> str:
    """Revoke one key; the last active admin key cannot be revoked (409), so that the server
    always keeps a way to administer it."""
    role = await conn.scalar(
        sa.select(api_keys.c.role).where(
            api_keys.c.key_id == key_id, api_keys.c.revoked_at.is_(None)
        )
    )
    if role == "admin" and await repository.active_admin_key_ids(conn, now) == [key_id]:
        raise Conflict(
            f"key {key_id} is the last active admin key: create another admin key before "
            "revoking it"
        )
    row = (
        await conn.execute(
            sa.update(api_keys)
            .where(api_keys.c.key_id == key_id, api_keys.c.revoked_at.is_(None))
            .values(revoked_at=now)
            .returning(api_keys.c.key_hash)
        )
    ).first()
    if row is None:
        raise NotFound(f"key {key_id} not found or already revoked")
    return str(row.key_hash)


async def admin_key_exists(conn: AsyncConnection, now: datetime) -> bool:
    """Whether an admin key is usable: neither revoked nor expired."""
    row = (
        await conn.execute(
            sa.select(api_keys.c.key_id)
            .where(
                api_keys.c.role == "admin",
                api_keys.c.revoked_at.is_(None),
                repository.unexpired(now),
            )
            .limit(1)
        )
    ).first()
    return row is not None


async def valid_key_ids(conn: AsyncConnection, key_ids: set[str]) -> set[str]:
    """Those of ``key_ids`` that exist and are not revoked (open streams re-check theirs)."""
    rows = await conn.execute(
        sa.select(api_keys.c.key_id, api_keys.c.expires_at).where(
            api_keys.c.key_id.in_(sorted(key_ids)), api_keys.c.revoked_at.is_(None)
        )
    )
    now = utcnow()
    return {str(r.key_id) for r in rows if r.expires_at is None or r.expires_at > now}
