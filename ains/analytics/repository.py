"""All SQL of the analytics: aggregates of the tasks table and of its rollups (kept by the
triggers of migration 0005, folded by ains/analytics/rollup.py), grouped by status and one key.

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

from ains.analytics.schemas import Bucket, Scope, Window
from ains.db import dialect
from ains.models import task_rollup_deltas, task_rollups, tasks
from ains.tasks.repository import status_in
from ains.tasks.states import ACTIVE, TERMINAL, TaskStatus

T = tasks.c
MEASURES = ("n", "exec_sum", "exec_n", "cost_sum", "quality_sum", "quality_n")
DAILY = ":d"  # suffix of a dimension's daily rollups ('agent:d'); `hour` holds the day's start
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
    return _in_range(T.created_at, start, end)


def _in_range(
    column: sa.ColumnElement[datetime], start: datetime | None, end: datetime | None
) -> list[sa.ColumnElement[bool]]:
    """`start <= column < end`, open where a bound is None."""
    where: list[sa.ColumnElement[bool]] = []
    if start is not None:
        where.append(column >= start)
    if end is not None:
        where.append(column < end)
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
    index: str | None = None,
) -> list[Row[Any]]:
    status = measures[0]
    stmt = sa.select(key.label("key"), *measures).where(*where).group_by(key, status)
    return list(await conn.execute(_indexed(stmt, index)))


def _indexed(stmt: sa.Select[Any], index: str | None) -> sa.Select[Any]:
    """Pins SQLite to `index`: a server never ANALYZEs, and without statistics SQLite prefers
    idx_tasks_status for `status IN (…)`, which visits every finished task."""
    return dialect.sqlite_index_hint(stmt, tasks, index)


async def by_key(
    conn: AsyncConnection, where: Where, key: sa.ColumnElement[Any], index: str | None = None
) -> list[Row[Any]]:
    """Rows of (key, status, measures…) straight from the tasks table (`where` over tasks)."""
    return await _grouped(conn, key, _task_measures(), where, index)


# -- the rolled-up path ------------------------------------------------------------------------


@dataclass(frozen=True)
class Grouping:
    """What a rolled-up aggregate groups by: the agent, the task type, or a time bucket."""

    by: Literal["agent", "type", "bucket"]
    bucket: Bucket = "day"


def _rollup_dim(grouping: Grouping, scope: Scope) -> str | None:
    """The rollup dimension answering `grouping` for `scope`; None: read the tasks table."""
    if scope.client_id is not None:
        return None  # rollups are not kept per client: a client's own tasks are read directly
    if scope.agent_id is not None:
        return "agent" if grouping.by in ("agent", "bucket") else None
    return {"agent": "agent", "type": "type", "bucket": "all"}[grouping.by]


Range = tuple[datetime | None, datetime | None]


def split(
    start: datetime | None, end: datetime | None, unit: Bucket
) -> tuple[Range | None, list[Range]]:
    """[start, end) as the whole UTC hours or days inside it (open where it is open), and the
    partial pieces left at its ends; (None, [whole range]) when no whole unit fits."""
    first = None if start is None else _ceil(start, unit)
    last = None if end is None else _floor(end, unit)
    if first is not None and last is not None and first >= last:
        return None, [(start, end)]
    pieces: list[Range] = []
    if start is not None and first is not None and start < first:
        pieces.append((start, first))
    if end is not None and last is not None and last < end:
        pieces.append((last, end))
    return (first, last), pieces


def _floor(moment: datetime, unit: Bucket) -> datetime:
    moment = moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    return moment.replace(hour=0) if unit == "day" else moment


def _ceil(moment: datetime, unit: Bucket) -> datetime:
    floor = _floor(moment, unit)
    if floor == moment:
        return floor
    return floor + (timedelta(days=1) if unit == "day" else timedelta(hours=1))


async def aggregate(
    conn: AsyncConnection, window: Window, scope: Scope, grouping: Grouping
) -> list[Row[Any]]:
    """Rows of (key, status, measures…): from the rollups where they answer, else the tasks."""
    dim = _rollup_dim(grouping, scope)
    if dim is not None:
        return await _rolled_up(conn, window, scope, grouping, dim)
    key = _task_key(conn, grouping)
    return await by_key(conn, filters(window, scope), key)


async def _rolled_up(
    conn: AsyncConnection, window: Window, scope: Scope, grouping: Grouping, dim: str
) -> list[Row[Any]]:
    """Rows of (key, status, measures…) for the window. Finished tasks: whole days from the
    daily rollups, the other whole hours from the hourly ones, deltas not folded yet, and the
    partial hours at the window's ends from the tasks table; unfinished tasks from the tasks
    table (a partial index). Several rows may share a (key, status)."""
    agent = scope.agent_id
    task_scope = [] if agent is None else [T.assigned_agent_id == agent]
    task_key = _task_key(conn, grouping)
    rows: list[Row[Any]] = []
    hours, partial = split(window.start, window.end, "hour")
    if hours is not None:
        if grouping.by == "bucket" and grouping.bucket == "hour":
            days, hour_pieces = None, [hours]
        else:
            days, hour_pieces = split(*hours, "day")
        if days is not None:
            rows += await _rollup_rows(conn, f"{dim}{DAILY}", days, agent, grouping)
        for piece in hour_pieces:
            rows += await _rollup_rows(conn, dim, piece, agent, grouping)
        D = task_rollup_deltas.c
        delta_where = _in_range(D.hour, *hours)
        if agent is not None:
            delta_where.append(D.agent_id == agent)
        rows += await _grouped(
            conn, _delta_key(conn, grouping), _summed_measures(task_rollup_deltas), delta_where
        )
    finished = _status_in(TERMINAL)
    for piece in partial:
        edge = [finished, *_created_in(*piece), *task_scope]
        rows += await by_key(conn, edge, task_key, "idx_tasks_created_at")
    live = [_status_in(ACTIVE), *_created_in(window.start, window.end), *task_scope]
    rows += await by_key(conn, live, task_key, "idx_tasks_live")
    return rows


async def _rollup_rows(
    conn: AsyncConnection, dim: str, hours: Range, agent: str | None, grouping: Grouping
) -> list[Row[Any]]:
    R = task_rollups.c
    where = [R.dim == dim, *_in_range(R.hour, *hours)]
    if agent is not None:
        where.append(R.key == agent)
    key = _rollup_key(conn, grouping)
    return await _grouped(conn, key, _summed_measures(task_rollups), where)


def _status_in(statuses: frozenset[TaskStatus]) -> sa.ColumnElement[bool]:
    """`status IN (…)` with the states inlined in the order of idx_tasks_live's predicate, so
    that partial index applies (a bound parameter or a `= 1` would hide it from SQLite)."""
    return status_in(sorted(statuses))


def _task_key(conn: AsyncConnection, grouping: Grouping) -> sa.ColumnElement[Any]:
    if grouping.by == "agent":
        return T.assigned_agent_id
    if grouping.by == "type":
        return T.task_type
    return dialect.time_bucket(conn, grouping.bucket, T.created_at)


def _rollup_key(conn: AsyncConnection, grouping: Grouping) -> sa.ColumnElement[Any]:
    R = task_rollups.c
    if grouping.by == "agent":
        return sa.func.nullif(R.key, "")  # '' = never assigned
    if grouping.by == "type":
        return R.key
    return dialect.time_bucket(conn, grouping.bucket, R.hour)


def _delta_key(conn: AsyncConnection, grouping: Grouping) -> sa.ColumnElement[Any]:
    D = task_rollup_deltas.c
    if grouping.by == "agent":
        return D.agent_id
    if grouping.by == "type":
        return D.task_type
    return dialect.time_bucket(conn, grouping.bucket, D.hour)


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
        stmt = _indexed(stmt, "idx_tasks_execution")
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


# --- folding the deltas into the rollups ---------------------------------------------------

FOLD_LOCK_KEY = 0x41494E53_524F4C4C  # "AINSROLL"
DIM_KEYS = {"all": "''", "agent": "coalesce(agent_id, '')", "type": "task_type"}


def _fold_select(conn: AsyncConnection, source: str) -> str:
    sums = ", ".join(f"sum({m})" for m in MEASURES)
    return " UNION ALL ".join(
        f"SELECT '{dim}{suffix}', {period}, {key}, status, {sums} FROM {source} "
        "WHERE true GROUP BY 2, 3, 4"  # hour, key, status
        for dim, key in DIM_KEYS.items()
        for suffix, period in (("", "hour"), (DAILY, dialect.day_of_hour_sql(conn, "hour")))
    )


UPSERT = (
    "INSERT INTO task_rollups (dim, hour, key, status, {columns}) {select} "
    "ON CONFLICT (dim, hour, key, status) DO UPDATE SET {updates}"
).format(
    columns=", ".join(MEASURES),
    select="{select}",
    updates=", ".join(
        f"{m} = task_rollups.{m} + excluded.{m}"
        if m.endswith("n")
        else f"{m} = coalesce(task_rollups.{m}, 0) + coalesce(excluded.{m}, 0)"
        for m in MEASURES
    ),
)


async def fold_deltas(conn: AsyncConnection, batch: int) -> int:
    """Folds up to `batch` deltas into the rollups; answers how many (0 when another replica
    is folding)."""
    if not await dialect.try_transaction_lock(conn, FOLD_LOCK_KEY):
        return 0
    fold = dialect.pick(conn, postgresql=_fold_in_one_statement, sqlite=_fold_in_three)
    return await fold(conn, batch)


async def _fold_in_one_statement(conn: AsyncConnection, batch: int) -> int:
    """PostgreSQL: one statement that deletes exactly the deltas it adds."""
    moved = (
        "moved AS (DELETE FROM task_rollup_deltas WHERE delta_id IN "
        f"(SELECT delta_id FROM task_rollup_deltas ORDER BY delta_id LIMIT {int(batch)}) "
        "RETURNING *)"
    )
    upsert = UPSERT.format(select=_fold_select(conn, "moved"))
    # a data-modifying WITH runs to completion whether or not the outer query reads it
    statement = f"WITH {moved}, folded AS ({upsert}) SELECT count(*) FROM moved"
    return int(await conn.scalar(sa.text(statement)) or 0)


async def _fold_in_three(conn: AsyncConnection, batch: int) -> int:
    """SQLite (no data-modifying WITH): one writer, so nothing can slip between reading the
    batch and deleting it."""
    first = f"SELECT delta_id FROM task_rollup_deltas ORDER BY delta_id LIMIT {int(batch)}"
    count, last = (
        await conn.execute(sa.text(f"SELECT count(*), max(delta_id) FROM ({first})"))
    ).one()
    if not count:
        return 0
    rows = f"(SELECT * FROM task_rollup_deltas WHERE delta_id <= {int(last)})"
    await conn.execute(sa.text(UPSERT.format(select=_fold_select(conn, rows))))
    await conn.execute(sa.text(f"DELETE FROM task_rollup_deltas WHERE delta_id <= {int(last)}"))
    return int(count)
