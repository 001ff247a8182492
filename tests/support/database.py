"""Reading a server's database directly, for tests that check what is stored."""

from __future__ import annotations

import asyncio

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
