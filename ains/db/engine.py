"""Engine creation for both databases and the transaction wrapper every write goes through."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from ains.db import dialect
from ains.db.dialect import async_url

__all__ = ["Database", "Tx", "async_url", "create_engine"]


def _json_dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def _json_loads(value: str | bytes | int | float) -> Any:
    # SQLite's NUMERIC affinity hands a JSON number back as a number, not as text
    if isinstance(value, int | float):
        return value
    return orjson.loads(value)


def create_engine(url: str, *, pool_size: int = 20) -> AsyncEngine:
    """Statement errors never carry their parameters (`hide_parameters`): they hold task
    input and results, and the errors end up in logs."""
    url = async_url(url)
    if dialect.url_is_sqlite(url):
        # One connection: SQLite has one writer, and a single connection never meets
        # "database is locked" inside the process.
        engine = create_async_engine(
            url,
            pool_size=1,
            max_overflow=0,
            json_serializer=_json_dumps,
            json_deserializer=_json_loads,
            pool_timeout=60,
            hide_parameters=True,
        )

        @sa.event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA busy_timeout=10000")
            cursor.close()

        return engine
    return create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=10,
        pool_pre_ping=True,
        pool_recycle=3600,
        json_serializer=_json_dumps,
        json_deserializer=_json_loads,
        hide_parameters=True,
    )


@dataclass
class Tx:
    """One transaction, plus work to do once it has committed."""

    conn: AsyncConnection
    after_commit: list[Callable[[], None]] = field(default_factory=list)

    def on_commit(self, callback: Callable[[], None]) -> None:
        self.after_commit.append(callback)


class Database:
    def __init__(
        self,
        engine: AsyncEngine,
        on_events: Callable[[list[dict[str, Any]]], None] | None = None,
    ) -> None:
        self.engine = engine
        # SQLite: one writer (and the server holds one connection); see `dialect`
        self.single_writer = dialect.has_single_writer(engine)
        self.dialect_name = dialect.engine_name(engine)
        # called with the event rows a transaction wrote, once it has committed
        self.on_events = on_events

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Tx]:
        written: list[dict[str, Any]] = []
        async with self.engine.begin() as conn:
            conn.info["ains_events"] = written
            tx = Tx(conn)
            try:
                yield tx
            finally:
                # a cancelled statement leaves the connection unusable until begin() rolls it
                # back, and the next transaction replaces the list anyway
                with contextlib.suppress(sa_exc.PendingRollbackError):
                    conn.info.pop("ains_events", None)
        for callback in tx.after_commit:
            callback()
        if written and self.on_events is not None:
            self.on_events(written)

    @asynccontextmanager
    async def read(self, *, snapshot: bool = False) -> AsyncIterator[AsyncConnection]:
        """A connection for reads; `snapshot`: every statement sees the same moment (SQLite's
        single connection already does; PostgreSQL needs REPEATABLE READ for that)."""
        async with self.engine.connect() as conn:
            if snapshot and not self.single_writer:
                await conn.execution_options(isolation_level="REPEATABLE READ")
            yield conn

    async def ping(self) -> None:
        """Raises unless the database answers."""
        async with self.read() as conn:
            await conn.exec_driver_sql("SELECT 1")

    async def dispose(self) -> None:
        await self.engine.dispose()
