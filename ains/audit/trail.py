"""Audit entries: who (principal, key), what (a dotted action), on what (target), when, how it
ended (`ok`, `denied`, `refused` with the HTTP status) and in which request (X-Request-ID).

An `ok` entry is written in the transaction of the change it records, so both commit or
neither does; the hot paths hand their entries to the same grouped insert as their rows."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final, Literal

from sqlalchemy.ext.asyncio import AsyncConnection

from ains.audit.repository import insert_entries
from ains.audit.request_ids import current_request_id
from ains.security.principals import Principal

Outcome = Literal["ok", "denied", "refused"]
OUTCOMES: Final = ("ok", "denied", "refused")
ANONYMOUS: Final = Principal("client", "anonymous")
# a bulk operation names this many of its targets in `detail` (and counts all of them)
LISTED_TARGETS: Final = 100


def entry(
    principal: Principal,
    action: str,
    *,
    now: datetime,
    target_type: str | None = None,
    target_id: str | None = None,
    outcome: Outcome = "ok",
    status: int | None = None,
    detail: dict[str, Any] | None = None,
    of_request: bool = True,
) -> dict[str, Any]:
    """A row for `audit_log`; `of_request`: record the id of the request being served."""
    return {
        "occurred_at": now,
        "principal_id": principal.principal_id,
        "role": principal.role,
        "key_id": principal.key_id,
        "action": _storable(action, 100),
        "target_type": target_type,
        "target_id": None if target_id is None else _storable(target_id, 200),
        "outcome": outcome,
        "status": status,
        "request_id": current_request_id() if of_request else None,
        "detail": detail,
    }


async def record(
    conn: AsyncConnection,
    principal: Principal,
    action: str,
    *,
    now: datetime,
    target_type: str | None = None,
    target_id: str | None = None,
    outcome: Outcome = "ok",
    status: int | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Write one entry on `conn`: inside the change's transaction for an `ok` one."""
    row = entry(
        principal,
        action,
        now=now,
        target_type=target_type,
        target_id=target_id,
        outcome=outcome,
        status=status,
        detail=detail,
    )
    await insert_entries(conn, [row])


def _storable(text: str, size: int) -> str:
    """Denials name what the caller sent (a path, a path parameter): cut to the column's size
    and without NUL, which PostgreSQL refuses, so the row is always written."""
    return text.replace("\x00", "")[:size]


def listed(ids: list[str]) -> dict[str, Any]:
    """The `detail` naming a bulk operation's targets: the first ones, and how many."""
    return {"target_ids": ids[:LISTED_TARGETS], "count": len(ids)}
