"""Alembic environment: runs migrations through the async engine on either database."""

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

import ains.models
from ains.db.engine import create_engine

config = context.config
target_metadata = ains.models.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


async def _main() -> None:
    engine = create_engine(config.get_main_option("sqlalchemy.url") or "", pool_size=1)
    async with engine.connect() as connection:
        await connection.run_sync(_run)
        await connection.commit()
    await engine.dispose()


asyncio.run(_main())
