"""The execution side of the lifecycle: routing, delivery, reports, leases, timeouts, retries,
cancellation. Every change is a guarded UPDATE, so a stale or repeated report changes nothing."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from ains.agents import repository as agents_repo
from ains.agents.trust import INITIAL_TRUST, decayed
from ains.clock import Clock, new_id
from ains.config import Settings
from ains.db.engine import Tx
from ains.engine.waiters import RankKey
from ains.events.bus import Bus
from ains.events.repository import add_events, event
from ains.exceptions import AinsError, Conflict, Forbidden, NotFound
from ains.models import tasks
from ains.retries.policy import RetryPolicy, decide
from ains.routing import repository as routing_repo
from ains.routing.policy import Candidate, Seen, assign_many, explain
from ains.security.crypto import KeyRing
from ains.security.principals import Principal, can_view_task
from ains.tasks import repository as repo
from ains.tasks.schemas import ReportIn
from ains.tasks.sealing import seal, unseal_row
from ains.tasks.settlement import Settlement, TrustSettings
from ains.tasks.states import HELD, TaskStatus, guard, still_in
from ains.tasks.views import claimed_view, decrypt_field, task_view

T = tasks.c
HELD_STATES = [s.value for s in HELD]
ROUTE_BATCH = 500
# An agent just back from a claim that handed it tasks still counts as asking for work this
# long: a busy agent with room claims again at once.
ASKING_GRACE = 2.0


@dataclass(frozen=True)
class RoutingPass:
    """One capability's routing in a claim: what `GET /aitp/tasks/{id}/routing` shows."""

    routing_id: str
    capability: str
    tier: str  # preferred | overflow | canary
    candidates: list[dict[str, object]]
    task_ids: list[str]

    def row(self, agent_id: str, now: datetime) -> dict[str, Any]:
        return {
            "routing_id": self.routing_id,
            "capability": self.capability,
            "agent_id": agent_id,
            "tier": self.tier,
            "candidates": self.candidates,
            "created_at": now,
        }


@dataclass(frozen=True)
class Claimed:
    tasks: list[dict[str, Any]]
    capabilities: tuple[str, ...]
    rank: RankKey


