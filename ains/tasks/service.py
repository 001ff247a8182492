"""Client-facing task operations: submit, read, list, cancel, reprioritise, manual retry."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from ains.audit import trail
from ains.clock import Clock, new_id
from ains.config import Settings
from ains.db.engine import Database, Tx
from ains.events.bus import Bus
from ains.events.repository import add_events, event, task_histories, task_history
from ains.exceptions import AinsError, Conflict, FieldError, Forbidden, NotFound, Unprocessable
from ains.models import tasks
from ains.pagination import decode_cursor, encode_cursor
from ains.queue import ordering
from ains.queue.fairness import stamp_fair_keys
from ains.routing import repository as routing_repo
from ains.security.crypto import KeyRing
from ains.security.principals import Principal, acting_client_id, can_change_task, can_view_task
from ains.tasks import repository as repo
from ains.tasks.group_commit import GroupCommitter
from ains.tasks.schemas import TaskIn
from ains.tasks.sealing import seal, unseal
from ains.tasks.states import ACTIVE, TERMINAL, UNSUCCESSFUL, TaskStatus, still_in
from ains.tasks.views import task_view

T = tasks.c


@dataclass(frozen=True)
class Submitted:
    task: dict[str, Any]
    replayed: bool = False


class TaskService:
    def __init__(
        self,
        settings: Settings,
        clock: Clock,
        bus: Bus,
        keyring: KeyRing | None,
        committer: GroupCommitter | None = None,
    ):
        self.settings = settings
        self.clock = clock
        self.bus = bus
        self.keyring = keyring
        self.committer = committer

    # --- queue order ---------------------------------------------------------------------

    def queue_key(self, priority: int, queued_at: datetime) -> float:
        """Lower runs first; see `ains.queue.ordering` for aging and fairness."""
        return ordering.queue_key(priority, queued_at.timestamp(), self.settings.aging_interval)

    # --- submit ----------------------------------------------------------------------------

    def build_row(
        self,
        principal: Principal,
        item: TaskIn,
        now: datetime,
        *,
        task_id: str | None = None,
        client_id: str | None = None,
        depends_on: Sequence[str] = (),
        pending_dependencies: int = 0,
        batch_id: str | None = None,
        batch_index: int | None = None,
        schedule_id: str | None = None,
        template_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        task_id = task_id or item.task_id or new_id("task")
        policy = item.effective_retry_policy()
        status = TaskStatus.BLOCKED if pending_dependencies else TaskStatus.PENDING
        timeout = item.timeout_seconds or self.settings.task_type_timeouts.get(item.task_type)
        row: dict[str, Any] = {
            "task_id": task_id,
            "client_id": client_id or acting_client_id(principal, item.client_id),
            "team": principal.team,
            "task_type": item.task_type,
            "capability_required": item.capability_required,
            "input_data": item.input_data,
            "input_encrypted": None,
            "encrypted": item.encrypt,
            "priority": item.priority,
            "queue_key": self.queue_key(item.priority, now),
            "status": status,
            "max_retries": policy.max_retries,
            "retry_policy": policy.model_dump(),
            "timeout_seconds": timeout,
            "deadline": item.deadline,
            "visibility": item.visibility,
            "allowed_viewers": item.allowed_viewers,
            "metadata": item.metadata,
            "depends_on": list(depends_on),
            "pending_dependencies": pending_dependencies,
            "batch_id": batch_id,
            "batch_index": batch_index,
            "schedule_id": schedule_id,
            "template_id": template_id,
            "idempotency_key": idempotency_key,
            "queued_at": now if status == TaskStatus.PENDING else None,
            "created_at": now,
            "updated_at": now,
        }
        if item.encrypt:
            if self.keyring is None:
                raise Unprocessable.field(
                    "encrypt", "encryption is not configured on this server (AINS_ENCRYPTION_KEYS)"
                )
            row["input_encrypted"] = self.keyring.encrypt_json(item.input_data, task_id.encode())
            row["input_data"] = None
            row["metadata"] = seal(self.keyring, True, task_id, item.metadata)
        return row

    def created_event(
        self, row: dict[str, Any], principal: Principal, reason: str
    ) -> dict[str, Any]:
        return event(
            "task.created",
            row["created_at"],
            task_id=row["task_id"],
            client_id=row["client_id"],
            batch_id=row["batch_id"],
            schedule_id=row["schedule_id"],
            to_status=row["status"],
            actor=principal.actor,
            reason=reason,
            data={
                "task_type": row["task_type"],
                "capability_required": row["capability_required"],
                "priority": row["priority"],
            },
        )

    async def check_dependencies(
        self, conn: AsyncConnection, principal: Principal, depends_on: Sequence[str], field: str
    ) -> int:
        """Validate existing dependency ids; returns how many have not completed yet."""
        if not depends_on:
            return 0
        found = {r.task_id: r for r in await repo.get_many(conn, depends_on)}
        waiting = 0
        for i, dep in enumerate(depends_on):
            row = found.get(dep)
            if row is None or not can_view_task(principal, dict(row._mapping)):
                raise Unprocessable.field(f"{field}[{i}]", f"unknown task {dep}")
            if row.status in UNSUCCESSFUL:
                raise Unprocessable.field(
                    f"{field}[{i}]", f"task {dep} is {row.status} and can never complete"
                )
            if row.status != TaskStatus.COMPLETED:
                waiting += 1
        return waiting

    async def submit_one(
        self,
        db: Database,
        principal: Principal,
        item: TaskIn,
        idempotency_key: str | None = None,
    ) -> Submitted:
        """One submission, as every front door (REST, seed 004, GraphQL, A2A) makes it: through
        group commit when it can, else in a transaction of its own; audited either way (an
        idempotent replay changes nothing and writes no audit row)."""
        if idempotency_key is None:
            grouped = await self.submit_grouped(principal, item)
            if grouped is not None:
                return grouped
        async with db.transaction() as tx:
            submitted = await self.submit(tx, principal, item, idempotency_key)
            if not submitted.replayed:
                await trail.record(
                    tx.conn, principal, "task.submit", now=self.clock(), target_type="task",
                    target_id=submitted.task["task_id"],
                )  # fmt: skip
        return submitted

    async def submit_grouped(self, principal: Principal, item: TaskIn) -> Submitted | None:
        """The common case (no idempotency key, dependencies or chosen id) through group
        commit; None when the submission needs the full path."""
        if self.committer is None or item.depends_on or item.task_id or item.ref:
            return None
        now = self.clock()
        row = self.build_row(principal, item, now)
        audit_entry = trail.entry(
            principal, "task.submit", now=now, target_type="task", target_id=row["task_id"]
        )
        await self.committer.insert(
            row, self.created_event(row, principal, "submitted"), audit_entry
        )
        return Submitted(self._row_view(row))

    async def submit(
        self, tx: Tx, principal: Principal, item: TaskIn, idempotency_key: str | None = None
    ) -> Submitted:
        now = self.clock()
        client_id = acting_client_id(principal, item.client_id)
        request_hash = None
        if idempotency_key is not None:
            request_hash = _hash_request(item)
            replay = await self._replay(tx.conn, client_id, idempotency_key, request_hash, now)
            if replay is not None:
                return Submitted(replay, replayed=True)
        if item.ref is not None:
            raise Unprocessable.field("ref", "only allowed inside a batch")
        if item.task_id is not None and await repo.get(tx.conn, item.task_id) is not None:
            raise Conflict(f"task_id: a task {item.task_id} already exists")
        depends_on = list(dict.fromkeys(item.depends_on))
        waiting = await self.check_dependencies(tx.conn, principal, depends_on, "depends_on")
        row = self.build_row(
            principal,
            item,
            now,
            client_id=client_id,
            depends_on=depends_on,
            pending_dependencies=waiting,
            idempotency_key=idempotency_key,
        )
        await stamp_fair_keys(tx.conn, [row], now, self.settings.aging_interval)
        await repo.insert_tasks(tx.conn, [row])
        await repo.insert_dependencies(tx.conn, [(row["task_id"], d) for d in depends_on])
        await add_events(tx.conn, [self.created_event(row, principal, "submitted")])
        if idempotency_key is not None and request_hash is not None:
            await self._remember(tx.conn, client_id, idempotency_key, request_hash, row, now)
        if row["status"] == TaskStatus.PENDING:
            tx.on_commit(lambda: self.bus.publish("route", row["capability_required"]))
        return Submitted(self._row_view(row))

    def _row_view(self, row: dict[str, Any]) -> dict[str, Any]:
        view = {k: row.get(k) for k in row if not k.endswith("_encrypted")}
        view.update(
            assigned_agent_id=None,
            attempt_id=None,
            retry_count=0,
            next_retry_at=None,
            last_error=None,
            error_type=None,
            result_data=None,
            cost=None,
            quality_score=None,
            execution_ms=None,
            progress=None,
            lease_expires_at=None,
            cancel_requested=False,
            cancelled_by=None,
            cancelled_at=None,
            cancellation_reason=None,
            dead_lettered=False,
            started_at=None,
            completed_at=None,
            encrypt=row["encrypted"],
        )
        if row["encrypted"]:
            view["metadata"] = unseal(self.keyring, True, row["task_id"], row["metadata"])
            view["input_data"] = (
                self.keyring.decrypt_json(row["input_encrypted"], row["task_id"].encode())
                if self.keyring
                else None
            )
        for key in (
            "queue_key",
            "encrypted",
            "pending_dependencies",
            "batch_index",
            "idempotency_key",
        ):
            view.pop(key, None)
        return view

    async def _replay(
        self, conn: AsyncConnection, client_id: str, key: str, request_hash: str, now: datetime
    ) -> dict[str, Any] | None:
        row = await repo.idempotency_key(conn, client_id, key, now)
        if row is None:
            return None
        if row.request_hash != request_hash:
            raise Unprocessable(
                "Idempotency-Key was already used with a different request body",
                errors=[FieldError("Idempotency-Key", "reused with a different request body")],
            )
        task = await repo.get(conn, row.task_id)
        if task is None:  # removed by retention: the key is stale
            return None
        return task_view(task, self.keyring)

    async def _remember(
        self,
        conn: AsyncConnection,
        client_id: str,
        key: str,
        request_hash: str,
        row: dict[str, Any],
        now: datetime,
    ) -> None:
        expires = now + timedelta(seconds=self.settings.idempotency_ttl_seconds)
        await repo.remember_idempotency_key(
            conn,
            {
                "client_id": client_id,
                "key": key,
                "request_hash": request_hash,
                "task_id": row["task_id"],
                "created_at": now,
                "expires_at": expires,
            },
        )

    # --- read ------------------------------------------------------------------------------

    async def get_visible(self, conn: AsyncConnection, principal: Principal, task_id: str) -> Any:
        row = await repo.get(conn, task_id)
        if row is None or not can_view_task(principal, dict(row._mapping)):
            raise NotFound(f"task {task_id} not found")
        return row

    async def details(
        self, conn: AsyncConnection, principal: Principal, task_id: str
    ) -> dict[str, Any]:
        row = await self.get_visible(conn, principal, task_id)
        view = task_view(row, self.keyring)
        view["history"] = await task_history(conn, task_id)
        for entry in view["history"]:
            entry["reason"] = unseal(self.keyring, row.encrypted, task_id, entry["reason"])
        view["attempts"] = [
            self._attempt_view(a, row.encrypted) for a in await repo.attempts(conn, task_id)
        ]
        return view

    async def routing(
        self, conn: AsyncConnection, principal: Principal, task_id: str
    ) -> dict[str, Any]:
        """Every routing of the task (one per attempt) with the candidates considered, as
        recorded when it was routed; seen by whoever may see the task."""
        row = await self.get_visible(conn, principal, task_id)
        return {
            "task_id": task_id,
            "capability_required": row.capability_required,
            "routings": [
                {
                    "attempt_id": r.attempt_id,
                    "number": r.number,
                    "agent_id": r.agent_id,
                    "status": r.status,
                    "routed_at": r.created_at or r.claimed_at,
                    "routing_id": r.routing_id,
                    "capability": r.capability,
                    "tier": r.tier,
                    "candidates": r.candidates or [],
                }
                for r in await routing_repo.of_task(conn, task_id)
            ],
        }

    def _attempt_view(self, a: Any, encrypted: bool) -> dict[str, Any]:
        return {
            "attempt_id": a.attempt_id,
            "agent_id": a.agent_id,
            "number": a.number,
            "status": a.status,
            "claimed_at": a.claimed_at,
            "started_at": a.started_at,
            "finished_at": a.finished_at,
            "error": unseal(self.keyring, encrypted, a.task_id, a.error),
            "error_type": a.error_type,
        }

    # --- many tasks at once (batched readers: one statement for any number of tasks) ------

    async def visible_many(
        self, conn: AsyncConnection, principal: Principal, task_ids: Sequence[str]
    ) -> dict[str, dict[str, Any]]:
        """The views of those of `task_ids` that exist and `principal` may see."""
        rows = await repo.get_many(conn, task_ids)
        return {
            r.task_id: task_view(r, self.keyring)
            for r in rows
            if can_view_task(principal, dict(r._mapping))
        }

    async def attempts_of(
        self, conn: AsyncConnection, encrypted: dict[str, bool]
    ) -> dict[str, list[dict[str, Any]]]:
        """The attempts of the tasks `encrypted` names (task id → whether it is sealed); the
        caller has checked that they may be seen."""
        found: dict[str, list[dict[str, Any]]] = {t: [] for t in encrypted}
        for a in await repo.attempts_of(conn, list(encrypted)):
            found[a.task_id].append(self._attempt_view(a, encrypted[a.task_id]))
        return found

    async def histories_of(
        self, conn: AsyncConnection, encrypted: dict[str, bool]
    ) -> dict[str, list[dict[str, Any]]]:
        """The transition histories of already-visible tasks, reasons unsealed."""
        found = await task_histories(conn, list(encrypted))
        for task_id, entries in found.items():
            for entry in entries:
                entry["reason"] = unseal(self.keyring, encrypted[task_id], task_id, entry["reason"])
        return found

    async def result(
        self, conn: AsyncConnection, principal: Principal, task_id: str
    ) -> dict[str, Any]:
        view = task_view(await self.get_visible(conn, principal, task_id), self.keyring)
        return {
            "task_id": task_id,
            "status": view["status"],
            "result_data": view["result_data"],
            "cost": view["cost"],
            "quality_score": view["quality_score"],
            "completed_at": view["completed_at"],
            "last_error": view["last_error"],
        }

    async def list(
        self,
        conn: AsyncConnection,
        principal: Principal,
        *,
        filters: dict[str, Any],
        cursor: str | None,
        limit: int,
        count: bool = False,
    ) -> dict[str, Any]:
        """A page of the tasks `principal` may see that match `filters`; with `count`, also
        how many match in all (`total`)."""
        where: list[sa.ColumnElement[bool]] = []
        if not principal.is_admin:
            where.append(repo.visible_to(conn, principal.principal_id, principal.team))
        if filters.get("status"):
            statuses = [s.strip().upper() for s in str(filters["status"]).split(",")]
            unknown = [s for s in statuses if s not in TaskStatus.__members__]
            if unknown:
                raise Unprocessable.field("status", f"unknown status {unknown[0]}")
            where.append(T.status.in_(statuses))
        for key, column in (
            ("client_id", T.client_id),
            ("agent_id", T.assigned_agent_id),
            ("task_type", T.task_type),
            ("capability", T.capability_required),
            ("batch_id", T.batch_id),
        ):
            if filters.get(key):
                where.append(column == filters[key])
        if filters.get("created_after"):
            where.append(T.created_at >= filters["created_after"])
        if filters.get("created_before"):
            where.append(T.created_at < filters["created_before"])
        if filters.get("updated_after"):
            where.append(T.updated_at > filters["updated_after"])
        if filters.get("dead_lettered") is not None:
            where.append(T.dead_lettered == filters["dead_lettered"])
        where.extend(filters.get("where", ()))
        page = await self.page(conn, where, cursor=cursor, limit=limit)
        if count:
            page["total"] = await repo.count_where(conn, where)
        return page

    async def page(
        self,
        conn: AsyncConnection,
        where: Sequence[sa.ColumnElement[bool]],
        *,
        cursor: str | None,
        limit: int,
        kind: str = "t",
    ) -> dict[str, Any]:
        """A page of the tasks matching ``where``, newest first, shown as tasks are; ``kind``
        tags the cursor (a task-list cursor is not a DLQ cursor)."""
        before = decode_cursor(kind, cursor) if cursor else None
        rows = await repo.list_page(conn, where=where, before_task_id=before, limit=limit + 1)
        items = [task_view(r, self.keyring) for r in rows[:limit]]
        next_cursor = encode_cursor(kind, rows[limit - 1].task_id) if len(rows) > limit else None
        return {"items": items, "next_cursor": next_cursor}

    # --- change ----------------------------------------------------------------------------

    async def changeable(self, conn: AsyncConnection, principal: Principal, task_id: str) -> Any:
        row = await self.get_visible(conn, principal, task_id)
        if not can_change_task(principal, row._mapping):
            raise Forbidden(f"task {task_id} belongs to another client")
        return row

    async def set_priority(
        self, tx: Tx, principal: Principal, task_id: str, priority: int
    ) -> dict[str, Any]:
        row = await self.changeable(tx.conn, principal, task_id)
        if row.status in TERMINAL:
            raise Conflict(f"task {task_id} is {row.status}; its priority can no longer change")
        now = self.clock()
        # keep the task's place among its client's tasks (its virtual start), change its level
        aging = self.settings.aging_interval
        start = ordering.virtual_start(row.priority, row.queue_key, aging)
        updated = await repo.update_guarded(
            tx.conn,
            task_id,
            statuses=still_in(*ACTIVE),
            values={
                "priority": priority,
                "queue_key": ordering.queue_key(priority, start, aging),
                "updated_at": now,
            },
        )
        if updated is None:
            raise Conflict(f"task {task_id} finished while its priority was being changed")
        return task_view(updated, self.keyring)


def _hash_request(item: TaskIn) -> str:
    body = orjson.dumps(item.model_dump(mode="json"), option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(body).hexdigest()


__all__ = ["AinsError", "Submitted", "TaskService"]
