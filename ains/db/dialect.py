"""Every difference between SQLite and PostgreSQL, in one place.

No other module asks which database it talks to: repositories call these helpers, which
answer with the statement, expression or value that database needs
(`tests/architecture/test_dialect_seam.py` keeps it so)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.sqlite.base import SQLiteCompiler
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.sql import Select

POSTGRESQL = "postgresql"
SQLITE = "sqlite"
# the URL schemes AINS_DATABASE_URL accepts
URL_SCHEMES = ("sqlite", "sqlite+aiosqlite", "postgresql", "postgres", "postgresql+asyncpg")

T = TypeVar("T")
S = TypeVar("S", bound=Select[Any])


# --- which database: URLs, engines, connections ------------------------------------------------


def url_is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def url_is_postgresql(url: str) -> bool:
    return url.startswith(("postgresql", "postgres"))


def async_url(url: str) -> str:
    """`sqlite:///x.db` → aiosqlite, `postgresql://…` → asyncpg; explicit drivers are kept."""
    if url.startswith("sqlite:"):
        return "sqlite+aiosqlite:" + url[len("sqlite:") :]
    for prefix in ("postgresql:", "postgres:"):
        if url.startswith(prefix):
            return "postgresql+asyncpg:" + url[len(prefix) :]
    return url


def has_listen_notify(url: str) -> bool:
    """Whether replicas can share a bus through the database (PostgreSQL's LISTEN/NOTIFY)."""
    return url_is_postgresql(url)


def plain_dsn(url: str) -> str:
    """The plain libpq DSN of a PostgreSQL URL, whatever its driver (for asyncpg directly)."""
    return "postgresql://" + url.split("://", 1)[1]


def engine_name(engine: AsyncEngine) -> str:
    """`postgresql` or `sqlite` (what `/ready` and the maintenance stats report)."""
    return str(engine.dialect.name)


def has_single_writer(engine: AsyncEngine) -> bool:
    """SQLite: one writer at a time (the server holds one connection), so rows need no locks,
    a read already sees one moment, and a long write makes every other one wait."""
    return engine.dialect.name == SQLITE


def url_has_single_writer(url: str) -> bool:
    return url_is_sqlite(url)


def _is_postgresql(conn: AsyncConnection) -> bool:
    return conn.dialect.name == POSTGRESQL


def pick(conn: AsyncConnection, *, postgresql: T, sqlite: T) -> T:
    """The one of two ways of doing a thing that suits this connection's database."""
    return postgresql if _is_postgresql(conn) else sqlite


# --- types ---------------------------------------------------------------------------------------

JSON_TYPE = sa.JSON().with_variant(JSONB(), POSTGRESQL)
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), SQLITE)


def stores_naive_datetimes(dialect: Dialect) -> bool:
    """SQLite keeps timestamps as naive text (in UTC); PostgreSQL as timestamptz."""
    return dialect.name == SQLITE


# --- statements ----------------------------------------------------------------------------------


def for_update(
    conn: AsyncConnection, stmt: S, *, skip_locked: bool = False, of: sa.Table | None = None
) -> S:
    """Row locks on PostgreSQL (`skip_locked`: rows another transaction holds are passed over,
    never waited for; `of`: only that table's rows). SQLite has one writer: its rows need no
    lock."""
    if _is_postgresql(conn):
        return stmt.with_for_update(skip_locked=skip_locked, of=of)
    return stmt


def insert(conn: AsyncConnection, table: sa.Table) -> Any:
    """An INSERT that knows `ON CONFLICT` (`on_conflict_do_nothing`, `on_conflict_do_update`)."""
    return pick(conn, postgresql=postgresql.insert, sqlite=sqlite.insert)(table)


