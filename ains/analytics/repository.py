"""All SQL of the analytics: aggregates of the tasks table, grouped by status and one key.

Every aggregate groups by status as well, so one query answers counts per status, sums and
counts for averages; the service folds the rows (a few per group) into `Stats`."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from ains.analytics.schemas import Bucket, Scope, Window
from ains.models import tasks

T = tasks.c
Where = Sequence[sa.ColumnElement[bool]]

RAW_COLUMNS = (
    "task_id",
    "client_id",
    "task_type",
    "capability_required",
    "status",
    "assigned_agent_id",
    "priority",
    "cost",
    "quality_score",
    "execution_ms",
    "retry_count",
    "error_type",
    "dead_lettered",
    "created_at",
    "started_at",
    "completed_at",
)


def filters(window: Window, scope: Scope) -> list[sa.ColumnElement[bool]]:
    where: list[sa.ColumnElement[bool]] = []
    if window.start is not None:
        where.append(T.created_at >= window.start)
    if window.end is not None:
        where.append(T.created_at < window.end)
    if scope.client_id is not None:
        where.append(T.client_id == scope.client_id)
    if scope.agent_id is not None:
        where.append(T.assigned_agent_id == scope.agent_id)
    return where


def _measures() -> list[sa.ColumnElement[Any]]:
    return [
        T.status,
        sa.func.count().label("n"),
        sa.func.sum(T.execution_ms).label("exec_sum"),
        sa.func.count(T.execution_ms).label("exec_n"),
        sa.func.sum(T.cost).label("cost_sum"),
        sa.func.sum(T.quality_score).label("quality_sum"),
        sa.func.count(T.quality_score).label("quality_n"),
    ]


async def by_key(conn: AsyncConnection, where: Where, key: sa.ColumnElement[Any]) -> list[Row[Any]]:
    """Rows of (key, status, measures…); the key column is labelled `key`."""
    stmt = sa.select(key.label("key"), *_measures()).where(*where).group_by(key, T.status)
    if len(where) <= 2:  # a time range only (admin): SQLite otherwise prefers an index on
        # the group key and visits every row; the covering index reads far less
        stmt = stmt.with_hint(tasks, "INDEXED BY idx_tasks_analytics", "sqlite")
    return list(await conn.execute(stmt))


def agent_key() -> sa.ColumnElement[Any]:
    return T.assigned_agent_id


def task_type_key() -> sa.ColumnElement[Any]:
    return T.task_type


def bucket_key(dialect: str, bucket: Bucket) -> sa.ColumnElement[Any]:
    if dialect == "postgresql":
        return sa.func.date_trunc(bucket, sa.text("created_at AT TIME ZONE 'UTC'"))
    # SQLite keeps UTCDateTime as naive UTC text, 'YYYY-MM-DD HH:MM:SS.ffffff'
    fmt = "%Y-%m-%d %H:00:00" if bucket == "hour" else "%Y-%m-%d 00:00:00"
    return sa.func.strftime(fmt, T.created_at)


def as_utc(value: Any) -> datetime:
    """A bucket key (text on SQLite, naive timestamp on PostgreSQL) as an aware UTC datetime."""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    assert isinstance(moment, datetime)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _executed(where: Where) -> list[sa.ColumnElement[bool]]:
    return [*where, T.status == "COMPLETED", T.execution_ms.is_not(None)]


async def percentiles(
    conn: AsyncConnection, where: Where, fractions: Sequence[float], count: int
) -> list[float | None]:
    """Linearly interpolated percentiles of execution_ms over completed tasks (`count` of
    them): `percentile_cont` on PostgreSQL, the same arithmetic over two ranked rows on SQLite."""
    if count == 0:
        return [None for _ in fractions]
    if conn.dialect.name == "postgresql":
        columns = [sa.func.percentile_cont(f).within_group(T.execution_ms) for f in fractions]
        row = (await conn.execute(sa.select(*columns).where(*_executed(where)))).one()
        return [None if v is None else float(v) for v in row]
    answers: list[float | None] = []
    for fraction in fractions:
        position = fraction * (count - 1)
        lower, upper = math.floor(position), math.ceil(position)
        # walk the (status, execution_ms) index from the nearer end: p95 reads 5 % of it
        descending = upper > (count - 1) / 2
        if descending:
            order, offset = T.execution_ms.desc(), count - 1 - upper
        else:
            order, offset = T.execution_ms.asc(), lower
        stmt = sa.select(T.execution_ms).where(*_executed(where)).order_by(order)
        values = sorted(
            float(v) for v in (await conn.execute(stmt.limit(2).offset(offset))).scalars()
        )
        if not values:
            answers.append(None)
            continue
        low, high = _neighbours(values, descending, lower != upper)
        answers.append(low + (position - lower) * (high - low))
    return answers


def _neighbours(values: list[float], descending: bool, between: bool) -> tuple[float, float]:
    """The values at ranks floor(pos) and ceil(pos), from up to two rows read from one end."""
    if not between or len(values) == 1:
        only = values[-1] if descending else values[0]
        return only, only
    return values[0], values[1]


async def raw_page(
    conn: AsyncConnection, where: Where, after: tuple[datetime, str] | None, limit: int
) -> list[Row[Any]]:
    """One keyset page of tasks in (created_at, task_id) order; the connection is released
    between pages, so a long export never holds the (single, on SQLite) connection."""
    stmt = sa.select(*(T[name] for name in RAW_COLUMNS)).where(*where)
    if after is not None:
        created, task_id = after
        stmt = stmt.where(
            sa.or_(
                T.created_at > created,
                sa.and_(T.created_at == created, T.task_id > task_id),
            )
        )
    stmt = stmt.order_by(T.created_at, T.task_id).limit(limit)
    return list(await conn.execute(stmt))