class ExecutionService:
    def __init__(self, settings: Settings, clock: Clock, bus: Bus, keyring: KeyRing | None):
        self.settings = settings
        self.clock = clock
        self.bus = bus
        self.keyring = keyring

    def _lease(self, now: datetime) -> datetime:
        return now + timedelta(seconds=self.settings.lease_seconds)

    def publish_after_commit(self, tx: Tx, s: Settlement) -> None:
        """Once `tx` commits: route the capabilities, wake the agents and poke the deadline
        loop that settlement `s` named. Every path that applies a settlement calls this."""

        def publish() -> None:
            for capability in s.route_capabilities:
                self.bus.publish("route", capability)
            for agent_id in s.wake_agents:
                self.bus.publish("agent", agent_id)
            if s.deadline_hints:
                self.bus.publish("deadline", min(s.deadline_hints).isoformat())

        tx.on_commit(publish)

    # --- claiming: routing happens here -------------------------------------------------

    async def claim(self, tx: Tx, agent_id: str, max_tasks: int, asks_until: datetime) -> Claimed:
        """Hand the agent its share of the waiting work, in one transaction.

        The share is what the routing policy would give it among the agents asking for work
        right now (`routing.policy.assign_many`: trust first, the 80% rule, never past
        `max_concurrency`); the others with a share are woken to take theirs. The agent
        asks for work until `asks_until` (the end of its long-poll)."""
        conn, now = tx.conn, self.clock()
        me = await agents_repo.lock_for_claim(conn, agent_id)
        if me is None or me.status == "DEREGISTERED":
            raise NotFound(f"agent {agent_id} not found")
        capabilities = tuple(me.capabilities)
        rank = (-float(me.trust_score), me.in_flight / max(1, me.max_concurrency), agent_id)
        taken: list[Any] = []
        others: set[str] = set()
        passes: list[RoutingPass] = []
        room = min(max_tasks, me.max_concurrency - me.in_flight)
        if me.status == "ACTIVE" and room > 0 and capabilities:
            taken, others, passes = await self._take_share(conn, me, capabilities, room, now)
        lease = self._lease(now)
        attempt_ids = {task_id: new_id("att") for task_id in taken}
        rows = await repo.hand_out(conn, attempt_ids, agent_id, now, lease)
        if rows:
            await routing_repo.add_decisions(conn, [p.row(agent_id, now) for p in passes])
        await agents_repo.record_claim(
            conn,
            agent_id,
            now=now,
            claim_until=now + timedelta(seconds=ASKING_GRACE) if rows else asks_until,
            taken=len(rows),
        )
        if not me.online:
            await add_events(conn, [event("agent.online", now, agent_id=agent_id, actor="system")])
        if others:
            tx.on_commit(lambda: self.bus.publish_many("agent", sorted(others)))
        if not rows:
            return Claimed([], capabilities, rank)
        routed = {t: p.routing_id for p in passes for t in p.task_ids}
        return Claimed(await self._delivered(tx, rows, now, lease, routed), capabilities, rank)

    async def _take_share(
        self,
        conn: AsyncConnection,
        me: Any,
        capabilities: tuple[str, ...],
        room: int,
        now: datetime,
    ) -> tuple[list[str], set[str], list[RoutingPass]]:
        """The task ids this agent takes (locked), the other agents owed a share, and the
        routing passes (one per capability it took tasks of) to record."""
        rows = await agents_repo.claim_candidates(conn, capabilities)
        by_capability: dict[str, list[Any]] = defaultdict(list)
        for r in rows:
            by_capability[r.capability].append(r)
        held = me.in_flight
        taken: list[str] = []
        others: set[str] = set()
        passes: list[RoutingPass] = []
        for capability in capabilities:
            if len(taken) >= room:
                break
            seen = [self._seen(r, me.agent_id, held, now) for r in by_capability[capability]]
            mine = next((s for s in seen if s.candidate.agent_id == me.agent_id), None)
            if mine is None or mine.refused not in (None, "quarantined"):
                continue
            canary = mine.refused == "quarantined"
            eligible = [s.candidate for s in seen if s.refused is None]
            shares: Counter[str] = Counter()
            if canary or len(eligible) > 1:
                total_room = sum(c.max_concurrency - c.in_flight for c in eligible)
                waiting = await repo.count_pending(
                    conn, capability, min(total_room + 1, ROUTE_BATCH)
                )
                shares.update(assign_many(eligible, waiting))
            if canary:  # quarantined for this capability: one task at a time
                busy = await repo.held_of_capability(conn, [me.agent_id], capability)
                share = 0 if busy else 1
            elif len(eligible) > 1:
                share = shares[me.agent_id]
            else:
                share = me.max_concurrency - held
            others.update(a for a in shares if a != me.agent_id)
            share = min(share, room - len(taken))
            if share > 0 and not canary:
                # agents quarantined for the capability and owed a canary: one task each is
                # left for them (they are woken to take it), so they can earn their way back
                due = await self._canaries_due(conn, seen, me.agent_id, capability)
                if due:
                    others.update(due)
                    waiting = await repo.count_pending(conn, capability, share + len(due))
                    share = min(share, waiting - len(due))
            if share <= 0:
                continue
            ids = await repo.take_pending(conn, capability, share)
            if not ids:
                continue
            shares[me.agent_id] = len(ids)
            tier = (
                "canary"
                if canary
                else ("preferred" if mine.candidate.within_soft_limit else "overflow")
            )
            passes.append(
                RoutingPass(
                    new_id("rte"),
                    capability,
                    tier,
                    explain(seen, me.agent_id, dict(shares), canary=canary),
                    ids,
                )
            )
            taken.extend(ids)
            held += len(ids)
        return taken, others, passes

    def _seen(self, r: Any, claimant: str, held: int, now: datetime) -> Seen:
        """One agent offering the capability as routing sees it: its trust for the capability
        (decayed while idle) and load, and the rule that refuses it, if one does."""
        score = (
            INITIAL_TRUST
            if r.trust_score is None
            else decayed(
                r.trust_score, r.trust_updated_at, now, self.settings.trust_decay_half_life_hours
            )
        )
        in_flight = held if r.agent_id == claimant else r.in_flight
        candidate = Candidate(r.agent_id, score, in_flight, r.max_concurrency)
        refused: str | None = None
        if r.status != "ACTIVE":
            refused = "quarantined"  # by an admin, for every capability
        elif r.agent_id != claimant and not (
            r.online
            and r.last_heartbeat_at is not None
            and r.last_heartbeat_at > now - timedelta(seconds=self.settings.agent_offline_after)
        ):
            refused = "offline"
        elif r.agent_id != claimant and not (
            r.claim_until is not None and r.claim_until > now - timedelta(seconds=ASKING_GRACE)
        ):
            refused = "not_asking"
        elif in_flight >= r.max_concurrency:
            refused = "at_capacity"
        elif r.quarantined:
            refused = "quarantined"
        return Seen(
            candidate, refused, canary_ready=refused == "quarantined" and r.status == "ACTIVE"
        )

    @staticmethod
    async def _canaries_due(
        conn: AsyncConnection, seen: list[Seen], claimant: str, capability: str
    ) -> list[str]:
        """Agents quarantined for the capability, otherwise free to work and holding none of
        its tasks: each is owed a canary, so it is woken to claim one."""
        ready = [
            s.candidate.agent_id
            for s in seen
            if s.canary_ready and s.candidate.agent_id != claimant
        ]
        if not ready:
            return []
        busy = await repo.held_of_capability(conn, ready, capability)
        return [a for a in ready if not busy.get(a)]

    async def _delivered(
        self, tx: Tx, rows: list[Any], now: datetime, lease: datetime, routed: dict[str, str]
    ) -> list[dict[str, Any]]:
        """Attempt rows, history and the claim's answer for tasks just handed out."""
        conn = tx.conn
        await repo.insert_attempts(
            conn,
            [
                {
                    "attempt_id": r.attempt_id,
                    "task_id": r.task_id,
                    "agent_id": r.assigned_agent_id,
                    "number": r.attempt_count,
                    "status": TaskStatus.ASSIGNED,
                    "claimed_at": now,
                    "routing_id": routed.get(r.task_id),
                }
                for r in rows
            ],
        )
        await add_events(
            conn,
            [
                event(
                    "task.assigned",
                    now,
                    task_id=r.task_id,
                    client_id=r.client_id,
                    batch_id=r.batch_id,
                    agent_id=r.assigned_agent_id,
                    from_status=TaskStatus.PENDING,
                    to_status=TaskStatus.ASSIGNED,
                    actor="system:router",
                    reason="routed",
                    attempt_id=r.attempt_id,
                    data={
                        "capability_required": r.capability_required,
                        "wait_ms": (now - r.queued_at).total_seconds() * 1000
                        if r.queued_at
                        else None,
                    },
                )
                for r in rows
            ],
        )
        timeouts = [
            {"task_id": r.task_id, "timeout_at": now + timedelta(seconds=r.timeout_seconds)}
            for r in rows
            if r.timeout_seconds
        ]
        await repo.set_timeouts(conn, timeouts)
        timeout_at = {t["task_id"]: t["timeout_at"] for t in timeouts}
        dep_ids = {d for r in rows for d in r.depends_on}
        dep_results = {
            d.task_id: decrypt_field(d, "result_data", "result_encrypted", self.keyring)
            for d in await repo.results_of(conn, dep_ids)
        }
        hints = [lease, *timeout_at.values()]
        tx.on_commit(lambda: self.bus.publish("deadline", min(hints).isoformat()))
        views = []
        for r in rows:
            view = claimed_view(r, self.keyring, {d: dep_results.get(d) for d in r.depends_on})
            view["timeout_at"] = timeout_at.get(r.task_id, r.timeout_at)
            views.append(view)
        return views

    # --- reports ---------------------------------------------------------------------------

    async def _held(self, conn: AsyncConnection, principal: Principal, task_id: str) -> Any:
        row = await repo.get(conn, task_id, for_update=True)
        if row is None:
            raise NotFound(f"task {task_id} not found")
        me = principal.principal_id
        holder = principal.role == "agent" and me == row.assigned_agent_id
        if not (principal.is_admin or holder):
            # a stale report from one of the task's own agents is a conflict; one who may see
            # the task is refused; anyone else must not learn that the task exists
            if principal.role == "agent" and await repo.attempted_by(conn, [task_id], me):
                raise Conflict(f"task {task_id} is not held by agent {me}")
            if can_view_task(principal, dict(row._mapping)):
                raise Forbidden(f"only the agent holding task {task_id} may report on it")
            raise NotFound(f"task {task_id} not found")
        return row

    @staticmethod
    def _stale(row: Any, attempt_id: str) -> Conflict:
        return Conflict(
            f"attempt {attempt_id} is not the current attempt of task {row.task_id} "
            f"(status {row.status})",
            extra={"task_status": row.status, "current_attempt_id": row.attempt_id},
        )

    async def start(
        self, tx: Tx, principal: Principal, task_id: str, attempt_id: str
    ) -> dict[str, Any]:
        row = await self._held(tx.conn, principal, task_id)
        now = self.clock()
        if row.attempt_id == attempt_id and row.status == TaskStatus.RUNNING:
            return task_view(row, self.keyring)
        updated = await repo.update_guarded(
            tx.conn,
            task_id,
            statuses=guard(TaskStatus.RUNNING),
            attempt_id=attempt_id,
            values={
                "status": TaskStatus.RUNNING,
                "started_at": now,
                "delivered_at": repo.delivered_at_or(now),
                "lease_expires_at": self._lease(now),
                "updated_at": now,
            },
        )
        if updated is None:
            raise self._stale(row, attempt_id)
        await repo.start_attempt(tx.conn, attempt_id, now)
        await add_events(
            tx.conn,
            [
                event(
                    "task.started",
                    now,
                    task_id=task_id,
                    client_id=row.client_id,
                    batch_id=row.batch_id,
                    agent_id=row.assigned_agent_id,
                    from_status=row.status,
                    to_status=TaskStatus.RUNNING,
                    actor=principal.actor,
                    attempt_id=attempt_id,
                )
            ],
        )
        return task_view(updated, self.keyring)

    async def progress(
        self, tx: Tx, principal: Principal, task_id: str, attempt_id: str, progress: Any
    ) -> dict[str, Any]:
        row = await self._held(tx.conn, principal, task_id)
        now = self.clock()
        values: dict[str, Any] = {"lease_expires_at": self._lease(now), "updated_at": now}
        if progress is not None:
            values["progress"] = seal(self.keyring, row.encrypted, task_id, progress)
        updated = await repo.update_guarded(
            tx.conn, task_id, statuses=still_in(*HELD), attempt_id=attempt_id, values=values
        )
        if updated is None:
            if row.attempt_id == attempt_id:  # cancelled or timed out under the agent
                return {"lease_expires_at": None, "cancel_requested": True, "status": row.status}
            raise self._stale(row, attempt_id)
        return {
            "lease_expires_at": updated.lease_expires_at,
            "cancel_requested": bool(updated.cancel_requested),
            "status": updated.status,
        }

    async def report(self, tx: Tx, principal: Principal, report: ReportIn) -> dict[str, Any]:
        s = Settlement(self.clock(), TrustSettings.of(self.settings))
        row = await self._held(tx.conn, principal, report.task_id)
        updated = await self._settle_report(tx.conn, s, principal, row, report)
        await s.apply(tx.conn)
        self.publish_after_commit(tx, s)
        return task_view(updated, self.keyring)

    async def reports(
        self, tx: Tx, principal: Principal, agent_id: str, reports: list[ReportIn]
    ) -> list[dict[str, Any]]:
        """Many reports in one transaction, answered per item."""
        s = Settlement(self.clock(), TrustSettings.of(self.settings))
        ids = [r.task_id for r in reports]
        rows: dict[str, Any] = {
            r.task_id: r
            for r in await repo.get_many(tx.conn, ids, for_update=True, columns=repo.SETTLE_COLUMNS)
        }
        elsewhere = [t for t, r in rows.items() if r.assigned_agent_id != agent_id]
        earlier = await repo.attempted_by(tx.conn, elsewhere, agent_id)
        results: list[dict[str, Any]] = []
        completions: list[dict[str, Any]] = []
        for report in reports:
            row = rows.get(report.task_id)
            try:
                if row is None or (
                    row.assigned_agent_id != agent_id and report.task_id not in earlier
                ):
                    raise NotFound(f"task {report.task_id} not found for agent {agent_id}")
                if row.assigned_agent_id != agent_id:
                    raise Conflict(f"task {report.task_id} is not held by agent {agent_id}")
                if report.outcome == "complete":
                    updated = await self._complete(
                        tx.conn, s, principal, row, report, deferred=completions
                    )
                else:
                    updated = await self._fail(tx.conn, s, principal, row, report)
                rows[report.task_id] = updated
                results.append({"task_id": report.task_id, "ok": True, "status": updated.status})
            except AinsError as exc:
                results.append(
                    {
                        "task_id": report.task_id,
                        "ok": False,
                        "error": {
                            "status": exc.status_code,
                            "title": exc.title,
                            "detail": exc.detail,
                        },
                    }
                )
        await repo.complete_many(tx.conn, completions, guard(TaskStatus.COMPLETED))
        await s.apply(tx.conn)
        self.publish_after_commit(tx, s)
        return results

    async def _settle_report(
        self, conn: AsyncConnection, s: Settlement, principal: Principal, row: Any, report: ReportIn
    ) -> Any:
        if report.outcome == "complete":
            return await self._complete(conn, s, principal, row, report)
        return await self._fail(conn, s, principal, row, report)

    async def _complete(
        self,
        conn: AsyncConnection,
        s: Settlement,
        principal: Principal,
        row: Any,
        r: ReportIn,
        deferred: list[dict[str, Any]] | None = None,
    ) -> Any:
        """Complete the attempt. With `deferred` (rows already locked by the caller), the
        UPDATE is queued there to be written for the whole batch in one statement."""
        now = s.now
        if row.attempt_id == r.attempt_id and row.status == TaskStatus.COMPLETED:
            return row  # an exact repeat: one result, no error
        started = row.started_at or row.delivered_at or row.assigned_at or now
        values: dict[str, Any] = {
            "status": TaskStatus.COMPLETED,
            "result_data": r.result_data,
            "cost": r.cost,
            "quality_score": r.quality_score,
            "completed_at": now,
            "started_at": started,
            "execution_ms": max(0.0, (now - started).total_seconds() * 1000),
            "lease_expires_at": None,
            "timeout_at": None,
            "progress": row.progress,
            "updated_at": now,
        }
        if row.encrypted:
            if self.keyring is None:
                raise Conflict("this task is encrypted but the server has no encryption keys")
            values["result_encrypted"] = self.keyring.encrypt_json(
                r.result_data, row.task_id.encode()
            )
            values["result_data"] = None
        updated: Any
        if deferred is not None:
            if row.attempt_id != r.attempt_id or row.status not in HELD_STATES:
                raise self._stale(row, r.attempt_id)
            deferred.append({"task_id": row.task_id, "attempt_id": r.attempt_id, **values})
            updated = SimpleNamespace(**{**row._asdict(), **values})
        else:
            updated = await repo.update_guarded(
                conn,
                row.task_id,
                statuses=guard(TaskStatus.COMPLETED),
                attempt_id=r.attempt_id,
                values=values,
            )
        if updated is None:
            raise self._stale(row, r.attempt_id)
        s.close_attempt(row, TaskStatus.COMPLETED, outcome="success", quality=r.quality_score)
        s.transition(
            row,
            TaskStatus.COMPLETED,
            "task.completed",
            actor=principal.actor,
            data={"execution_ms": values["execution_ms"]},
        )
        s.completed_ids.append(row.task_id)
        return updated

    async def _fail(
        self, conn: AsyncConnection, s: Settlement, principal: Principal, row: Any, r: ReportIn
    ) -> Any:
        if row.attempt_id == r.attempt_id and row.status not in HELD_STATES:
            attempt_over = row.status in (TaskStatus.RETRY_SCHEDULED, TaskStatus.FAILED)
            last_error = unseal_row(self.keyring, row, "last_error")
            if attempt_over and last_error == (r.error or "failed"):
                return row  # an exact repeat of the failure report
        if row.attempt_id != r.attempt_id or row.status not in HELD_STATES:
            raise self._stale(row, r.attempt_id)
        updated = await self.fail_attempt(
            conn,
            s,
            row,
            error=r.error or "failed",
            error_type=r.error_type,
            retryable=r.retryable,
            actor=principal.actor,
            outcome="failure" if r.retryable else "permanent",
            attempt_status=TaskStatus.FAILED,
            final_status=TaskStatus.FAILED,
        )
        if updated is None:
            raise self._stale(row, r.attempt_id)
        return updated

    async def fail_attempt(
        self,
        conn: AsyncConnection,
        s: Settlement,
        row: Any,
        *,
        error: str,
        error_type: str | None,
        retryable: bool,
        actor: str,
        outcome: str,
        attempt_status: str,
        final_status: TaskStatus,
        immediate: bool = False,
    ) -> Any:
        """End the current attempt unsuccessfully: schedule a retry, or fail for good (DLQ)."""
        now = s.now
        error = seal(self.keyring, row.encrypted, row.task_id, error)
        policy = RetryPolicy.model_validate(row.retry_policy)
        decision = decide(policy, row.retry_count, retryable, now)
        common = {
            "last_error": error,
            "error_type": error_type,
            "lease_expires_at": None,
            "timeout_at": None,
            "updated_at": now,
        }
        if decision is not None and immediate:
            values = {
                **common,
                "status": TaskStatus.PENDING,
                "retry_count": decision.attempt,
                "queued_at": now,
                "assigned_agent_id": None,
            }
            target, event_type = TaskStatus.PENDING, "task.retrying"
        elif decision is not None:
            values = {
                **common,
                "status": TaskStatus.RETRY_SCHEDULED,
                "retry_count": decision.attempt,
                "next_retry_at": decision.retry_at,
            }
            target, event_type = TaskStatus.RETRY_SCHEDULED, "task.retrying"
            s.deadline_hints.append(decision.retry_at)
        else:
            values = {**common, "status": final_status, "dead_lettered": True, "completed_at": now}
            target = final_status
            event_type = "task.timed_out" if final_status == TaskStatus.TIMED_OUT else "task.failed"
        updated = await repo.update_guarded(
            conn,
            row.task_id,
            statuses=guard(target, among=HELD),
            attempt_id=row.attempt_id,
            values=values,
        )
        if updated is None:
            return None
        s.close_attempt(row, attempt_status, outcome=outcome, error=error, error_type=error_type)
        data = {"error": error, "error_type": error_type, "retry_count": updated.retry_count}
        if decision is not None:
            data["next_retry_at"] = decision.retry_at.isoformat()
            if attempt_status == TaskStatus.TIMED_OUT:
                s.transition(row, target, "task.timed_out", actor=actor, reason=error, data=data)
        s.transition(row, target, event_type, actor=actor, reason=error, data=data)
        if decision is None:
            s.transition(row, target, "task.dead_lettered", actor=actor, reason=error, data=data)
            s.doomed_ids.append((row.task_id, "failed"))
        if target == TaskStatus.PENDING:
            s.route_capabilities.add(row.capability_required)
        return updated