def rows_table(
    conn: AsyncConnection,
    name: str,
    columns: Sequence[tuple[str, Any]],
    rows: Sequence[Sequence[Any]],
) -> sa.TableValuedAlias | None:
    """PostgreSQL: `rows` as a table to join a statement to, `unnest(<one array per column>)
    AS name(columns)` (`columns`: (name, type) pairs): many rows in one statement of a fixed
    few parameters, parsed and planned once (an executemany runs the statement once per row).
    None on SQLite, whose executemany is already one call into the database."""
    if not _is_postgresql(conn):
        return None
    arrays = [
        sa.bindparam(f"{name}_{column}", [row[i] for row in rows], type_=postgresql.ARRAY(type_))
        for i, (column, type_) in enumerate(columns)
    ]
    return (
        sa.func.unnest(*arrays)
        .table_valued(*(sa.column(column, type_) for column, type_ in columns))
        .render_derived(name=name)
    )


def greatest(conn: AsyncConnection, *values: Any) -> sa.ColumnElement[Any]:
    """The largest of the values (SQLite's two-argument `max`, PostgreSQL's `greatest`)."""
    if _is_postgresql(conn):
        return sa.func.greatest(*values)
    return sa.func.max(*values)


def sqlite_index_hint(stmt: S, table: sa.Table, index: str | None) -> S:
    """Make SQLite read `table` through `index` (its planner may pick a worse one); nothing on
    PostgreSQL."""
    if index is None:
        return stmt
    return stmt.with_hint(table, f"INDEXED BY {index}", SQLITE)


def json_array_has(conn: AsyncConnection, column: Any, value: str) -> sa.ColumnElement[bool]:
    """Whether the JSON array in `column` holds the string `value`."""
    if _is_postgresql(conn):
        result: sa.ColumnElement[bool] = column.op("?")(value)
        return result
    items = sa.func.json_each(column).table_valued("value")
    return sa.exists(sa.select(1).select_from(items).where(items.c.value == value))


def time_bucket(
    conn: AsyncConnection, bucket: str, column: sa.ColumnElement[Any]
) -> sa.ColumnElement[Any]:
    """The start of the UTC `bucket` ("hour" or "day") of a timestamp column."""
    if _is_postgresql(conn):
        return sa.func.date_trunc(bucket, sa.func.timezone("UTC", column))
    # SQLite keeps UTCDateTime as naive UTC text, 'YYYY-MM-DD HH:MM:SS.ffffff'
    fmt = "%Y-%m-%d %H:00:00" if bucket == "hour" else "%Y-%m-%d 00:00:00"
    return sa.func.strftime(fmt, column)


def day_of_hour_sql(conn: AsyncConnection, column: str) -> str:
    """Raw SQL: the UTC day of an hour column, in the column's storage."""
    return pick(
        conn,
        postgresql=f"date_trunc('day', {column} AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'",
        sqlite=f"substr({column}, 1, 10) || ' 00:00:00.000000'",
    )


async def try_transaction_lock(conn: AsyncConnection, key: int) -> bool:
    """Take a lock named `key` until this transaction ends, without waiting; False when another
    transaction holds it. PostgreSQL's advisory lock; SQLite's single writer already is one."""
    if not _is_postgresql(conn):
        return True
    locked = await conn.scalar(sa.text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": key})
    return bool(locked)


async def database_bytes(conn: AsyncConnection) -> int:
    if _is_postgresql(conn):
        value = await conn.scalar(sa.text("SELECT pg_database_size(current_database())"))
        return int(value or 0)
    pages = await conn.scalar(sa.text("PRAGMA page_count"))
    size = await conn.scalar(sa.text("PRAGMA page_size"))
    return int(pages or 0) * int(size or 0)


# --- engine setup --------------------------------------------------------------------------------


def _sqlite_from_hint(_compiler: SQLiteCompiler, _table: Any, text: str | None) -> str | None:
    return text


def install_compiler_patches() -> None:
    """SQLAlchemy's SQLite compiler drops FROM hints; SQLite's `tasks INDEXED BY idx` is
    exactly one, so `sqlite_index_hint` needs it rendered. Idempotent."""
    SQLiteCompiler.get_from_hint_text = _sqlite_from_hint  # type: ignore[method-assign,assignment]


install_compiler_patches()
