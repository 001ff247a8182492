"""Operations that stop or restart a task from outside: cancel, manual retry, timeout change,
and what the deadline loop does when leases, timeouts and retry delays run out."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from ains.agents import repository as agent_repository
from ains.db.engine import Tx
from ains.events.repository import add_events, event
from ains.exceptions import Conflict
from ains.models import tasks
from ains.security.principals import Principal
from ains.tasks import repository as repo
from ains.tasks.execution import HELD_STATES, ExecutionService
from ains.tasks.sealing import seal
from ains.tasks.service import TaskService
from ains.tasks.settlement import Settlement, TrustSettings
from ains.tasks.states import HELD, RETRYABLE, TERMINAL, TaskStatus, guard, still_in
from ains.tasks.views import task_view

T = tasks.c
DUE_BATCH = 500
RETRY_DUE = guard(TaskStatus.PENDING, among=[TaskStatus.RETRY_SCHEDULED])


class TaskControl:
    def __init__(self, tasks_service: TaskService, execution: ExecutionService) -> None:
        self.tasks = tasks_service
        self.execution = execution
        self.clock = execution.clock
        self.settings = execution.settings

    async def cancel(
        self, tx: Tx, principal: Principal, task_id: str, reason: str | None
    ) -> dict[str, Any]:
        row = await self.tasks.changeable(tx.conn, principal, task_id)
        if row.status in TERMINAL:
            raise Conflict(
                f"task {task_id} is already {row.status}", extra={"task_status": row.status}
            )
        s = Settlement(self.clock(), TrustSettings.of(self.settings))
        updated = await self.cancel_row(tx, s, row, actor=principal.actor, reason=reason)
        if updated is None:
            raise Conflict(f"task {task_id} finished while being cancelled")
        await s.apply(tx.conn)
        self.execution.publish_after_commit(tx, s)
        return task_view(updated, self.tasks.keyring)

    async def cancel_row(
        self, tx: Tx, s: Settlement, row: Any, *, actor: str, reason: str | None
    ) -> Any:
        now = s.now
        reason = seal(self.execution.keyring, row.encrypted, row.task_id, reason)
        updated = await repo.update_guarded(
            tx.conn,
            row.task_id,
            statuses=guard(TaskStatus.CANCELLED),
            values={
                "status": TaskStatus.CANCELLED,
                "cancel_requested": True,
                "cancelled_by": actor,
                "cancelled_at": now,
                "cancellation_reason": reason,
                "completed_at": now,
                "lease_expires_at": None,
                "timeout_at": None,
                "next_retry_at": None,
                "updated_at": now,
            },
        )
        if updated is None:
            return None
        if row.status in HELD_STATES:
            s.close_attempt(row, TaskStatus.CANCELLED, outcome="cancelled", error=reason)
            s.wake_agents.add(row.assigned_agent_id)
        s.transition(row, TaskStatus.CANCELLED, "task.cancelled", actor=actor, reason=reason)
        s.doomed_ids.append((row.task_id, "was cancelled"))
        return updated

    async def retry(
        self, tx: Tx, principal: Principal, task_id: str, reason: str | None
    ) -> dict[str, Any]:
        row = await self.tasks.changeable(tx.conn, principal, task_id)
        if row.status not in RETRYABLE:
            raise Conflict(
                f"task {task_id} is {row.status}; only FAILED, CANCELLED or TIMED_OUT tasks can be "
                "retried by hand",
                extra={"task_status": row.status},
            )
        now = self.clock()
        deps = await repo.get_many(tx.conn, row.depends_on)
        waiting = sum(1 for d in deps if d.status != TaskStatus.COMPLETED)
        target = TaskStatus.BLOCKED if waiting else TaskStatus.PENDING
        updated = await repo.update_guarded(
            tx.conn,
            task_id,
            statuses=guard(target, among=[row.status]),
            values={
                "status": target,
                "retry_count": 0,
                "dead_lettered": False,
                "pending_dependencies": waiting,
                "assigned_agent_id": None,
                "completed_at": None,
                "next_retry_at": None,
                "cancel_requested": False,
                # the previous run's cancellation and lease no longer apply to the new run
                "cancelled_by": None,
                "cancelled_at": None,
                "cancellation_reason": None,
                "lease_expires_at": None,
                "timeout_at": None,
                "queued_at": now,
                "queue_key": self.tasks.queue_key(row.priority, now),
                "updated_at": now,
            },
        )
        if updated is None:
            raise Conflict(f"task {task_id} changed while being retried")
        await add_events(
            tx.conn,
            [
                event(
                    "task.retrying",
                    now,
                    task_id=task_id,
                    client_id=row.client_id,
                    batch_id=row.batch_id,
                    from_status=row.status,
                    to_status=target,
                    actor=principal.actor,
                    reason=reason or "manual retry",
                    data={"manual": True},
                )
            ],
        )
        if target == TaskStatus.PENDING:
            tx.on_commit(lambda: self.execution.bus.publish("route", row.capability_required))
        return task_view(updated, self.tasks.keyring)

    async def set_timeout(
        self, tx: Tx, principal: Principal, task_id: str, timeout_seconds: float
    ) -> dict[str, Any]:
        row = await self.tasks.changeable(tx.conn, principal, task_id)
        if row.status in TERMINAL:
            raise Conflict(f"task {task_id} is {row.status}; its timeout can no longer change")
        now = self.clock()
        values: dict[str, Any] = {"timeout_seconds": timeout_seconds, "updated_at": now}
        if row.status in HELD_STATES and row.delivered_at is not None:
            started = row.started_at or row.delivered_at
            values["timeout_at"] = started + timedelta(seconds=timeout_seconds)
            tx.on_commit(
                lambda: self.execution.bus.publish("deadline", values["timeout_at"].isoformat())
            )
        updated = await repo.update_guarded(
            tx.conn, task_id, statuses=still_in(row.status), values=values
        )
        if updated is None:
            raise Conflict(f"task {task_id} changed while its timeout was being set")
        return task_view(updated, self.tasks.keyring)

    # --- deadlines ---------------------------------------------------------------------------

    async def expire_leases(self, tx: Tx, now: datetime) -> int:
        rows = await repo.due(tx.conn, T.lease_expires_at, still_in(*HELD), now, DUE_BATCH)
        s = Settlement(now, TrustSettings.of(self.settings))
        for row in rows:
            await self.release_held(tx, s, row, reason="lease expired")
        await s.apply(tx.conn)
        self.execution.publish_after_commit(tx, s)
        return len(rows)

    async def release_held(self, tx: Tx, s: Settlement, row: Any, *, reason: str) -> None:
        """Take a task back from its agent: a task never picked up goes straight back to the
        queue; one the agent received counts as a failed attempt (re-routed at once)."""
        if row.delivered_at is None:
            updated = await repo.update_guarded(
                tx.conn,
                row.task_id,
                statuses=guard(TaskStatus.PENDING, among=[TaskStatus.ASSIGNED]),
                attempt_id=row.attempt_id,
                values={
                    "status": TaskStatus.PENDING,
                    "assigned_agent_id": None,
                    "lease_expires_at": None,
                    "updated_at": s.now,
                },
            )
            if updated is not None:
                s.close_attempt(
                    row, "EXPIRED", outcome="cancelled", error=f"{reason} before pickup"
                )
                s.transition(
                    row,
                    TaskStatus.PENDING,
                    "task.requeued",
                    actor="system",
                    reason=f"{reason} before pickup",
                )
                s.route_capabilities.add(row.capability_required)
            return
        await self.execution.fail_attempt(
            tx.conn,
            s,
            row,
            error=reason,
            error_type="LeaseExpired",
            retryable=True,
            actor="system",
            outcome="lost",
            attempt_status="LOST",
            final_status=TaskStatus.FAILED,
            immediate=True,
        )

    async def enforce_timeouts(self, tx: Tx, now: datetime) -> int:
        rows = await repo.due(tx.conn, T.timeout_at, still_in(*HELD), now, DUE_BATCH)
        s = Settlement(now, TrustSettings.of(self.settings))
        for row in rows:
            await self.execution.fail_attempt(
                tx.conn,
                s,
                row,
                error=f"timed out after {row.timeout_seconds:g} s",
                error_type="Timeout",
                retryable=True,
                actor="system",
                outcome="timeout",
                attempt_status=TaskStatus.TIMED_OUT,
                final_status=TaskStatus.TIMED_OUT,
            )
            s.wake_agents.add(row.assigned_agent_id)
        await s.apply(tx.conn)
        self.execution.publish_after_commit(tx, s)
        return len(rows)

    async def requeue_retries(self, tx: Tx, now: datetime) -> int:
        rows = await repo.due(tx.conn, T.next_retry_at, RETRY_DUE, now, DUE_BATCH)
        events, capabilities = [], set()
        for row in rows:
            updated = await repo.update_guarded(
                tx.conn,
                row.task_id,
                statuses=RETRY_DUE,
                values={
                    "status": TaskStatus.PENDING,
                    "next_retry_at": None,
                    "assigned_agent_id": None,
                    "queued_at": now,
                    "queue_key": self.tasks.queue_key(row.priority, now),
                    "updated_at": now,
                },
            )
            if updated is None:
                continue
            capabilities.add(row.capability_required)
            events.append(
                event(
                    "task.requeued",
                    now,
                    task_id=row.task_id,
                    client_id=row.client_id,
                    batch_id=row.batch_id,
                    from_status=TaskStatus.RETRY_SCHEDULED,
                    to_status=TaskStatus.PENDING,
                    actor="system",
                    reason=f"retry {row.retry_count} due",
                )
            )
        await add_events(tx.conn, events)
        tx.on_commit(lambda: self.execution.bus.publish_many("route", capabilities))
        return len(rows)

    async def mark_offline_agents(self, tx: Tx, now: datetime) -> int:
        cutoff = now - timedelta(seconds=self.settings.agent_offline_after)
        silent = await agent_repository.silent_since(tx.conn, cutoff)
        if not silent:
            return 0
        # tasks first, then agents: the lock order of every other transaction
        await self.release_agent_tasks(tx, silent, now, reason="agent offline")
        gone = await agent_repository.mark_offline(tx.conn, silent, cutoff, now)
        await add_events(
            tx.conn,
            [
                event("agent.offline", now, agent_id=a, actor="system", reason="missed heartbeats")
                for a in gone
            ],
        )
        return len(silent)

    async def release_agent_tasks(
        self, tx: Tx, agent_ids: list[str], now: datetime, *, reason: str
    ) -> None:
        rows = await repo.lock_held_by_agents(tx.conn, agent_ids)
        s = Settlement(now, TrustSettings.of(self.settings))
        for row in rows:
            await self.release_held(tx, s, row, reason=reason)
        await s.apply(tx.conn)
        self.execution.publish_after_commit(tx, s)

    async def next_deadline(self, tx: Tx) -> datetime | None:
        task_deadline = await repo.next_deadline(tx.conn)
        oldest = await agent_repository.oldest_online_heartbeat(tx.conn)
        found = [d for d in (task_deadline,) if d is not None]
        if oldest is not None:
            found.append(oldest + timedelta(seconds=self.settings.agent_offline_after))
        return min(found) if found else None
