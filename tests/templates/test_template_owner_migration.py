"""Migration 0006 on a database that already holds templates: each keeps the owner that
created it (shared with nobody), names become unique per owner, and the migration downgrades
and upgrades again cleanly. Both databases."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command

from ains.db.engine import create_engine
from ains.db.migrate import alembic_config, upgrade
from tests.support.server import drop_pg_database, fresh_database_url

BEFORE = "0006_server_state"
NOW = datetime.now(UTC).replace(microsecond=0, tzinfo=None)
OLD = sa.table(
    "templates",
    sa.column("template_id"),
    sa.column("name"),
    sa.column("owner_id"),
    sa.column("defaults", sa.JSON),
    sa.column("created_at"),
    sa.column("updated_at"),
)


def _row(i: int, owner: str, name: str) -> dict[str, Any]:
    return {
        "template_id": f"tpl_{i}",
        "name": name,
        "owner_id": owner,
        "defaults": {"input_data": {"i": i}},
        "created_at": NOW,
        "updated_at": NOW,
    }


async def _run(url: str, rows: list[dict[str, Any]] | None = None) -> list[Any]:
    engine = create_engine(url)
    try:
        if rows:
            async with engine.begin() as conn:
                await conn.execute(OLD.insert(), rows)
        async with engine.connect() as conn:
            result = await conn.execute(sa.text("SELECT * FROM templates ORDER BY template_id"))
            return [dict(r._mapping) for r in result]
    finally:
        await engine.dispose()


def test_existing_templates_keep_their_owner_and_the_migration_round_trips(
    backend: str, tmp_path: Path
) -> None:
    url = fresh_database_url(backend, tmp_path)
    try:
        upgrade(url, BEFORE)
        asyncio.run(_run(url, [_row(1, "alice", "daily"), _row(2, "local-admin", "weekly")]))
        upgrade(url)
        rows = asyncio.run(_run(url))
        assert [(r["template_id"], r["owner_id"], r["name"], r["team"]) for r in rows] == [
            ("tpl_1", "alice", "daily", None),
            ("tpl_2", "local-admin", "weekly", None),
        ]
        # the same name for another owner is allowed now, twice for one owner is not
        asyncio.run(_run(url, [_row(3, "bob", "daily")]))
        with pytest.raises(sa.exc.IntegrityError):
            asyncio.run(_run(url, [_row(4, "alice", "daily")]))
        asyncio.run(_delete(url, "tpl_3"))
        command.downgrade(alembic_config(url), BEFORE)
        assert [r["name"] for r in asyncio.run(_run(url))] == ["daily", "weekly"]
        with pytest.raises(sa.exc.IntegrityError):  # global names again
            asyncio.run(_run(url, [_row(5, "bob", "daily")]))
        command.upgrade(alembic_config(url), "head")
        assert {r["owner_id"] for r in asyncio.run(_run(url))} == {"alice", "local-admin"}
    finally:
        if backend == "postgresql":
            drop_pg_database(url)


async def _delete(url: str, template_id: str) -> None:
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(OLD.delete().where(OLD.c.template_id == template_id))
    finally:
        await engine.dispose()
