"""All SQL about tasks, their attempts and dependencies."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from ains.db import dialect
from ains.models import idempotency_keys, task_attempts, task_dependencies, tasks
from ains.tasks.states import HELD, TaskStatus

T = tasks.c

# Inlined, not bound: a planner only uses a partial index (WHERE status = 'PENDING') when the
# query states the same literal; a bound parameter hides it from SQLite and from PostgreSQL's
# generic plans.
IS_PENDING = T.status == sa.literal_column("'PENDING'")
# The same test as a check on rows found through their ids: written so that no index answers
# it. As `status = 'PENDING'`, both planners (SQLite always, PostgreSQL whenever its statistics
# predate the backlog) read every queued task through idx_tasks_status to hand out 100.
STILL_PENDING = sa.func.coalesce(T.status, sa.literal_column("''")) == sa.literal_column(
    "'PENDING'"
)


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
    if for_update:
        stmt = dialect.for_update(conn, stmt)
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
    if for_update:
        stmt = dialect.for_update(conn, stmt)
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


# what differs between the completions of one report batch (the rest is the same for all)
COMPLETE_ROW_COLUMNS = (
    "task_id",
    "attempt_id",
    "result_data",
    "result_encrypted",
    "cost",
    "quality_score",
    "started_at",
    "execution_ms",
)


async def complete_many(
    conn: AsyncConnection, items: Sequence[dict[str, Any]], held: Sequence[str]
) -> None:
    """Write many completions in one statement (PostgreSQL: an UPDATE joined to the rows
    unnested from arrays; SQLite: one executemany); the caller holds the rows' locks and has
    checked each attempt, so every guarded UPDATE must match."""
    if not items:
        return
    first = items[0]
    shared = [c for c in COMPLETE_COLUMNS if c not in COMPLETE_ROW_COLUMNS]
    source = None
    if all(i.get(c) == first.get(c) for i in items for c in shared if c != "progress"):
        source = dialect.rows_table(
            conn,
            "done",
            [(c, T[c].type) for c in COMPLETE_ROW_COLUMNS],
            [[i.get(c) for c in COMPLETE_ROW_COLUMNS] for i in items],
        )
    if source is not None:
        # progress is left as it is (the completion keeps it)
        values: dict[str, Any] = {c: first.get(c) for c in shared if c != "progress"}
        values |= {c: source.c[c] for c in COMPLETE_ROW_COLUMNS[2:]}
        stmt = (
            sa.update(tasks)
            .where(
                T.task_id == source.c.task_id,
                T.attempt_id == source.c.attempt_id,
                status_in(held),
            )
            .values(values)
        )
        result = await conn.execute(stmt)
    else:
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


def visible_to(
    conn: AsyncConnection, principal_id: str, team: str | None
) -> sa.ColumnElement[bool]:
    """The SQL form of `can_view_task` for non-admins: `task_id IN` a union of one indexed
    lookup per way of seeing a task (an OR of them reads the whole table on SQLite)."""
    in_viewers = dialect.json_array_has(conn, T.allowed_viewers, principal_id)
    ways = [
        T.client_id == principal_id,
        T.assigned_agent_id == principal_id,
        T.visibility == sa.literal_column("'public'"),
        sa.and_(IS_SHARED, in_viewers),
    ]
    if team:
        ways.append(sa.and_(T.visibility == sa.literal_column("'team'"), T.team == team))
    return T.task_id.in_(sa.union_all(*(sa.select(T.task_id).where(w) for w in ways)))


async def count_where(conn: AsyncConnection, where: Sequence[sa.ColumnElement[bool]]) -> int:
    return int(await conn.scalar(sa.select(sa.func.count()).select_from(tasks).where(*where)) or 0)


async def list_page(
    conn: AsyncConnection,
    *,
    where: Sequence[sa.ColumnElement[bool]],
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


ATTEMPT_END_COLUMNS = ("attempt_id", "status", "finished_at", "error", "error_type")


async def finish_attempts(conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> None:
    """rows: {attempt_id, status, finished_at, error, error_type}; one statement
    (PostgreSQL: joined to the rows unnested from arrays; SQLite: one executemany)."""
    if not rows:
        return
    At = task_attempts.c
    source = dialect.rows_table(
        conn,
        "ended",
        [(c, At[c].type) for c in ATTEMPT_END_COLUMNS],
        [[r[c] for c in ATTEMPT_END_COLUMNS] for r in rows],
    )
    if source is not None:
        await conn.execute(
            sa.update(task_attempts)
            .where(At.attempt_id == source.c.attempt_id)
            .values({c: source.c[c] for c in ATTEMPT_END_COLUMNS[1:]})
        )
        return
    stmt = (
        sa.update(task_attempts)
        .where(At.attempt_id == sa.bindparam("b_attempt_id"))
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
    stmt = dialect.for_update(conn, stmt, skip_locked=True)
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
        .where(T.task_id.in_(list(attempt_ids)), STILL_PENDING)
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
    return list(await conn.execute(dialect.for_update(conn, stmt, skip_locked=True)))


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


# --- what agents hold ------------------------------------------------------------------------


async def extend_leases_of(conn: AsyncConnection, agent_id: str, until: datetime) -> None:
    """Renew the leases of every task the agent holds and has received."""
    await conn.execute(
        sa.update(tasks)
        .where(T.assigned_agent_id == agent_id, status_in(HELD), T.delivered_at.is_not(None))
        .values(lease_expires_at=until)
    )


async def held_by(conn: AsyncConnection, agent_id: str, task_ids: Iterable[str]) -> set[str]:
    """Those of `task_ids` the agent still holds."""
    stmt = sa.select(T.task_id).where(
        T.task_id.in_(list(task_ids)), T.assigned_agent_id == agent_id, status_in(HELD)
    )
    return {r.task_id for r in await conn.execute(stmt)}


async def cancelled_since(conn: AsyncConnection, agent_id: str, since: datetime) -> list[str]:
    """The agent's tasks whose cancellation was asked for at or after `since`."""
    stmt = sa.select(T.task_id).where(
        T.assigned_agent_id == agent_id, T.cancel_requested.is_(True), T.cancelled_at >= since
    )
    return [r.task_id for r in await conn.execute(stmt)]


