"""SQL of the agents domain (new statements live here; older ones are still in service.py)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from ains.models import agent_capabilities, agents

A = agents.c
C = agent_capabilities.c


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
    if conn.dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    return (await conn.execute(stmt)).first()


async def claim_candidates(
    conn: AsyncConnection,
    capabilities: Sequence[str],
    *,
    online_after: datetime,
    asking_after: datetime,
    claimant: str,
) -> list[Row[Any]]:
    """Agents that could take work of these capabilities now: active, online, with room and
    asking for work (in a long-poll claim, or just back from one). The claimant is always one."""
    stmt = (
        sa.select(
            C.name.label("capability"),
            A.agent_id,
            A.trust_score,
            A.in_flight,
            A.max_concurrency,
        )
        .join(agents, A.agent_id == C.agent_id)
        .where(
            C.name.in_(list(capabilities)),
            A.status == "ACTIVE",
            A.in_flight < A.max_concurrency,
            sa.or_(
                A.agent_id == claimant,
                sa.and_(
                    A.online.is_(True),
                    A.last_heartbeat_at > online_after,
                    A.claim_until > asking_after,
                ),
            ),
        )
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
