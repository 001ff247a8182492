"""Schedule operations (create, read, change, run now) and the firing step the engine calls.

Firing is exactly once per due time: the engine pass locks the due schedule rows (``FOR UPDATE
SKIP LOCKED`` on PostgreSQL), and the execution row's unique key (schedule_id, due_at, trigger)
is inserted before its task, in the same transaction, so a due time another replica already
fired inserts nothing. Executions follow their task: status, result, error and duration are read
from the task when an execution is read, and ``failed_runs`` is counted from the tasks.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from ains.clock import Clock, new_id
from ains.config import Settings
from ains.db.engine import Tx
from ains.events.bus import Bus
from ains.events.repository import add_events, event
from ains.exceptions import Conflict, FieldError, NotFound, Unprocessable
from ains.json_output import utc_text
from ains.pagination import (
    decode_cursor,
    decode_time_cursor,
    encode_cursor,
    encode_time_cursor,
)
from ains.schedules import repository as repo
from ains.schedules.cron import CronError, validate_cron, validate_timezone
from ains.schedules.schemas import ScheduleIn, ScheduleUpdate, dump, task_options
from ains.schedules.timing import Timing, decide
from ains.security.principals import Principal, acting_client_id
from ains.tasks import repository as task_repo
from ains.tasks.schemas import TaskIn
from ains.tasks.service import TaskService
from ains.tasks.states import TERMINAL, TaskStatus
from ains.tasks.views import task_view
from ains.templates import repository as template_repo

log = logging.getLogger(__name__)
DUE_BATCH = 200
TIMING_FIELDS = ("cron_expression", "interval_seconds", "run_at")
# what an execution reports while its task is not finished
RUN_STATUS = {
    TaskStatus.BLOCKED: "PENDING",
    TaskStatus.PENDING: "PENDING",
    TaskStatus.RETRY_SCHEDULED: "PENDING",
    TaskStatus.ASSIGNED: "RUNNING",
    TaskStatus.RUNNING: "RUNNING",
}
TEMPLATE_FIELDS = (
    "task_type",
    "capability_required",
    "input_data",
    "priority",
    "retry_policy",
    "max_retries",
    "timeout_seconds",
)


class ScheduleService:
    def __init__(self, settings: Settings, clock: Clock, bus: Bus, tasks: TaskService) -> None:
        self.settings = settings
        self.clock = clock
        self.bus = bus
        self.tasks = tasks
        self.grace = timedelta(seconds=settings.schedule_misfire_grace_seconds)

    # --- create and change ----------------------------------------------------------------

    async def create(self, tx: Tx, principal: Principal, body: ScheduleIn) -> dict[str, Any]:
        now = self.clock()
        fields = dump(body)
        if body.template_id is not None:
            defaults = await repo.template_defaults(
                tx.conn, body.template_id, template_repo.viewer(principal)
            )
            if defaults is None:
                raise Unprocessable.field("template_id", f"unknown template {body.template_id}")
            for key in TEMPLATE_FIELDS:
                if fields.get(key) is None and defaults.get(key) is not None:
                    fields[key] = defaults[key]
        for key in ("task_type", "capability_required"):
            if not fields.get(key):
                raise Unprocessable.field(key, "required (in the body or the template)")
        schedule_id = body.schedule_id or new_id("sched")
        if await repo.get(tx.conn, schedule_id) is not None:
            raise Conflict(f"schedule_id: a schedule {schedule_id} already exists")
        timing = _timing(fields, now)
        options = task_options(fields)
        if timing.interval_seconds is not None:
            options["interval_seconds"] = timing.interval_seconds
        if principal.team:
            options["team"] = principal.team
        row: dict[str, Any] = {
            "schedule_id": schedule_id,
            "client_id": acting_client_id(principal, body.client_id, "schedule"),
            "task_type": fields["task_type"],
            "capability_required": fields["capability_required"],
            "input_data": fields.get("input_data") or {},
            "priority": fields.get("priority") or 5,
            "task_options": options,
            "cron_expression": timing.cron_expression,
            "run_at": timing.run_at,
            "timezone": timing.timezone,
            "template_id": body.template_id,
            "status": "ACTIVE",
            "next_run_at": timing.next_after(now),
            "last_run_at": None,
            "total_runs": 0,
            "failed_runs": 0,
            "description": body.description,
            "missed_run_policy": body.missed_run_policy or "skip",
            "overlap_policy": body.overlap_policy or "allow",
            "created_by": principal.actor,
            "created_at": now,
            "updated_at": now,
        }
        await repo.insert(tx.conn, row)
        self._poke(tx, row["next_run_at"])
        return schedule_view(row, 0)

    async def update(
        self, tx: Tx, principal: Principal, schedule_id: str, body: ScheduleUpdate
    ) -> dict[str, Any]:
        row = await self._changeable(tx.conn, principal, schedule_id)
        now = self.clock()
        sent = dump(body)
        values: dict[str, Any] = {"updated_at": now}
        for key in ("task_type", "capability_required", "input_data", "priority"):
            if sent.get(key) is not None:
                values[key] = sent[key]
        for key in ("description", "missed_run_policy", "overlap_policy"):
            if key in sent:
                values[key] = sent[key]
        options = dict(row.task_options or {}) | task_options(sent)
        if any(k in sent for k in (*TIMING_FIELDS, "timezone")):
            current = {"timezone": row.timezone} | (
                {k: sent.get(k) for k in TIMING_FIELDS}
                if any(k in sent for k in TIMING_FIELDS)
                else _timing_fields(row)
            )
            timing = _timing(current | {k: sent[k] for k in ("timezone",) if k in sent}, now)
            options.pop("interval_seconds", None)
            if timing.interval_seconds is not None:
                options["interval_seconds"] = timing.interval_seconds
            values.update(
                cron_expression=timing.cron_expression,
                run_at=timing.run_at,
                timezone=timing.timezone,
            )
            if row.status != "PAUSED":
                values.update(status="ACTIVE", next_run_at=timing.next_after(now))
        values["task_options"] = options
        await repo.update(tx.conn, schedule_id, values)
        self._poke(tx, values.get("next_run_at"))
        return await self._view(tx.conn, schedule_id)

    async def delete(self, tx: Tx, principal: Principal, schedule_id: str) -> None:
        await self._changeable(tx.conn, principal, schedule_id)
        await repo.delete(tx.conn, schedule_id)

    async def pause(self, tx: Tx, principal: Principal, schedule_id: str) -> dict[str, Any]:
        row = await self._changeable(tx.conn, principal, schedule_id)
        if row.status == "COMPLETED":
            raise Conflict(f"schedule {schedule_id} is COMPLETED; there is nothing to pause")
        values = {"status": "PAUSED", "next_run_at": None, "updated_at": self.clock()}
        await repo.update(tx.conn, schedule_id, values)
        return await self._view(tx.conn, schedule_id)

    async def resume(self, tx: Tx, principal: Principal, schedule_id: str) -> dict[str, Any]:
        """Runs that fell due while paused are not missed runs: the next run is the first due
        time after now (a one-time schedule whose time has passed completes unrun)."""
        row = await self._changeable(tx.conn, principal, schedule_id)
        if row.status == "COMPLETED":
            raise Conflict(f"schedule {schedule_id} is COMPLETED; it cannot be resumed")
        now = self.clock()
        upcoming = _timing_of(row).next_after(now)
        values = {
            "status": "ACTIVE" if upcoming else "COMPLETED",
            "next_run_at": upcoming,
            "updated_at": now,
        }
        await repo.update(tx.conn, schedule_id, values)
        self._poke(tx, upcoming)
        return await self._view(tx.conn, schedule_id)

    async def execute_now(self, tx: Tx, principal: Principal, schedule_id: str) -> dict[str, Any]:
        """Run now, whatever the status and overlap policy; the timing is unchanged."""
        row = await self._changeable(tx.conn, principal, schedule_id, lock=True)
        now = self.clock()
        execution = await self._fire(tx, row, now, "manual", now, check_overlap=False)
        if execution is None:  # same microsecond as another manual run
            raise Conflict(f"schedule {schedule_id} was run at this instant already")
        await repo.record_run(tx.conn, schedule_id, now, {})
        return execution

    # --- read -----------------------------------------------------------------------------

    async def get(
        self, conn: AsyncConnection, principal: Principal, schedule_id: str
    ) -> dict[str, Any]:
        await self._visible(conn, principal, schedule_id)
        return await self._view(conn, schedule_id)

    async def list(
        self,
        conn: AsyncConnection,
        principal: Principal,
        *,
        status: str | None,
        client_id: str | None,
        cursor: str | None,
        limit: int,
    ) -> dict[str, Any]:
        where = []
        if not principal.is_admin:
            where.append(repo.S.client_id == principal.principal_id)
        if client_id:
            where.append(repo.S.client_id == client_id)
        if status:
            statuses = [s.strip().upper() for s in status.split(",")]
            unknown = [s for s in statuses if s not in ("ACTIVE", "PAUSED", "COMPLETED")]
            if unknown:
                raise Unprocessable.field("status", f"unknown status {unknown[0]}")
            where.append(repo.S.status.in_(statuses))
        after = decode_cursor("s", cursor) if cursor else None
        rows = await repo.list_page(conn, where=where, after_id=after, limit=limit + 1)
        page = rows[:limit]
        failed = await repo.failed_runs(conn, [r.schedule_id for r in page])
        items = [schedule_view(r._mapping, failed.get(r.schedule_id, 0)) for r in page]
        next_cursor = encode_cursor("s", page[-1].schedule_id) if len(rows) > limit else None
        return {"items": items, "next_cursor": next_cursor}

    async def executions(
        self,
        conn: AsyncConnection,
        principal: Principal,
        schedule_id: str,
        *,
        cursor: str | None,
        limit: int,
    ) -> dict[str, Any]:
        await self._visible(conn, principal, schedule_id)
        before = decode_time_cursor("x", cursor) if cursor else None
        rows = await repo.executions_page(conn, schedule_id, before=before, limit=limit + 1)
        page = rows[:limit]
        found = await repo.tasks_by_id(conn, [r.task_id for r in page if r.task_id])
        items = [self._execution_view(r, found.get(r.task_id or "")) for r in page]
        next_cursor = None
        if len(rows) > limit:
            last = page[-1]
            next_cursor = encode_time_cursor("x", last.executed_at, last.execution_id)
        return {"schedule_id": schedule_id, "items": items, "next_cursor": next_cursor}

    async def preview(
        self, conn: AsyncConnection, principal: Principal, schedule_id: str, count: int
    ) -> dict[str, Any]:
        row = await self._visible(conn, principal, schedule_id)
        now = self.clock()
        after = row.next_run_at - timedelta(microseconds=1) if row.next_run_at else now
        runs = _timing_of(row).next_times(after, count) if row.status == "ACTIVE" else []
        return {"schedule_id": schedule_id, "status": row.status, "next_runs": runs}

    def preview_timing(self, fields: dict[str, Any], count: int) -> dict[str, Any]:
        now = self.clock()
        timing = _timing(fields, now)
        return {
            "cron_expression": timing.cron_expression,
            "interval_seconds": timing.interval_seconds,
            "run_at": timing.run_at,
            "timezone": timing.timezone,
            "next_runs": timing.next_times(now, count),
        }

    # --- the engine pass ------------------------------------------------------------------

    async def fire_due(self, tx: Tx, _now: datetime) -> int:
        """Fire every due schedule (one engine pass); returns how many schedules it handled."""
        rows = await repo.due(tx.conn, self.clock(), DUE_BATCH)
        for row in rows:
            await self._advance(tx, row)
        return len(rows)

    async def next_due(self, tx: Tx) -> datetime | None:
        return await repo.next_due(tx.conn)

    async def _advance(self, tx: Tx, row: Row[Any]) -> None:
        now = self.clock()
        decision = decide(_timing_of(row), row.next_run_at, now, self.grace, row.missed_run_policy)
        values: dict[str, Any] = {"next_run_at": decision.next_run_at, "updated_at": now}
        if decision.next_run_at is None:
            values["status"] = "COMPLETED"
        if decision.missed:
            log.info("schedule %s: %d missed run(s) dropped", row.schedule_id, decision.missed)
            await add_events(
                tx.conn,
                [
                    event(
                        "schedule.missed",
                        now,
                        schedule_id=row.schedule_id,
                        client_id=row.client_id,
                        actor="scheduler",
                        reason=f"missed_run_policy={row.missed_run_policy}",
                        data={"missed": decision.missed, "first_due_at": row.next_run_at},
                    )
                ],
            )
        fired = None
        if decision.fire_at is not None:
            trigger = (
                "catchup" if decision.missed or decision.fire_at != row.next_run_at else "schedule"
            )
            fired = await self._fire(tx, row, decision.fire_at, trigger, now, check_overlap=True)
        if fired is not None and fired["task_id"] is not None:
            await repo.record_run(tx.conn, row.schedule_id, now, values)
        else:
            await repo.update(tx.conn, row.schedule_id, values)

    async def _fire(
        self,
        tx: Tx,
        row: Row[Any],
        due_at: datetime,
        trigger: str,
        now: datetime,
        *,
        check_overlap: bool,
    ) -> dict[str, Any] | None:
        """Insert the execution and its task; None when this due time was already fired."""
        execution: dict[str, Any] = {
            "execution_id": new_id("exec"),
            "schedule_id": row.schedule_id,
            "task_id": new_id("task"),
            "due_at": due_at,
            "executed_at": now,
            "trigger": trigger,
            "status": "PENDING",
            "result_data": None,
            "error_message": None,
            "duration_seconds": None,
            "created_at": now,
        }
        if check_overlap and row.overlap_policy == "skip":
            running = await repo.last_task_status(tx.conn, row.schedule_id)
            if running is not None and running not in TERMINAL:
                execution.update(
                    task_id=None,
                    status="SKIPPED",
                    error_message=f"overlap_policy=skip: the previous run is still {running}",
                )
        if not await repo.insert_execution(tx.conn, execution):
            return None
        events = [self._fired_event(row, execution)]
        if execution["task_id"] is not None:
            task = self._task_row(row, execution["task_id"], now, trigger)
            await task_repo.insert_tasks(tx.conn, [task])
            events.insert(0, self.tasks.created_event(task, _owner(row), f"schedule {trigger}"))
            capability = str(row.capability_required)
            tx.on_commit(lambda: self.bus.publish("route", capability))
        await add_events(tx.conn, events)
        return _execution_fields(execution)

    def _task_row(self, row: Row[Any], task_id: str, now: datetime, trigger: str) -> dict[str, Any]:
        options = {k: v for k, v in (row.task_options or {}).items() if k in TaskIn.model_fields}
        metadata = dict(options.pop("metadata", None) or {})
        metadata.setdefault("schedule_trigger", trigger)
        item = TaskIn.model_validate(
            {
                "task_type": row.task_type,
                "capability_required": row.capability_required,
                "input_data": row.input_data,
                "priority": row.priority,
                "metadata": metadata,
                **options,
            }
        )
        return self.tasks.build_row(
            _owner(row),
            item,
            now,
            task_id=task_id,
            client_id=row.client_id,
            schedule_id=row.schedule_id,
            template_id=row.template_id,
        )

    def _fired_event(self, row: Row[Any], execution: dict[str, Any]) -> dict[str, Any]:
        skipped = execution["status"] == "SKIPPED"
        return event(
            "schedule.skipped" if skipped else "schedule.fired",
            execution["executed_at"],
            schedule_id=row.schedule_id,
            task_id=execution["task_id"],
            client_id=row.client_id,
            actor="scheduler",
            reason=execution["error_message"],
            data={
                "execution_id": execution["execution_id"],
                "due_at": utc_text(execution["due_at"]),
                "trigger": execution["trigger"],
            },
        )

    # --- helpers --------------------------------------------------------------------------

    def _poke(self, tx: Tx, at: datetime | None) -> None:
        if at is not None:
            when = at.isoformat()
            tx.on_commit(lambda: self.bus.publish("deadline", when))

    async def _visible(
        self, conn: AsyncConnection, principal: Principal, schedule_id: str, lock: bool = False
    ) -> Row[Any]:
        row = await repo.get(conn, schedule_id, for_update=lock)
        if row is None or not (principal.is_admin or principal.principal_id == row.client_id):
            raise NotFound(f"schedule {schedule_id} not found")
        return row

    async def _changeable(
        self, conn: AsyncConnection, principal: Principal, schedule_id: str, lock: bool = False
    ) -> Row[Any]:
        return await self._visible(conn, principal, schedule_id, lock=lock)

    async def _view(self, conn: AsyncConnection, schedule_id: str) -> dict[str, Any]:
        row = await repo.get(conn, schedule_id)
        if row is None:
            raise NotFound(f"schedule {schedule_id} not found")
        failed = await repo.failed_runs(conn, [schedule_id])
        return schedule_view(row._mapping, failed.get(schedule_id, 0))

    def _execution_view(self, ex: Row[Any], task: Row[Any] | None) -> dict[str, Any]:
        view = _execution_fields(dict(ex._mapping))
        if task is None:
            return view
        t = task_view(task, self.tasks.keyring)
        status = TaskStatus(t["status"])
        view["status"] = RUN_STATUS.get(status, status.value)
        view["task_status"] = status.value
        view["result_data"] = t["result_data"]
        view["error_message"] = t["last_error"]
        if t["started_at"] and t["completed_at"]:
            view["duration_seconds"] = (t["completed_at"] - t["started_at"]).total_seconds()
        elif t["execution_ms"] is not None:
            view["duration_seconds"] = t["execution_ms"] / 1000
        return view


# --- pure helpers ----------------------------------------------------------------------------


def schedule_view(m: Any, failed_runs: int) -> dict[str, Any]:
    options = dict(m["task_options"] or {})
    return {
        "schedule_id": m["schedule_id"],
        "client_id": m["client_id"],
        "task_type": m["task_type"],
        "capability_required": m["capability_required"],
        "input_data": m["input_data"],
        "priority": m["priority"],
        "cron_expression": m["cron_expression"],
        "interval_seconds": options.pop("interval_seconds", None),
        "run_at": m["run_at"],
        "timezone": m["timezone"],
        "template_id": m["template_id"],
        "status": m["status"],
        "next_run_at": m["next_run_at"],
        "last_run_at": m["last_run_at"],
        "total_runs": m["total_runs"],
        "failed_runs": failed_runs,
        "description": m["description"],
        "missed_run_policy": m["missed_run_policy"],
        "overlap_policy": m["overlap_policy"],
        "task_options": {k: v for k, v in options.items() if k != "team"},
        "created_by": m["created_by"],
        "created_at": m["created_at"],
        "updated_at": m["updated_at"],
    }


def _execution_fields(m: dict[str, Any]) -> dict[str, Any]:
    keys = (
        "execution_id",
        "schedule_id",
        "task_id",
        "due_at",
        "executed_at",
        "trigger",
        "status",
        "result_data",
        "error_message",
        "duration_seconds",
    )
    view = {k: m[k] for k in keys}
    view["task_status"] = None
    return view


def _owner(row: Row[Any]) -> Principal:
    return Principal("client", row.client_id, team=(row.task_options or {}).get("team"))


def _timing_fields(row: Row[Any]) -> dict[str, Any]:
    return {
        "cron_expression": row.cron_expression,
        "interval_seconds": (row.task_options or {}).get("interval_seconds"),
        "run_at": row.run_at,
    }


def _timing_of(row: Row[Any]) -> Timing:
    f = _timing_fields(row)
    return Timing(f["cron_expression"], row.timezone, f["interval_seconds"], f["run_at"])


def _timing(fields: dict[str, Any], now: datetime) -> Timing:
    """Validate the timing fields of a request (422 naming the field that is wrong)."""
    given = [k for k in TIMING_FIELDS if fields.get(k) is not None]
    if len(given) != 1:
        reason = "give exactly one of cron_expression, interval_seconds, run_at"
        raise Unprocessable(
            f"{given[1] if given else 'cron_expression'}: {reason}",
            errors=[FieldError(k, reason) for k in (given or ["cron_expression"])],
        )
    tz = fields.get("timezone") or "UTC"
    try:
        validate_timezone(tz)
    except CronError as exc:
        raise Unprocessable.field("timezone", str(exc)) from exc
    cron = fields.get("cron_expression")
    if cron is not None:
        try:
            validate_cron(cron)
        except CronError as exc:
            raise Unprocessable.field("cron_expression", str(exc)) from exc
        return Timing(cron_expression=" ".join(cron.split()), timezone=tz)
    run_at = fields.get("run_at")
    if run_at is not None:
        if isinstance(run_at, str):
            run_at = datetime.fromisoformat(run_at)
        if run_at.tzinfo is None:
            raise Unprocessable.field("run_at", "must include a timezone")
        if run_at <= now:
            raise Unprocessable.field("run_at", f"must be in the future (now is {now.isoformat()})")
        return Timing(timezone=tz, run_at=run_at)
    return Timing(timezone=tz, interval_seconds=int(fields["interval_seconds"]))
