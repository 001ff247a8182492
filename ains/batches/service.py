"""Batches: many tasks in one request and one round trip per table, then one view of them all.

A batch is validated whole before anything is written: each task on its own (schema, ids,
dependencies), then the graph of dependencies between the batch's tasks (by `ref` or client-chosen
`task_id`). Only then are the rows inserted — one multi-row INSERT per table."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncConnection

from ains.batches import repository as batch_repo
from ains.batches.schemas import BatchIn
from ains.clock import new_id
from ains.db.engine import Tx
from ains.events.repository import add_events, event
from ains.exceptions import AinsError, Conflict, FieldError, NotFound, Unprocessable
from ains.queue.fairness import stamp_fair_keys
from ains.security.principals import Principal, acting_client_id, can_view_task
from ains.tasks import repository as task_repo
from ains.tasks.control import TaskControl
from ains.tasks.schemas import TaskIn
from ains.tasks.sealing import unseal_row
from ains.tasks.service import TaskService
from ains.tasks.settlement import Settlement, TrustSettings
from ains.tasks.states import ACTIVE, TERMINAL, UNSUCCESSFUL, TaskStatus
from ains.tasks.views import task_view

MAX_STATUS_IDS = 1000


@dataclass
class Slot:
    """One task of the batch while it is being validated."""

    index: int
    item: TaskIn | None = None
    task_id: str = ""
    intra: list[int] = field(default_factory=list)  # indices of batch tasks it waits for
    row: dict[str, Any] | None = None
    errors: list[FieldError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def fail(self, name: str, reason: str) -> None:
        self.errors.append(FieldError(f"tasks[{self.index}]{name}", reason))


@dataclass(frozen=True)
class BatchSubmitted:
    batch: dict[str, Any]
    replayed: bool = False


class BatchService:
    def __init__(self, tasks: TaskService, control: TaskControl) -> None:
        self.tasks = tasks
        self.control = control
        self.settings = tasks.settings
        self.clock = tasks.clock

    # --- submit ----------------------------------------------------------------------------

    async def submit(
        self, tx: Tx, principal: Principal, body: BatchIn, *, template_id: str | None = None
    ) -> BatchSubmitted:
        limit = self.settings.max_batch_size
        if len(body.tasks) > limit:
            raise Unprocessable.field(
                "tasks",
                f"a batch holds at most {limit} tasks (max_batch_size); this one has "
                f"{len(body.tasks)}",
            )
        client_id = acting_client_id(principal, body.client_id)
        request_hash = _hash(body, template_id)
        if body.batch_id is not None:
            existing = await batch_repo.get(tx.conn, body.batch_id)
            if existing is not None:
                return BatchSubmitted(
                    await self._replay(tx.conn, principal, existing, request_hash), replayed=True
                )
        now = self.clock()
        batch_id = body.batch_id or new_id("batch")
        slots = self._parse(body, client_id)
        refs = self._names(slots)
        _refuse_cycles(slots)
        found = await self._check_existing(tx.conn, principal, slots, refs)
        ids = {name: slots[i].task_id for name, i in refs.items()}
        for slot in slots:
            if slot.ok and slot.item is not None:
                self._build(principal, slot, ids, found, now, batch_id, template_id)
        _settle_failures(slots, body.batch_options.fail_fast)
        results = [_result(s) for s in slots]
        failed = [s for s in slots if not s.ok]
        if failed and (body.batch_options.atomic or len(failed) == len(slots)):
            why = "atomic batch refused" if body.batch_options.atomic else "no task was valid"
            raise Unprocessable(
                f"{why}: {len(failed)} of {len(slots)} tasks are invalid; nothing was created",
                errors=[e for s in failed for e in s.errors],
                extra={"results": results},
            )
        rows = [s.row for s in slots if s.row is not None]
        options = {
            "atomic": body.batch_options.atomic,
            "fail_fast": body.batch_options.fail_fast,
            "refs": {s.item.ref: s.task_id for s in slots if s.ok and s.item and s.item.ref},
            "errors": [r for r in results if not r["ok"]],
            "template_id": template_id,
        }
        await self._insert(tx, principal, rows, batch_id, client_id, options, request_hash, now)
        batch = {
            "batch_id": batch_id,
            "client_id": client_id,
            "status": "PENDING",
            "total_tasks": len(rows),
            "submitted": len(slots),
            "created": len(rows),
            "failed": len(failed),
            "options": {k: options[k] for k in ("atomic", "fail_fast")},
            "task_ids": [r["task_id"] for r in rows],
            "results": results,
            "created_at": now,
        }
        return BatchSubmitted(batch)

    def _parse(self, body: BatchIn, client_id: str) -> list[Slot]:
        slots = []
        for i, raw in enumerate(body.tasks):
            slot = Slot(i)
            data = dict(raw)
            if body.client_id is not None and not {"client_id", "clientid"} & data.keys():
                data["client_id"] = client_id
            try:
                slot.item = TaskIn.model_validate(data)
            except ValidationError as exc:
                for err in exc.errors():
                    loc = "".join(
                        f"[{p}]" if isinstance(p, int) else f".{p}" for p in err.get("loc", ())
                    )
                    reason = "unknown field" if err["type"] == "extra_forbidden" else err["msg"]
                    slot.fail(loc, str(reason))
            if slot.item is not None:
                slot.task_id = slot.item.task_id or new_id("task")
            slots.append(slot)
        return slots

    @staticmethod
    def _names(slots: list[Slot]) -> dict[str, int]:
        """Names other batch tasks may depend on: each task's `ref` and its chosen task_id."""
        names: dict[str, int] = {}
        for slot in slots:
            if slot.item is None:
                continue
            for name, label in ((slot.item.ref, ".ref"), (slot.item.task_id, ".task_id")):
                if name is None:
                    continue
                if name in names and names[name] != slot.index:
                    slot.fail(label, f"{name} is already used by tasks[{names[name]}]")
                else:
                    names[name] = slot.index
        for slot in slots:
            if slot.item is not None:
                slot.intra = sorted(
                    {names[d] for d in slot.item.depends_on if d in names and slot.ok}
                )
        return names

    async def _check_existing(
        self, conn: AsyncConnection, principal: Principal, slots: list[Slot], refs: dict[str, int]
    ) -> dict[str, Any]:
        """One query for every id the batch names outside itself (chosen ids, dependencies)."""
        chosen = [s.item.task_id for s in slots if s.item and s.item.task_id]
        external = [d for s in slots if s.item for d in s.item.depends_on if d not in refs]
        found = {r.task_id: r for r in await task_repo.get_many(conn, [*chosen, *external])}
        for slot in slots:
            if slot.item is None:
                continue
            if slot.item.task_id and slot.item.task_id in found:
                slot.fail(".task_id", f"a task {slot.item.task_id} already exists")
            for j, dep in enumerate(slot.item.depends_on):
                if dep in refs:
                    continue
                row = found.get(dep)
                if row is None or not can_view_task(principal, dict(row._mapping)):
                    slot.fail(f".depends_on[{j}]", f"unknown task {dep}")
                elif row.status in UNSUCCESSFUL:
                    slot.fail(
                        f".depends_on[{j}]", f"task {dep} is {row.status}; it never completes"
                    )
        return found

    def _build(
        self,
        principal: Principal,
        slot: Slot,
        ids: dict[str, str],
        found: dict[str, Any],
        now: datetime,
        batch_id: str,
        template_id: str | None,
    ) -> None:
        assert slot.item is not None
        depends_on: list[str] = []
        waiting = 0
        for dep in dict.fromkeys(slot.item.depends_on):
            if dep in ids:
                depends_on.append(ids[dep])
                waiting += 1
            else:
                depends_on.append(dep)
                waiting += found[dep].status != TaskStatus.COMPLETED
        try:
            slot.row = self.tasks.build_row(
                principal,
                slot.item,
                now,
                task_id=slot.task_id,
                depends_on=depends_on,
                pending_dependencies=waiting,
                batch_id=batch_id,
                batch_index=slot.index,
                template_id=template_id,
            )
        except AinsError as exc:
            for err in exc.errors or [FieldError("", exc.detail)]:
                slot.fail(f".{err.field}" if err.field else "", err.reason)

    async def _insert(
        self,
        tx: Tx,
        principal: Principal,
        rows: list[dict[str, Any]],
        batch_id: str,
        client_id: str,
        options: dict[str, Any],
        request_hash: str,
        now: datetime,
    ) -> None:
        conn = tx.conn
        await batch_repo.insert(
            conn,
            {
                "batch_id": batch_id,
                "client_id": client_id,
                "total_tasks": len(rows),
                "status": "OPEN",
                "options": options,
                "request_hash": request_hash,
                "created_at": now,
            },
        )
        await stamp_fair_keys(conn, rows, now, self.settings.aging_interval)
        await task_repo.insert_tasks(conn, rows)
        await task_repo.insert_dependencies(
            conn, [(r["task_id"], d) for r in rows for d in r["depends_on"]]
        )
        created = [self.tasks.created_event(r, principal, "submitted in batch") for r in rows]
        created.append(
            event(
                "batch.created",
                now,
                batch_id=batch_id,
                client_id=client_id,
                actor=principal.actor,
                data={"total_tasks": len(rows)},
            )
        )
        await add_events(conn, created)
        capabilities = {r["capability_required"] for r in rows if r["status"] == "PENDING"}
        bus = self.tasks.bus

        def route() -> None:
            for capability in sorted(capabilities):
                bus.publish("route", capability)

        tx.on_commit(route)

    async def _replay(
        self, conn: AsyncConnection, principal: Principal, batch: Any, request_hash: str
    ) -> dict[str, Any]:
        # someone else's batch id answers as the owner's own with another body would: the
        # same 409, telling nothing about the batch (as a taken task_id does)
        others = not principal.is_admin and principal.principal_id != batch.client_id
        if others or (batch.request_hash and batch.request_hash != request_hash):
            raise Conflict(
                f"batch_id {batch.batch_id} was already used for a different batch",
                errors=[FieldError("batch_id", "already used with a different request body")],
            )
        rows = await batch_repo.batch_tasks(conn, batch.batch_id)
        errors = list(batch.options.get("errors", []))
        results = [
            {"index": r.batch_index, "ok": True, "task_id": r.task_id, "status": r.status}
            for r in rows
        ]
        results = sorted([*results, *errors], key=lambda r: int(r["index"]))
        return {
            "batch_id": batch.batch_id,
            "client_id": batch.client_id,
            "status": batch.status,
            "total_tasks": batch.total_tasks,
            "submitted": len(results),
            "created": len(rows),
            "failed": len(errors),
            "options": {k: batch.options.get(k) for k in ("atomic", "fail_fast")},
            "task_ids": [r.task_id for r in rows],
            "results": results,
            "created_at": batch.created_at,
        }

    # --- read ------------------------------------------------------------------------------

    @staticmethod
    def _owned(principal: Principal, batch: Any) -> None:
        if not principal.is_admin and principal.principal_id != batch.client_id:
            raise NotFound(f"batch {batch.batch_id} not found")

    async def _get(self, conn: AsyncConnection, principal: Principal, batch_id: str) -> Any:
        batch = await batch_repo.get(conn, batch_id)
        if batch is None:
            raise NotFound(f"batch {batch_id} not found")
        self._owned(principal, batch)
        return batch

    async def status(
        self, conn: AsyncConnection, principal: Principal, batch_id: str
    ) -> dict[str, Any]:
        batch = await self._get(conn, principal, batch_id)
        counts = await batch_repo.status_counts(conn, batch_id)
        return {
            "batch_id": batch_id,
            "client_id": batch.client_id,
            "status": overall_status(counts),
            "total_tasks": batch.total_tasks,
            "counts": counts,
            **summary(counts),
            "options": {k: batch.options.get(k) for k in ("atomic", "fail_fast")},
            "created_at": batch.created_at,
            "completed_at": batch.completed_at,
        }

    async def results(
        self, conn: AsyncConnection, principal: Principal, batch_id: str
    ) -> dict[str, Any]:
        batch = await self._get(conn, principal, batch_id)
        ref_of = {task_id: ref for ref, task_id in batch.options.get("refs", {}).items()}
        rows = await batch_repo.batch_tasks(conn, batch_id)
        items = []
        for row in rows:
            view = task_view(row, self.tasks.keyring)
            items.append(
                {
                    "index": row.batch_index,
                    "task_id": row.task_id,
                    "ref": ref_of.get(row.task_id),
                    "status": row.status,
                    "result_data": view["result_data"],
                    "last_error": view["last_error"],
                    "error_type": row.error_type,
                    "cost": row.cost,
                    "quality_score": row.quality_score,
                    "completed_at": row.completed_at,
                }
            )
        counts: dict[str, int] = {}
        for row in rows:
            counts[row.status] = counts.get(row.status, 0) + 1
        return {
            "batch_id": batch_id,
            "status": overall_status(counts),
            "completed_at": batch.completed_at,
            "results": items,
        }

    async def status_by_ids(
        self, conn: AsyncConnection, principal: Principal, task_ids: list[str]
    ) -> dict[str, Any]:
        if len(task_ids) > MAX_STATUS_IDS:
            raise Unprocessable.field("task_ids", f"at most {MAX_STATUS_IDS} ids per call")
        found = {r.task_id: r for r in await task_repo.get_many(conn, task_ids)}
        items: list[dict[str, Any]] = []
        counts: dict[str, int] = {}
        for task_id in dict.fromkeys(task_ids):
            row = found.get(task_id)
            if row is None or not can_view_task(principal, dict(row._mapping)):
                items.append(
                    {
                        "task_id": task_id,
                        "found": False,
                        "status": None,
                        "error": f"task {task_id} not found",
                    }
                )
                continue
            counts[row.status] = counts.get(row.status, 0) + 1
            items.append(
                {
                    "task_id": task_id,
                    "found": True,
                    "status": row.status,
                    "batch_id": row.batch_id,
                    "priority": row.priority,
                    "assigned_agent_id": row.assigned_agent_id,
                    "retry_count": row.retry_count,
                    "completed_at": row.completed_at,
                    "last_error": unseal_row(self.tasks.keyring, row, "last_error"),
                }
            )
        return {
            "status": overall_status(counts) if counts else "UNKNOWN",
            "counts": counts,
            **summary(counts),
            "not_found": sum(1 for i in items if not i["found"]),
            "tasks": items,
        }

    # --- cancel ----------------------------------------------------------------------------

    async def cancel(
        self, tx: Tx, principal: Principal, batch_id: str, reason: str | None
    ) -> dict[str, Any]:
        batch = await self._get(tx.conn, principal, batch_id)
        active = await batch_repo.batch_tasks(tx.conn, batch_id, statuses=[s.value for s in ACTIVE])
        s = Settlement(self.clock(), TrustSettings.of(self.settings))
        why = reason or "batch cancelled"
        cancelled = 0
        for row in active:
            if await self.control.cancel_row(tx, s, row, actor=principal.actor, reason=why):
                cancelled += 1
        await s.apply(tx.conn)
        self.control.execution.publish_after_commit(tx, s)
        counts = await batch_repo.status_counts(tx.conn, batch_id)
        return {
            "batch_id": batch_id,
            "client_id": batch.client_id,
            "cancelled": cancelled,
            "status": overall_status(counts),
            "counts": counts,
            **summary(counts),
        }


