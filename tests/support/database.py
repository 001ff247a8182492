"""Reading a server's database directly, for tests that check what is stored."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from ains.db.engine import create_engine
from ains.models import metadata


def rows_containing(url: str, needle: str) -> list[str]:
    """Every table row (all columns, JSON included) whose text contains ``needle``."""

    async def scan() -> list[str]:
        engine = create_engine(url)
        found = []
        try:
            async with engine.connect() as conn:
                for table in metadata.sorted_tables:
                    for row in await conn.execute(sa.select(table)):
                        if needle in repr(tuple(row)):
                            found.append(f"{table.name}: {row}")
        finally:
            await engine.dispose()
        return found

    return asyncio.run(scan())


def task_row(task_id: str, **fields: Any) -> dict[str, Any]:
    """A `tasks` row to insert straight into a database: every required column with a neutral
    value (a private PENDING task of client "c", capability "cap", priority 5, made now), then
    `fields` on top."""
    now = datetime.now(UTC)
    row: dict[str, Any] = {
        "task_id": task_id,
        "client_id": "c",
        "task_type": "t",
        "capability_required": "cap",
        "priority": 5,
        "queue_key": 0.0,
        "status": "PENDING",
        "max_retries": 0,
        "retry_policy": {},
        "visibility": "private",
        "allowed_viewers": [],
        "metadata": {},
        "depends_on": [],
        "created_at": now,
        "updated_at": now,
    }
    return row | fields
