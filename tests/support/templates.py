"""Migrated databases made by copying: a server started on a fresh database spends a large part
of its start-up running every migration, so tests copy a database migrated once instead.

PostgreSQL: one template database per migration set (named by a hash of the migration files,
shared by every worker and run, built under an advisory lock), copied by `CREATE DATABASE …
TEMPLATE`. SQLite: one migrated file per test process, copied."""

from __future__ import annotations

import asyncio
import hashlib
import shutil
import tempfile
import uuid
from pathlib import Path

import asyncpg

from tests.support.server import PG_ADMIN_URL, ROOT, pg_database_url, run_coroutine

MIGRATIONS = ROOT / "ains" / "migrations"
_sqlite_template: Path | None = None


def _migration_hash() -> str:
    digest = hashlib.sha256()
    for path in sorted(MIGRATIONS.rglob("*.py")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


async def _ensure_pg_template(name: str) -> None:
    from ains.db.migrate import upgrade

    conn = await asyncpg.connect(PG_ADMIN_URL, timeout=10)
    try:
        await conn.execute("SELECT pg_advisory_lock(hashtext($1))", name)
        try:
            if await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
                return
            building = f"{name}_building"
            await conn.execute(f'DROP DATABASE IF EXISTS "{building}" WITH (FORCE)')
            await conn.execute(f'CREATE DATABASE "{building}"')
            await asyncio.to_thread(upgrade, pg_database_url(building))
            await conn.execute(f'ALTER DATABASE "{building}" RENAME TO "{name}"')
        finally:
            await conn.execute("SELECT pg_advisory_unlock(hashtext($1))", name)
    finally:
        await conn.close()


async def _copy_pg_template(template: str, name: str) -> None:
    await _ensure_pg_template(template)
    conn = await asyncpg.connect(PG_ADMIN_URL, timeout=10)
    try:
        await conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    finally:
        await conn.close()


def migrated_pg_database() -> str:
    name = f"ains_test_{uuid.uuid4().hex[:10]}"
    run_coroutine(_copy_pg_template(f"ains_template_{_migration_hash()}", name))
    return pg_database_url(name)


def migrated_sqlite_database(tmp_dir: Path) -> str:
    global _sqlite_template
    if _sqlite_template is None:
        from ains.db.migrate import upgrade

        path = Path(tempfile.mkdtemp(prefix="ains-template-")) / "template.db"
        upgrade(f"sqlite:///{path}")
        _sqlite_template = path
    target = tmp_dir / f"ains-{uuid.uuid4().hex[:8]}.db"
    shutil.copyfile(_sqlite_template, target)
    return f"sqlite:///{target}"