# --- pure helpers ----------------------------------------------------------------------------


def _refuse_cycles(slots: list[Slot]) -> None:
    """Dependencies inside a batch must form a DAG; a cycle refuses the whole batch (422)."""
    state: dict[int, int] = {}  # 1 = on the current path, 2 = done
    by_index = {s.index: s for s in slots}

    def visit(i: int, path: list[int]) -> None:
        state[i] = 1
        for j in by_index[i].intra:
            if state.get(j) == 1:
                cycle = [*path[path.index(j) :], j] if j in path else [i, j]
                names = " → ".join(f"tasks[{k}]" for k in cycle)
                raise Unprocessable(
                    f"dependency cycle: {names}",
                    errors=[FieldError(f"tasks[{k}].depends_on", "part of a cycle") for k in cycle],
                )
            if state.get(j) is None:
                visit(j, [*path, j])
        state[i] = 2

    for slot in slots:
        if slot.index not in state:
            visit(slot.index, [slot.index])


def _settle_failures(slots: list[Slot], fail_fast: bool) -> None:
    """fail_fast: nothing after the first invalid task is attempted. Then a task depending on a
    batch task that will not be created cannot be created either."""
    if fail_fast:
        first = next((s.index for s in slots if not s.ok), None)
        if first is not None:
            for slot in slots[first + 1 :]:
                slot.errors = [
                    FieldError(
                        f"tasks[{slot.index}]",
                        f"not attempted: fail_fast stopped at tasks[{first}]",
                    )
                ]
    changed = True
    while changed:
        changed = False
        for slot in slots:
            if slot.ok and any(not slots[j].ok for j in slot.intra):
                bad = next(j for j in slot.intra if not slots[j].ok)
                slot.fail(".depends_on", f"depends on tasks[{bad}], which was not created")
                changed = True
    for slot in slots:
        if not slot.ok:
            slot.row = None


