"""Migration 0006 marks a database that already had an admin key as secured (even if that key
was revoked since), so upgrading never re-opens protected mode; a database without one stays
open for its first run. Both databases."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from ains.db.engine import create_engine
from ains.db.migrate import upgrade
from ains.models import api_keys, server_state
from tests.support.server import drop_pg_database, fresh_database_url

BEFORE = "0005_analytics_rollup"


async def _insert_and_read(url: str, role: str | None) -> list[str]:
    engine = create_engine(url)
    try:
        if role is not None:
            now = datetime.now(UTC)
            async with engine.begin() as conn:
                await conn.execute(
                    api_keys.insert().values(
                        key_id=f"key_{role}", key_hash=role * 8, key_prefix="ains_x",
                        role=role, principal_id=role, name=role, team=None, created_at=now,
                        revoked_at=now,
                    )
                )  # fmt: skip
            return []
        async with engine.connect() as conn:
            return [r.name for r in await conn.execute(sa.select(server_state))]
    finally:
        await engine.dispose()


@pytest.mark.parametrize(("role", "secured"), [("admin", True), ("client", False)])
def test_an_existing_admin_key_marks_the_database_secured(
    backend: str, tmp_path: Path, role: str, secured: bool
) -> None:
    url = fresh_database_url(backend, tmp_path)
    try:
        upgrade(url, BEFORE)
        asyncio.run(_insert_and_read(url, role))
        upgrade(url)
        assert asyncio.run(_insert_and_read(url, None)) == (["secured"] if secured else [])
    finally:
        if backend == "postgresql":
            drop_pg_database(url)
