"""All SQL about tasks, their attempts and dependencies."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from ains.models import task_attempts, task_dependencies, tasks
from ains.tasks.states import HELD, TaskStatus

T = tasks.c

# Inlined, not bound: a planner only uses a partial index (WHERE status = 'PENDING') when the
# query states the same literal; a bound parameter hides it from SQLite and from PostgreSQL's
# generic plans.
IS_PENDING = T.status == sa.literal_column("'PENDING'")


def status_in(statuses: Iterable[str]) -> sa.ColumnElement[bool]:
    """`status IN (...)` with the (internal, fixed) state names inlined, for the same reason."""
    return T.status.in_([sa.literal_column(f"'{TaskStatus(s).value}'") for s in statuses])


async def insert_tasks(conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        await conn.execute(sa.insert(tasks), list(rows))


async def insert_dependencies(conn: AsyncConnection, pairs: Sequence[tuple[str, str]]) -> None:
    if pairs:
        await conn.execute(
            sa.insert(task_dependencies),
            [{"task_id": t, "depends_on_task_id": d} for t, d in pairs],
        )


async def get(conn: AsyncConnection, task_id: str, *, for_update: bool = False) -> Row[Any] | None:
    stmt = sa.select(tasks).where(T.task_id == task_id)
    if for_update and conn.dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    return (await conn.execute(stmt)).first()


# Everything but the payloads: what settling a report reads (decoding every input and result
# of a 100-task report batch only to drop them cost more than the rest of the read).
SETTLE_COLUMNS = [
    c
    for c in tasks.c
    if c.name not in ("input_data", "input_encrypted", "result_data", "result_encrypted")
]


async def get_many(
    conn: AsyncConnection,
    task_ids: Iterable[str],
    *,
    for_update: bool = False,
    columns: Sequence[sa.Column[Any]] | None = None,
) -> list[Row[Any]]:
    ids = list(dict.fromkeys(task_ids))
    if not ids:
        return []
    stmt = sa.select(*(columns or tasks.c)).where(T.task_id.in_(ids)).order_by(T.task_id)
    if for_update and conn.dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    return list(await conn.execute(stmt))


COMPLETE_COLUMNS = (
    "status",
    "result_data",
    "result_encrypted",
    "cost",
    "quality_score",
    "completed_at",
    "started_at",
    "execution_ms",
    "lease_expires_at",
    "timeout_at",
    "progress",
    "updated_at",
)


async def complete_many(
    conn: AsyncConnection, items: Sequence[dict[str, Any]], held: Sequence[str]
) -> None:
    """Write many completions in one executemany; the caller holds the rows' locks and has
    checked each attempt, so every guarded UPDATE must match."""
    if not items:
        return
    stmt = (
        sa.update(tasks)
        .where(
            T.task_id == sa.bindparam("b_task_id"),
            T.attempt_id == sa.bindparam("b_attempt_id"),
            sa.or_(*(T.status == h for h in held)),  # no expanding IN with executemany
        )
        .values({c: sa.bindparam(f"b_{c}", type_=tasks.c[c].type) for c in COMPLETE_COLUMNS})
    )
    params = [
        {"b_task_id": i["task_id"], "b_attempt_id": i["attempt_id"]}
        | {f"b_{c}": i.get(c) for c in COMPLETE_COLUMNS}
        for i in items
    ]
    result = await conn.execute(stmt, params)
    if result.rowcount not in (-1, len(items)):
        raise RuntimeError(f"{len(items) - result.rowcount} completions lost their rows' locks")


async def attempts(conn: AsyncConnection, task_id: str) -> list[Row[Any]]:
    return list(
        await conn.execute(
            sa.select(task_attempts)
            .where(task_attempts.c.task_id == task_id)
            .order_by(task_attempts.c.number)
        )
    )


async def attempts_of(conn: AsyncConnection, task_ids: Iterable[str]) -> list[Row[Any]]:
    """The attempts of many tasks in one statement, by task then attempt number."""
    ids = list(dict.fromkeys(task_ids))
    if not ids:
        return []
    A = task_attempts.c
    stmt = sa.select(task_attempts).where(A.task_id.in_(ids)).order_by(A.task_id, A.number)
    return list(await conn.execute(stmt))


async def attempted_by(conn: AsyncConnection, task_ids: Iterable[str], agent_id: str) -> set[str]:
    """Which of `task_ids` the agent ever held an attempt of."""
    ids = list(dict.fromkeys(task_ids))
    if not ids:
        return set()
    A = task_attempts.c
    stmt = sa.select(A.task_id).where(A.task_id.in_(ids), A.agent_id == agent_id).distinct()
    return {r.task_id for r in await conn.execute(stmt)}


# a task shared with anyone has a non-empty allowed_viewers; idx_tasks_shared holds only those
IS_SHARED = T.allowed_viewers != sa.literal_column("'[]'")


def visible_to(principal_id: str, team: str | None, dialect: str) -> sa.ColumnElement[bool]:
    """The SQL form of `can_view_task` for non-admins: `task_id IN` a union of one indexed
    lookup per way of seeing a task (an OR of them reads the whole table on SQLite)."""
    if dialect == "postgresql":
        in_viewers: sa.ColumnElement[bool] = T.allowed_viewers.op("?")(principal_id)
    else:
        viewers = sa.func.json_each(T.allowed_viewers).table_valued("value")
        in_viewers = sa.exists(
            sa.select(1).select_from(viewers).where(viewers.c.value == principal_id)
        )
    ways = [
        T.client_id == principal_id,
        T.assigned_agent_id == principal_id,
        T.visibility == sa.literal_column("'public'"),
        sa.and_(IS_SHARED, in_viewers),
    ]
    if team:
        ways.append(sa.and_(T.visibility == sa.literal_column("'team'"), T.team == team))
    return T.task_id.in_(sa.union_all(*(sa.select(T.task_id).where(w) for w in ways)))


async def list_page(
    conn: AsyncConnection,
    *,
    where: list[sa.ColumnElement[bool]],
    before_task_id: str | None,
    limit: int,
) -> list[Row[Any]]:
    stmt = sa.select(tasks).where(*where).order_by(T.task_id.desc()).limit(limit)
    if before_task_id:
        stmt = stmt.where(T.task_id < before_task_id)
    return list(await conn.execute(stmt))


async def update_guarded(
    conn: AsyncConnection,
    task_id: str,
    *,
    statuses: Iterable[str],
    values: dict[str, Any],
    attempt_id: str | None = None,
) -> Row[Any] | None:
    """Change a task only if it is still in one of `statuses` (and on `attempt_id`)."""
    stmt = sa.update(tasks).where(T.task_id == task_id, T.status.in_(list(statuses)))
    if attempt_id is not None:
        stmt = stmt.where(T.attempt_id == attempt_id)
    return (await conn.execute(stmt.values(**values).returning(*tasks.c))).first()


async def finish_attempts(conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> None:
    """rows: {attempt_id, status, finished_at, error, error_type}"""
    if not rows:
        return
    stmt = (
        sa.update(task_attempts)
        .where(task_attempts.c.attempt_id == sa.bindparam("b_attempt_id"))
        .values(
            status=sa.bindparam("b_status"),
            finished_at=sa.bindparam("b_finished_at"),
            error=sa.bindparam("b_error"),
            error_type=sa.bindparam("b_error_type"),
        )
    )
    await conn.execute(stmt, [{f"b_{k}": v for k, v in r.items()} for r in rows])


async def start_attempt(conn: AsyncConnection, attempt_id: str, now: datetime) -> None:
    await conn.execute(
        sa.update(task_attempts)
        .where(task_attempts.c.attempt_id == attempt_id)
        .values(status=TaskStatus.RUNNING, started_at=now)
    )


# --- the queue -------------------------------------------------------------------------------


async def count_pending(conn: AsyncConnection, capability: str, limit: int) -> int:
    """How many tasks of `capability` wait (counted up to `limit`, an index range scan)."""
    head = sa.select(T.task_id).where(IS_PENDING, T.capability_required == capability)
    n = await conn.scalar(sa.select(sa.func.count()).select_from(head.limit(limit).subquery()))
    return int(n or 0)


async def take_pending(conn: AsyncConnection, capability: str, limit: int) -> list[str]:
    """The first `limit` waiting tasks of `capability` in queue order, locked; rows another
    claim holds are skipped, never waited for."""
    stmt = (
        sa.select(T.task_id)
        .where(IS_PENDING, T.capability_required == capability)
        .order_by(T.queue_key)
        .limit(limit)
    )
    if conn.dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    return [r.task_id for r in await conn.execute(stmt)]


async def hand_out(
    conn: AsyncConnection,
    attempt_ids: dict[str, str],
    agent_id: str,
    now: datetime,
    lease: datetime,
) -> list[Row[Any]]:
    """PENDING → ASSIGNED and delivered to `agent_id`, each task with its new attempt id, in
    one statement; returns the rows as they now are."""
    if not attempt_ids:
        return []
    stmt = (
        sa.update(tasks)
        .where(T.task_id.in_(list(attempt_ids)), IS_PENDING)
        .values(
            status=TaskStatus.ASSIGNED,
            assigned_agent_id=agent_id,
            attempt_id=sa.case(attempt_ids, value=T.task_id),
            attempt_count=T.attempt_count + 1,
            assigned_at=now,
            delivered_at=now,
            started_at=None,
            lease_expires_at=lease,
            updated_at=now,
        )
        .returning(*tasks.c)
    )
    rows = list(await conn.execute(stmt))
    rows.sort(key=lambda r: r.queue_key)
    return rows


async def insert_attempts(conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        await conn.execute(sa.insert(task_attempts), list(rows))


async def set_timeouts(conn: AsyncConnection, values: Sequence[dict[str, Any]]) -> None:
    if values:
        await conn.execute(
            sa.update(tasks)
            .where(T.task_id == sa.bindparam("b_task_id"))
            .values(timeout_at=sa.bindparam("b_timeout_at")),
            [{"b_task_id": v["task_id"], "b_timeout_at": v["timeout_at"]} for v in values],
        )


async def results_of(conn: AsyncConnection, task_ids: Iterable[str]) -> list[Row[Any]]:
    ids = list(task_ids)
    if not ids:
        return []
    return list(
        await conn.execute(
            sa.select(T.task_id, T.result_data, T.result_encrypted, T.encrypted).where(
                T.task_id.in_(ids)
            )
        )
    )


# --- deadlines -------------------------------------------------------------------------------


async def due(
    conn: AsyncConnection,
    column: sa.Column[Any],
    statuses: Iterable[str],
    now: datetime,
    limit: int,
) -> list[Row[Any]]:
    stmt = sa.select(tasks).where(column <= now, status_in(statuses)).order_by(column).limit(limit)
    if conn.dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    return list(await conn.execute(stmt))


async def next_deadline(conn: AsyncConnection) -> datetime | None:
    held = [s.value for s in HELD]
    queries = [
        sa.select(sa.func.min(T.lease_expires_at)).where(T.status.in_(held)),
        sa.select(sa.func.min(T.timeout_at)).where(T.status.in_(held)),
        sa.select(sa.func.min(T.next_retry_at)).where(T.status == TaskStatus.RETRY_SCHEDULED),
    ]
    found = []
    for q in queries:
        value = (await conn.execute(q)).scalar()
        if value is not None:
            found.append(value)
    return min(found) if found else None


# --- dependencies ----------------------------------------------------------------------------


async def dependents_of(conn: AsyncConnection, task_ids: Sequence[str]) -> list[str]:
    if not task_ids:
        return []
    rows = await conn.execute(
        sa.select(task_dependencies.c.task_id).where(
            task_dependencies.c.depends_on_task_id.in_(list(task_ids))
        )
    )
    return [r.task_id for r in rows]


async def decrement_pending_dependencies(
    conn: AsyncConnection, completed_ids: Sequence[str]
) -> None:
    for task_id in completed_ids:
        await conn.execute(
            sa.update(tasks)
            .where(
                T.task_id.in_(
                    sa.select(task_dependencies.c.task_id).where(
                        task_dependencies.c.depends_on_task_id == task_id
                    )
                ),
                T.status == TaskStatus.BLOCKED,
            )
            .values(pending_dependencies=T.pending_dependencies - 1)
        )


async def release_unblocked(
    conn: AsyncConnection, candidate_ids: Sequence[str], now: datetime
) -> list[Row[Any]]:
    if not candidate_ids:
        return []
    return list(
        await conn.execute(
            sa.update(tasks)
            .where(
                T.task_id.in_(list(candidate_ids)),
                T.status == TaskStatus.BLOCKED,
                T.pending_dependencies <= 0,
            )
            .values(status=TaskStatus.PENDING, queued_at=now, updated_at=now)
            .returning(T.task_id, T.capability_required, T.client_id, T.batch_id)
        )
    )