async def lock_held_by_agents(conn: AsyncConnection, agent_ids: Sequence[str]) -> list[Row[Any]]:
    """The tasks these agents hold, locked in task_id order."""
    stmt = (
        sa.select(tasks)
        .where(T.assigned_agent_id.in_(list(agent_ids)), status_in(HELD))
        .order_by(T.task_id)
    )
    return list(await conn.execute(dialect.for_update(conn, stmt)))


def delivered_at_or(now: datetime) -> sa.ColumnElement[Any]:
    """A task's delivery time, or `now` if it was never marked delivered."""
    return sa.func.coalesce(T.delivered_at, now)


async def count_by_status(conn: AsyncConnection) -> dict[str, int]:
    rows = await conn.execute(sa.select(T.status, sa.func.count()).group_by(T.status))
    return {str(status): int(n) for status, n in rows}


# --- idempotency keys --------------------------------------------------------------------------

K = idempotency_keys.c


async def idempotency_key(
    conn: AsyncConnection, client_id: str, key: str, now: datetime
) -> Row[Any] | None:
    """The client's unexpired use of an Idempotency-Key."""
    stmt = sa.select(idempotency_keys).where(
        K.client_id == client_id, K.key == key, K.expires_at > now
    )
    return (await conn.execute(stmt)).first()


async def remember_idempotency_key(conn: AsyncConnection, row: dict[str, Any]) -> None:
    """Record a use of an Idempotency-Key, replacing an expired one of the same client."""
    await conn.execute(
        sa.delete(idempotency_keys).where(K.client_id == row["client_id"], K.key == row["key"])
    )
    await conn.execute(sa.insert(idempotency_keys).values(**row))


# --- key rotation: sealed columns, batch by batch -------------------------------------------


def of_encrypted_tasks(task_id: sa.ColumnElement[Any]) -> sa.ColumnElement[bool]:
    return task_id.in_(sa.select(T.task_id).where(T.encrypted.is_(True)))


async def encrypted_tasks_batch(
    conn: AsyncConnection, columns: Sequence[str], after: str | None, size: int
) -> list[Any]:
    """The next `size` encrypted tasks after `after` (task_id and `columns`), locked."""
    stmt = sa.select(T.task_id, *(T[c] for c in columns)).where(T.encrypted.is_(True))
    if after is not None:
        stmt = stmt.where(T.task_id > after)
    stmt = dialect.for_update(conn, stmt.order_by(T.task_id).limit(size))
    return list(await conn.execute(stmt))


async def update_task(conn: AsyncConnection, task_id: str, values: dict[str, Any]) -> None:
    await conn.execute(sa.update(tasks).where(T.task_id == task_id).values(values))


async def encrypted_attempt_errors_batch(
    conn: AsyncConnection, after: str | None, size: int
) -> list[Row[Any]]:
    """The next `size` attempts with an error of an encrypted task after `after`, locked."""
    A = task_attempts.c
    stmt = sa.select(A.attempt_id, A.task_id, A.error).where(
        A.error.is_not(None), of_encrypted_tasks(A.task_id)
    )
    if after is not None:
        stmt = stmt.where(A.attempt_id > after)
    stmt = dialect.for_update(conn, stmt.order_by(A.attempt_id).limit(size))
    return list(await conn.execute(stmt))


async def set_attempt_error(conn: AsyncConnection, attempt_id: str, error: str) -> None:
    A = task_attempts.c
    await conn.execute(
        sa.update(task_attempts).where(A.attempt_id == attempt_id).values(error=error)
    )


async def columns_of(
    conn: AsyncConnection, columns: Sequence[sa.Column[Any]], task_ids: Sequence[str]
) -> list[Row[Any]]:
    """`columns` of the tasks `task_ids` (absent ones are left out)."""
    return list(await conn.execute(sa.select(*columns).where(T.task_id.in_(list(task_ids)))))


async def held_of_capability(
    conn: AsyncConnection, agent_ids: Sequence[str], capability: str
) -> dict[str, int]:
    """How many tasks of `capability` each of these agents holds (assigned or running)."""
    if not agent_ids:
        return {}
    stmt = (
        sa.select(T.assigned_agent_id, sa.func.count())
        .where(
            T.assigned_agent_id.in_(list(agent_ids)),
            T.status.in_([s.value for s in HELD]),
            T.capability_required == capability,
        )
        .group_by(T.assigned_agent_id)
    )
    return {agent_id: int(n) for agent_id, n in await conn.execute(stmt)}
