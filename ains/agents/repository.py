"""SQL of the agents domain (new statements live here; older ones are still in service.py)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from ains.models import agent_capabilities, agents

A = agents.c


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
    await conn.execute(
        sa.delete(agent_capabilities).where(agent_capabilities.c.agent_id == agent_id)
    )
    await conn.execute(
        sa.insert(agent_capabilities), [{"agent_id": agent_id, "name": c} for c in names]
    )
