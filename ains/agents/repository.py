"""All SQL about agents: their rows, capabilities, liveness, load and trust records."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from ains.db import dialect
from ains.models import agent_capabilities, agents, capability_trust, trust_records

A = agents.c
C = agent_capabilities.c
K = capability_trust.c


async def refresh(
    conn: AsyncConnection, agent_id: str, *, name: str, metadata: dict[str, Any], now: datetime
) -> None:
    """An agent's own re-registration: a sign of life plus its descriptive fields; status,
    capacity, team and capabilities stay as an admin left them."""
    await conn.execute(
        sa.update(agents)
        .where(A.agent_id == agent_id)
        .values(name=name, metadata=metadata, online=True, last_heartbeat_at=now, updated_at=now)
    )


async def replace_capabilities(
    conn: AsyncConnection, agent_id: str, capabilities: Iterable[str]
) -> None:
    names = list(capabilities)
    await conn.execute(sa.update(agents).where(A.agent_id == agent_id).values(capabilities=names))
    await conn.execute(sa.delete(agent_capabilities).where(C.agent_id == agent_id))
    await conn.execute(
        sa.insert(agent_capabilities), [{"agent_id": agent_id, "name": c} for c in names]
    )


async def lock_for_claim(conn: AsyncConnection, agent_id: str) -> Any:
    """The claiming agent's row, locked so that two claims of one agent never both take its
    last free slots (SQLite's single writer needs no lock)."""
    stmt = sa.select(
        A.agent_id,
        A.status,
        A.online,
        A.capabilities,
        A.trust_score,
        A.in_flight,
        A.max_concurrency,
    ).where(A.agent_id == agent_id)
    return (await conn.execute(dialect.for_update(conn, stmt))).first()


async def claim_candidates(conn: AsyncConnection, capabilities: Sequence[str]) -> list[Row[Any]]:
    """Every registered agent offering one of these capabilities, one row per (agent,
    capability), with what routing needs to rank or refuse it: status, liveness, whether it asks
    for work, load, and its trust for that capability (null: none recorded yet, neutral)."""
    stmt = (
        sa.select(
            C.name.label("capability"),
            A.agent_id,
            A.status,
            A.online,
            A.last_heartbeat_at,
            A.claim_until,
            A.in_flight,
            A.max_concurrency,
            K.trust_score,
            K.quarantined,
            K.updated_at.label("trust_updated_at"),
        )
        .join(agents, A.agent_id == C.agent_id)
        .outerjoin(capability_trust, sa.and_(K.agent_id == C.agent_id, K.capability == C.name))
        .where(C.name.in_(list(capabilities)), A.status != "DEREGISTERED")
    )
    return list(await conn.execute(stmt))


async def record_claim(
    conn: AsyncConnection, agent_id: str, *, now: datetime, claim_until: datetime, taken: int
) -> None:
    """A claim is a sign of life: online, heartbeat now, asking for work until `claim_until`,
    and holding `taken` more tasks."""
    values: dict[str, Any] = {"online": True, "last_heartbeat_at": now, "claim_until": claim_until}
    if taken:
        values["in_flight"] = A.in_flight + taken
    await conn.execute(sa.update(agents).where(A.agent_id == agent_id).values(values))


async def get(conn: AsyncConnection, agent_id: str) -> Row[Any] | None:
    return (await conn.execute(sa.select(agents).where(A.agent_id == agent_id))).first()


async def insert(conn: AsyncConnection, values: dict[str, Any]) -> None:
    await conn.execute(sa.insert(agents).values(**values))


async def update(conn: AsyncConnection, agent_id: str, values: dict[str, Any]) -> None:
    await conn.execute(sa.update(agents).where(A.agent_id == agent_id).values(**values))


async def reactivate(conn: AsyncConnection, agent_id: str, values: dict[str, Any]) -> None:
    """A deregistered agent registered again: new values, and its capabilities cleared (the
    caller adds the new ones)."""
    await update(conn, agent_id, values)
    await conn.execute(sa.delete(agent_capabilities).where(C.agent_id == agent_id))


async def add_capabilities(conn: AsyncConnection, agent_id: str, names: Iterable[str]) -> None:
    await conn.execute(
        sa.insert(agent_capabilities), [{"agent_id": agent_id, "name": c} for c in names]
    )


async def mark_alive(conn: AsyncConnection, agent_id: str, now: datetime) -> None:
    await update(conn, agent_id, {"online": True, "last_heartbeat_at": now})


async def mark_deregistered(conn: AsyncConnection, agent_id: str, now: datetime) -> None:
    await update(conn, agent_id, {"status": "DEREGISTERED", "online": False, "updated_at": now})


async def page(
    conn: AsyncConnection,
    *,
    after: str | None,
    capability: str | None,
    online: bool | None,
    fresh_since: datetime,
    limit: int,
) -> list[Row[Any]]:
    """Registered agents in agent_id order, after `after`; `online`: heartbeat after
    `fresh_since` (or not). Up to `limit` rows."""
    stmt = sa.select(agents).where(A.status != "DEREGISTERED").order_by(A.agent_id)
    if after:
        stmt = stmt.where(A.agent_id > after)
    if capability:
        stmt = stmt.where(A.agent_id.in_(sa.select(C.agent_id).where(C.name == capability)))
    if online is not None:
        is_online = sa.and_(A.online.is_(True), A.last_heartbeat_at > fresh_since)
        stmt = stmt.where(is_online if online else sa.not_(is_online))
    return list(await conn.execute(stmt.limit(limit)))


async def registered(conn: AsyncConnection) -> list[Row[Any]]:
    """Liveness, status and trust of every registered agent (the metrics snapshot)."""
    stmt = sa.select(A.agent_id, A.status, A.online, A.last_heartbeat_at, A.trust_score).where(
        A.status != "DEREGISTERED"
    )
    return list(await conn.execute(stmt))


async def silent_since(conn: AsyncConnection, cutoff: datetime) -> list[str]:
    """Agents still marked online whose last heartbeat is at or before `cutoff`."""
    stmt = sa.select(A.agent_id).where(A.online.is_(True), A.last_heartbeat_at <= cutoff)
    return [r.agent_id for r in await conn.execute(stmt)]


async def mark_offline(
    conn: AsyncConnection, agent_ids: Sequence[str], cutoff: datetime, now: datetime
) -> list[str]:
    """Those of `agent_ids` still silent since `cutoff`, now marked offline."""
    stmt = (
        sa.update(agents)
        .where(A.agent_id.in_(agent_ids), A.online.is_(True), A.last_heartbeat_at <= cutoff)
        .values(online=False, updated_at=now)
        .returning(A.agent_id)
    )
    return [r.agent_id for r in await conn.execute(stmt)]


async def oldest_online_heartbeat(conn: AsyncConnection) -> datetime | None:
    value = await conn.execute(
        sa.select(sa.func.min(A.last_heartbeat_at)).where(A.online.is_(True))
    )
    result: datetime | None = value.scalar()
    return result


async def lock_for_settlement(conn: AsyncConnection, agent_ids: Iterable[str]) -> list[Row[Any]]:
    """The agents whose attempts a settlement closes, locked in agent_id order."""
    stmt = sa.select(A.agent_id, A.trust_score, A.capabilities).where(
        A.agent_id.in_(sorted(agent_ids))
    )
    return list(await conn.execute(dialect.for_update(conn, stmt)))


async def settle(
    conn: AsyncConnection,
    agent_id: str,
    *,
    released: int,
    completed: int,
    failed: int,
    trust_score: float,
    now: datetime,
) -> None:
    """An agent's load, counters and trust after a settlement."""
    await update(
        conn,
        agent_id,
        {
            "in_flight": dialect.greatest(conn, A.in_flight - released, 0),
            "tasks_completed": A.tasks_completed + completed,
            "tasks_failed": A.tasks_failed + failed,
            "trust_score": trust_score,
            "updated_at": now,
        },
    )


async def add_trust_records(conn: AsyncConnection, records: Sequence[dict[str, Any]]) -> None:
    if records:
        await conn.execute(sa.insert(trust_records), list(records))


async def trust_history(
    conn: AsyncConnection, agent_id: str, limit: int, *, capability: str | None = None
) -> list[Row[Any]]:
    """The agent's trust records, newest first: those of its overall score (`capability`
    None), of one capability, or all of them (`"*"`)."""
    R = trust_records.c
    stmt = sa.select(trust_records).where(R.agent_id == agent_id)
    if capability is None:
        stmt = stmt.where(R.capability.is_(None))
    elif capability != "*":
        stmt = stmt.where(R.capability == capability)
    return list(await conn.execute(stmt.order_by(R.id.desc()).limit(limit)))


async def capability_trust_of(conn: AsyncConnection, agent_ids: Iterable[str]) -> list[Row[Any]]:
    """The trust rows per capability of these agents (callers hold the agents' row locks)."""
    stmt = sa.select(capability_trust).where(K.agent_id.in_(sorted(agent_ids)))
    return list(await conn.execute(stmt))


async def save_capability_trust(conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> None:
    """Insert or overwrite (agent, capability) trust rows, in one statement."""
    if not rows:
        return
    stmt = dialect.insert(conn, capability_trust).values(list(rows))
    stmt = stmt.on_conflict_do_update(
        index_elements=[K.agent_id, K.capability],
        set_={
            "trust_score": stmt.excluded.trust_score,
            "quarantined": stmt.excluded.quarantined,
            "canary_successes": stmt.excluded.canary_successes,
            "updated_at": stmt.excluded.updated_at,
        },
    )
    await conn.execute(stmt)


async def registered_capability_trust(conn: AsyncConnection) -> list[Row[Any]]:
    """Every (agent, capability) trust row of registered agents (the metrics snapshot)."""
    stmt = (
        sa.select(K.agent_id, K.capability, K.trust_score, K.quarantined, K.updated_at)
        .join(agents, A.agent_id == K.agent_id)
        .join(agent_capabilities, sa.and_(C.agent_id == K.agent_id, C.name == K.capability))
        .where(A.status != "DEREGISTERED")
    )
    return list(await conn.execute(stmt))
