"""All SQL of the analytics: aggregates of the tasks table, grouped by status and one key.

Every aggregate groups by status as well, so one query answers counts per status, sums and
counts for averages; the service folds the rows (a few per group) into `Stats`."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from ains.analytics.rollup import MEASURES
from ains.analytics.schemas import Bucket, Scope, Window
from ains.models import task_rollup_deltas, task_rollups, tasks
from ains.models.tasks import FINISHED_PREDICATE, LIVE_PREDICATE

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
    where = _created_in(window.start, window.end)
    if scope.client_id is not None:
        where.append(T.client_id == scope.client_id)
    if scope.agent_id is not None:
        where.append(T.assigned_agent_id == scope.agent_id)
    return where


def _created_in(start: datetime | None, end: datetime | None) -> list[sa.ColumnElement[bool]]:
    where: list[sa.ColumnElement[bool]] = []
    if start is not None:
        where.append(T.created_at >= start)
    if end is not None:
        where.append(T.created_at < end)
    return where


def _task_measures() -> list[sa.ColumnElement[Any]]:
    return [
        T.status,
        sa.func.count().label("n"),
        sa.func.sum(T.execution_ms).label("exec_sum"),
        sa.func.count(T.execution_ms).label("exec_n"),
        sa.func.sum(T.cost).label("cost_sum"),
        sa.func.sum(T.quality_score).label("quality_sum"),
        sa.func.count(T.quality_score).label("quality_n"),
    ]


def _summed_measures(table: sa.Table) -> list[sa.ColumnElement[Any]]:
    c = table.c
    return [c.status, *(sa.func.sum(c[m]).label(m) for m in MEASURES)]


async def _grouped(
    conn: AsyncConnection,
    key: sa.ColumnElement[Any],
    measures: list[sa.ColumnElement[Any]],
    where: Where,
) -> list[Row[Any]]:
    status = measures[0]
    stmt = sa.select(key.label("key"), *measures).where(*where).group_by(key, status)
    return list(await conn.execute(stmt))


async def by_key(conn: AsyncConnection, where: Where, key: sa.ColumnElement[Any]) -> list[Row[Any]]:
    """Rows of (key, status, measures…) straight from the tasks table (`where` over tasks)."""
    return await _grouped(conn, key, _task_measures(), where)


# -- the rolled-up path ------------------------------------------------------------------------


@dataclass(frozen=True)
class Grouping:
    """What a rolled-up aggregate groups by: the agent, the task type, or a time bucket."""

    by: Literal["agent", "type", "bucket"]
    bucket: Bucket = "day"


def rollup_dim(grouping: Grouping, scope: Scope) -> str | None:
    """The rollup dimension answering `grouping` for `scope`; None: read the tasks table."""
    if scope.client_id is not None:
        return None  # rollups are not kept per client: a client's own tasks are read directly
    if scope.agent_id is not None:
        return "agent" if grouping.by in ("agent", "bucket") else None
    return {"agent": "agent", "type": "type", "bucket": "all"}[grouping.by]


def full_hours(window: Window) -> tuple[datetime | None, datetime | None] | None:
    """[first, last) whole hours inside the window (open where the window is); None if none."""
    first = None if window.start is None else _ceil_hour(window.start)
    last = None if window.end is None else window.end.replace(minute=0, second=0, microsecond=0)
    if first is not None and last is not None and first >= last:
        return None
    return first, last


def _ceil_hour(moment: datetime) -> datetime:
    floor = moment.replace(minute=0, second=0, microsecond=0)
    return floor if floor == moment else floor + timedelta(hours=1)


async def rolled_up(
    conn: AsyncConnection, window: Window, scope: Scope, grouping: Grouping, dim: str
) -> list[Row[Any]]:
    """Rows of (key, status, measures…) for the window: finished tasks of whole hours from
    rollups and pending deltas, finished tasks of the partial hours at the edges and every
    unfinished task from the tasks table. Several rows may share a (key, status)."""
    dialect = conn.dialect.name
    rows: list[Row[Any]] = []
    hours = full_hours(window)
    agent = scope.agent_id
    finished = _predicate(FINISHED_PREDICATE)
    task_key = _task_key(dialect, grouping)
    task_scope = [] if agent is None else [T.assigned_agent_id == agent]
    if hours is None:
        edges: list[list[sa.ColumnElement[bool]]] = [_created_in(window.start, window.end)]
    else:
        first, last = hours
        R, D = task_rollups.c, task_rollup_deltas.c
        in_hours = _hour_range(R.hour, first, last)
        if agent is not None:
            in_hours.append(R.key == agent)
        rows += await _grouped(
            conn,
            _rollup_key(dialect, grouping),
            _summed_measures(task_rollups),
            [R.dim == dim, *in_hours],
        )
        delta_where = _hour_range(D.hour, first, last)
        if agent is not None:
            delta_where.append(D.agent_id == agent)
        rows += await _grouped(
            conn, _delta_key(dialect, grouping), _summed_measures(task_rollup_deltas), delta_where
        )
        edges = []
        if window.start is not None and first is not None and window.start < first:
            edges.append(_created_in(window.start, first))
        if last is not None and window.end is not None and last < window.end:
            edges.append(_created_in(last, window.end))
    for edge in edges:
        rows += await by_key(conn, [finished, *edge, *task_scope], task_key)
    live = [_predicate(LIVE_PREDICATE), *_created_in(window.start, window.end), *task_scope]
    rows += await by_key(conn, live, task_key)
    return rows


def _predicate(sql: str) -> sa.ColumnElement[bool]:
    """Verbatim SQL, so a partial index with the same predicate applies."""
    return sa.literal_column(sql, sa.Boolean)


def _hour_range(
    column: sa.ColumnElement[datetime], first: datetime | None, last: datetime | None
) -> list[sa.ColumnElement[bool]]:
    where: list[sa.ColumnElement[bool]] = []
    if first is not None:
        where.append(column >= first)
    if last is not None:
        where.append(column < last)
    return where


def _task_key(dialect: str, grouping: Grouping) -> sa.ColumnElement[Any]:
    if grouping.by == "agent":
        return T.assigned_agent_id
    if grouping.by == "type":
        return T.task_type
    return bucket_key(dialect, grouping.bucket, T.created_at)


def _rollup_key(dialect: str, grouping: Grouping) -> sa.ColumnElement[Any]:
    R = task_rollups.c
    if grouping.by == "agent":
        return sa.func.nullif(R.key, "")  # '' = never assigned
    if grouping.by == "type":
        return R.key
    return bucket_key(dialect, grouping.bucket, R.hour)


def _delta_key(dialect: str, grouping: Grouping) -> sa.ColumnElement[Any]:
    D = task_rollup_deltas.c
    if grouping.by == "agent":
        return D.agent_id
    if grouping.by == "type":
        return D.task_type
    return bucket_key(dialect, grouping.bucket, D.hour)


def agent_key() -> sa.ColumnElement[Any]:
    return T.assigned_agent_id


def task_type_key() -> sa.ColumnElement[Any]:
    return T.task_type


def bucket_key(
    dialect: str, bucket: Bucket, column: sa.ColumnElement[Any]
) -> sa.ColumnElement[Any]:
    if dialect == "postgresql":
        return sa.func.date_trunc(bucket, sa.func.timezone("UTC", column))
    # SQLite keeps UTCDateTime as naive UTC text, 'YYYY-MM-DD HH:MM:SS.ffffff'
    fmt = "%Y-%m-%d %H:00:00" if bucket == "hour" else "%Y-%m-%d 00:00:00"
    return sa.func.strftime(fmt, column)


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
    them), as PostgreSQL's `percentile_cont`, from the two ranked rows around each: walked from
    the nearer end of the (status, execution_ms) index, so nothing is sorted."""
    if count == 0:
        return [None for _ in fractions]
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
