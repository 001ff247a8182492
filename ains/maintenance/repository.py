"""All SQL of retention and maintenance.

What a prune may delete (rows are also at least as old as their kind's cutoff):
- tasks: finished (COMPLETED, FAILED, CANCELLED, TIMED_OUT) by `completed_at`, with their
  attempts, their own dependency edges, their idempotency keys and their events (their
  history). Kept: dead-lettered tasks (the DLQ awaits an operator's requeue or purge), a task
  an unfinished task depends on (its dependent still reads it to be released or doomed), a
  task of a batch not wholly finished and old (the batch's status and counts are read from its
  tasks, so a batch goes whole), and a task with an event the webhook fan-out has not read yet.
- events: by `occurred_at`, only those the webhook fan-out has read (all of them while no
  webhook is enabled: a webhook only receives events from after its creation) and not part of
  a task still kept (a task's history goes with its task).
- webhook deliveries: delivered or failed ones by `created_at`, with their attempts; pending
  and in-flight ones never.
- schedule executions by `executed_at`; trust records by `created_at`; routing decisions by
  `created_at` (age alone: an attempt of a task still kept may point at a pruned decision, and
  its routing then answers without candidates; finding the ones no attempt points at would
  need an index on task_attempts.routing_id, one more write per claimed task); audit rows by
  `occurred_at`; idempotency keys once expired.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from ains.db import dialect
from ains.models import (
    audit_log,
    events,
    idempotency_keys,
    metadata,
    routing_decisions,
    schedule_executions,
    task_attempts,
    task_dependencies,
    tasks,
    trust_records,
    webhook_attempts,
    webhook_cursor,
    webhook_deliveries,
    webhooks,
)
from ains.tasks.states import ACTIVE, TERMINAL

T = tasks.c
LOCK_KEY = 0x41494E53_50524E45  # "AINSPRNE": one replica prunes at a time
WEBHOOK_CURSOR = "webhooks"


@dataclass(frozen=True)
class Kind:
    """A kind of row pruned by age: its table, key, age column and what else must hold."""

    name: str
    table: sa.Table
    key: sa.Column[Any]
    age: sa.Column[Any]


KINDS: dict[str, Kind] = {
    k.name: k
    for k in (
        Kind("tasks", tasks, T.task_id, T.completed_at),
        Kind("events", events, events.c.event_id, events.c.occurred_at),
        Kind(
            "webhook_deliveries",
            webhook_deliveries,
            webhook_deliveries.c.delivery_id,
            webhook_deliveries.c.created_at,
        ),
        Kind(
            "schedule_executions",
            schedule_executions,
            schedule_executions.c.execution_id,
            schedule_executions.c.executed_at,
        ),
        Kind(
            "idempotency_keys",
            idempotency_keys,
            idempotency_keys.c.key,
            idempotency_keys.c.expires_at,
        ),
        Kind("trust_records", trust_records, trust_records.c.id, trust_records.c.created_at),
        Kind(
            "routing_decisions",
            routing_decisions,
            routing_decisions.c.routing_id,
            routing_decisions.c.created_at,
        ),
        Kind("audit_log", audit_log, audit_log.c.id, audit_log.c.occurred_at),
    )
}


async def outbox_floor(conn: AsyncConnection) -> int:
    """The highest event id nothing still needs to read: the webhook fan-out's position while
    a webhook is enabled, else every event (streams only replay what is recent)."""
    if await conn.scalar(sa.select(sa.exists().where(webhooks.c.enabled.is_(True)))):
        position = await conn.scalar(
            sa.select(webhook_cursor.c.last_event_id).where(webhook_cursor.c.name == WEBHOOK_CURSOR)
        )
        return int(position or 0)
    return int(await conn.scalar(sa.select(sa.func.max(events.c.event_id))) or 0)


def _task_where(cutoff: datetime, floor: int) -> list[sa.ColumnElement[bool]]:
    other = tasks.alias("other")
    dependent = tasks.alias("dependent")
    dep = task_dependencies.c
    active = [s.value for s in ACTIVE]
    return [
        T.status.in_(sorted(s.value for s in TERMINAL)),
        T.completed_at < cutoff,
        T.dead_lettered.is_(False),
        ~sa.exists().where(
            dep.depends_on_task_id == T.task_id,
            dependent.c.task_id == dep.task_id,
            dependent.c.status.in_(active),
        ),
        sa.or_(
            T.batch_id.is_(None),
            ~sa.exists().where(
                other.c.batch_id == T.batch_id,
                sa.or_(
                    other.c.status.in_(active),
                    other.c.completed_at.is_(None),
                    other.c.completed_at >= cutoff,
                ),
            ),
        ),
        ~sa.exists().where(events.c.task_id == T.task_id, events.c.event_id > floor),
    ]


def where_of(kind: str, cutoff: datetime, floor: int) -> list[sa.ColumnElement[bool]]:
    """What makes a row of `kind` prunable (see the module's docstring)."""
    k = KINDS[kind]
    if kind == "tasks":
        return _task_where(cutoff, floor)
    where = [k.age < cutoff]
    if kind == "events":
        where += [
            events.c.event_id <= floor,
            sa.or_(
                events.c.task_id.is_(None),
                ~sa.exists().where(T.task_id == events.c.task_id),
            ),
        ]
    elif kind == "webhook_deliveries":
        where.append(webhook_deliveries.c.status.in_(("delivered", "failed")))
    return where


def _keys(kind: str) -> list[sa.ColumnElement[Any]]:
    if kind == "idempotency_keys":
        return [idempotency_keys.c.client_id, idempotency_keys.c.key]
    return [KINDS[kind].key]


async def count(conn: AsyncConnection, kind: str, where: list[sa.ColumnElement[bool]]) -> int:
    table = KINDS[kind].table
    return int(await conn.scalar(sa.select(sa.func.count()).select_from(table).where(*where)) or 0)


async def take_batch(
    conn: AsyncConnection,
    kind: str,
    where: list[sa.ColumnElement[bool]],
    limit: int,
    since: datetime | None,
) -> tuple[list[tuple[Any, ...]], datetime | None]:
    """The keys of up to `limit` prunable rows, oldest first, none older than `since` (where
    the previous batch ended: rows kept by a rule are not walked again by every batch), and
    the age of the last one."""
    k = KINDS[kind]
    stmt = sa.select(*_keys(kind), k.age).where(*where).order_by(k.age).limit(limit)
    if since is not None:
        stmt = stmt.where(k.age >= since)
    if kind == "tasks":
        # walk finished tasks oldest first; SQLite's planner picks idx_tasks_status and sorts
        # every finished task for each batch instead
        stmt = dialect.sqlite_index_hint(stmt, tasks, "idx_tasks_completed_at")
    rows = list(await conn.execute(stmt))
    return [tuple(r)[:-1] for r in rows], (rows[-1][-1] if rows else None)


def _key_in(kind: str, keys: Sequence[tuple[Any, ...]]) -> sa.ColumnElement[bool]:
    columns = _keys(kind)
    if len(columns) == 1:
        return columns[0].in_([k[0] for k in keys])
    return sa.tuple_(*columns).in_([tuple(k) for k in keys])


def _rows(result: Any) -> list[dict[str, Any]]:
    return [{str(k): v for k, v in r._mapping.items()} for r in result]


async def archive_rows(
    conn: AsyncConnection, kind: str, keys: Sequence[tuple[Any, ...]]
) -> list[dict[str, Any]]:
    """The rows about to be deleted, as archived: a task with its attempts, dependency edges,
    idempotency keys and events; a delivery with its attempts."""
    table = KINDS[kind].table
    rows = _rows(await conn.execute(sa.select(table).where(_key_in(kind, keys))))
    if kind == "tasks":
        return await _with_children(
            conn,
            rows,
            "task_id",
            {
                "attempts": (task_attempts, task_attempts.c.task_id),
                "dependencies": (task_dependencies, task_dependencies.c.task_id),
                "idempotency_keys": (idempotency_keys, idempotency_keys.c.task_id),
                "events": (events, events.c.task_id),
            },
        )
    if kind == "webhook_deliveries":
        return await _with_children(
            conn,
            rows,
            "delivery_id",
            {"attempts": (webhook_attempts, webhook_attempts.c.delivery_id)},
        )
    return rows


async def _with_children(
    conn: AsyncConnection,
    rows: list[dict[str, Any]],
    key: str,
    children: dict[str, tuple[sa.Table, sa.Column[Any]]],
) -> list[dict[str, Any]]:
    ids = [r[key] for r in rows]
    for name, (table, column) in children.items():
        found: dict[Any, list[dict[str, Any]]] = {}
        for child in _rows(await conn.execute(sa.select(table).where(column.in_(ids)))):
            found.setdefault(child[column.name], []).append(child)
        for row in rows:
            row[name] = found.get(row[key], [])
    return rows


async def delete(conn: AsyncConnection, kind: str, keys: Sequence[tuple[Any, ...]]) -> int:
    """Delete the rows (and what belongs to them); answers how many rows of `kind` went."""
    if not keys:
        return 0
    ids = [k[0] for k in keys]
    if kind == "tasks":
        for column in (
            task_attempts.c.task_id,
            task_dependencies.c.task_id,
            idempotency_keys.c.task_id,
            events.c.task_id,
        ):
            await conn.execute(sa.delete(column.table).where(column.in_(ids)))
    elif kind == "webhook_deliveries":
        await conn.execute(
            sa.delete(webhook_attempts).where(webhook_attempts.c.delivery_id.in_(ids))
        )
    result = await conn.execute(sa.delete(KINDS[kind].table).where(_key_in(kind, keys)))
    return int(result.rowcount or 0)


# --- the pruning transaction ---------------------------------------------------------------


async def lock(conn: AsyncConnection) -> bool:
    """Take the pruning lock for this transaction (PostgreSQL; SQLite has one writer)."""
    return await dialect.try_transaction_lock(conn, LOCK_KEY)


async def mark_pruning(conn: AsyncConnection) -> str:
    """Mark this transaction as a prune: the rollup trigger leaves deleted tasks' figures in
    the analytics (migration 0007). Answers the SQLite marker's token, for `unmark_pruning`."""
    mark = dialect.pick(conn, postgresql=_set_pruning_flag, sqlite=_insert_pruning_marker)
    return await mark(conn)


async def _set_pruning_flag(conn: AsyncConnection) -> str:
    await conn.execute(sa.text("SELECT set_config('ains.pruning', 'on', true)"))
    return ""


async def _insert_pruning_marker(conn: AsyncConnection) -> str:
    token = uuid.uuid4().hex
    await conn.execute(sa.text("INSERT INTO retention_marker (token) VALUES (:t)"), {"t": token})
    return token


async def unmark_pruning(conn: AsyncConnection, token: str) -> None:
    """Before commit, so no other transaction ever sees the SQLite marker."""
    unmark = dialect.pick(conn, postgresql=_clear_pruning_flag, sqlite=_delete_pruning_marker)
    await unmark(conn, token)


async def _clear_pruning_flag(conn: AsyncConnection, _token: str) -> None:
    await conn.execute(sa.text("SELECT set_config('ains.pruning', 'off', true)"))


async def _delete_pruning_marker(conn: AsyncConnection, token: str) -> None:
    await conn.execute(sa.text("DELETE FROM retention_marker WHERE token = :t"), {"t": token})


# --- statistics ----------------------------------------------------------------------------


async def table_rows(conn: AsyncConnection) -> dict[str, int]:
    out: dict[str, int] = {}
    for table in metadata.sorted_tables:
        out[table.name] = int(await conn.scalar(sa.select(sa.func.count()).select_from(table)) or 0)
    return out


async def oldest_finished_task(conn: AsyncConnection) -> dict[str, Any] | None:
    row = (
        await conn.execute(
            sa.select(T.task_id, T.status, T.completed_at)
            .where(T.status.in_(sorted(s.value for s in TERMINAL)), T.completed_at.is_not(None))
            .order_by(T.completed_at, T.task_id)
            .limit(1)
        )
    ).first()
    return None if row is None else dict(row._mapping)


async def database_bytes(conn: AsyncConnection) -> int:
    return await dialect.database_bytes(conn)