def _result(slot: Slot) -> dict[str, Any]:
    if slot.ok and slot.row is not None:
        out = {
            "index": slot.index,
            "ok": True,
            "task_id": slot.task_id,
            "status": slot.row["status"],
        }
        if slot.item is not None and slot.item.ref:
            out["ref"] = slot.item.ref
        return out
    return {
        "index": slot.index,
        "ok": False,
        "error": "; ".join(f"{e.field}: {e.reason}" for e in slot.errors),
        "errors": [{"field": e.field, "reason": e.reason} for e in slot.errors],
    }


def summary(counts: dict[str, int]) -> dict[str, int]:
    total = sum(counts.values())
    done = sum(n for s, n in counts.items() if s in TERMINAL)
    return {
        "total": total,
        "completed": counts.get(TaskStatus.COMPLETED, 0),
        "failed": counts.get(TaskStatus.FAILED, 0) + counts.get(TaskStatus.TIMED_OUT, 0),
        "cancelled": counts.get(TaskStatus.CANCELLED, 0),
        "in_progress": total - done,
        "terminal": done,
    }


def overall_status(counts: dict[str, int]) -> str:
    """PENDING (nothing started) → PROCESSING → COMPLETED (all completed) | CANCELLED (all
    cancelled) | FAILED (none completed) | PARTIALLY_COMPLETED."""
    total = sum(counts.values())
    if total == 0:
        return "EMPTY"
    terminal = sum(n for s, n in counts.items() if s in TERMINAL)
    if terminal < total:
        waiting = counts.get(TaskStatus.PENDING, 0) + counts.get(TaskStatus.BLOCKED, 0)
        return "PENDING" if waiting == total else "PROCESSING"
    completed = counts.get(TaskStatus.COMPLETED, 0)
    if completed == total:
        return "COMPLETED"
    if counts.get(TaskStatus.CANCELLED, 0) == total:
        return "CANCELLED"
    return "FAILED" if completed == 0 else "PARTIALLY_COMPLETED"


def _hash(body: BatchIn, template_id: str | None) -> str:
    data = {"body": body.model_dump(mode="json"), "template_id": template_id}
    return hashlib.sha256(orjson.dumps(data, option=orjson.OPT_SORT_KEYS)).hexdigest()
