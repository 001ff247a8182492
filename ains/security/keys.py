"""API keys: generated once, stored as SHA-256 hashes, revocable, optionally expiring."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from ains.clock import new_id, utcnow
from ains.exceptions import Conflict, NotFound
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
    await repository.insert_key(conn, values)
    if role == "admin":
        await repository.mark_secured(conn, now)
    view = {k: v for k, v in values.items() if k != "key_hash"}
    return {**view, "api_key": api_key}


async def find_holder(conn: AsyncConnection, api_key: str) -> KeyHolder | None:
    """The holder of an unrevoked key, expired or not (the caller compares with its clock)."""
    row = await repository.active_key_by_hash(conn, hash_key(api_key))
    if row is None:
        return None
    principal = Principal(
        role=row.role, principal_id=row.principal_id, team=row.team, key_id=row.key_id
    )
    return KeyHolder(principal, row.expires_at)


async def list_keys(conn: AsyncConnection, *, limit: int, cursor: str | None) -> dict[str, Any]:
    """A page of keys, oldest first."""
    after = decode_time_cursor("key", cursor) if cursor else None
    rows = await repository.keys_page(conn, after=after, limit=limit + 1)
    page = rows[:limit]
    next_cursor = None
    if len(rows) > limit:
        next_cursor = encode_time_cursor("key", page[-1].created_at, page[-1].key_id)
    return {"items": [key_view(r) for r in page], "next_cursor": next_cursor}


async def revoke_key(conn: AsyncConnection, key_id: str, now: datetime) -> str:
    """Revoke one key; the last active admin key cannot be revoked (409), so that the server
    always keeps a way to administer it."""
    role = await repository.active_key_role(conn, key_id)
    if role == "admin" and await repository.active_admin_key_ids(conn, now) == [key_id]:
        raise Conflict(
            f"key {key_id} is the last active admin key: create another admin key before "
            "revoking it"
        )
    key_hash = await repository.revoke_key(conn, key_id, now)
    if key_hash is None:
        raise NotFound(f"key {key_id} not found or already revoked")
    return key_hash


async def admin_key_exists(conn: AsyncConnection, now: datetime) -> bool:
    """Whether an admin key is usable: neither revoked nor expired."""
    return await repository.usable_admin_key_exists(conn, now)


async def valid_key_ids(conn: AsyncConnection, key_ids: set[str]) -> set[str]:
    """Those of ``key_ids`` that exist and are not revoked (open streams re-check theirs)."""
    rows = await repository.unrevoked_keys(conn, key_ids)
    now = utcnow()
    return {str(r.key_id) for r in rows if r.expires_at is None or r.expires_at > now}
