"""Everything a batch of finished attempts changes besides the task rows themselves:
attempt rows, events, agent load and trust, dependants. Collected first, written together."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from ains.agents import repository as agent_repository
from ains.agents import trust
from ains.batches.repository import mark_completed
from ains.config import Settings
from ains.events.repository import add_events, event
from ains.tasks import repository as repo
from ains.tasks.states import TERMINAL, TaskStatus, guard


@dataclass
class AgentEffect:
    released: int = 0
    completed: int = 0
    failed: int = 0
    # (task_id, kind, quality) in order; kind = success | failure | permanent | timeout | lost
    outcomes: list[tuple[str, str, float | None]] = field(default_factory=list)
    # the same outcomes per capability of the tasks
    by_capability: dict[str, list[tuple[str, str, float | None]]] = field(
        default_factory=lambda: defaultdict(list)
    )


@dataclass
class Settlement:
    now: datetime
    # how trust per (agent, capability) decays and quarantines (the server's settings)
    trust: TrustSettings = field(default_factory=lambda: TrustSettings())
    events: list[dict[str, Any]] = field(default_factory=list)
    attempts: list[dict[str, Any]] = field(default_factory=list)
    agents: dict[str, AgentEffect] = field(default_factory=lambda: defaultdict(AgentEffect))
    completed_ids: list[str] = field(default_factory=list)
    doomed_ids: list[tuple[str, str]] = field(default_factory=list)  # (task_id, reason)
    route_capabilities: set[str] = field(default_factory=set)
    wake_agents: set[str] = field(default_factory=set)
    deadline_hints: list[datetime] = field(default_factory=list)

    def close_attempt(
        self,
        row: Any,
        status: str,
        *,
        outcome: str,
        quality: float | None = None,
        error: str | None = None,
        error_type: str | None = None,
    ) -> None:
        """Record the end of the row's current attempt and its effect on the agent."""
        self.attempts.append(
            {
                "attempt_id": row.attempt_id,
                "status": status,
                "finished_at": self.now,
                "error": error,
                "error_type": error_type,
            }
        )
        effect = self.agents[row.assigned_agent_id]
        effect.released += 1
        if outcome == "success":
            effect.completed += 1
        elif outcome != "cancelled":
            effect.failed += 1
        if outcome != "cancelled":
            effect.outcomes.append((row.task_id, outcome, quality))
            effect.by_capability[row.capability_required].append((row.task_id, outcome, quality))

    def transition(
        self,
        row: Any,
        to_status: str,
        event_type: str,
        *,
        actor: str,
        reason: str | None = None,
        data: dict[str, Any] | None = None,
    ) -> None:
        self.events.append(
            event(
                event_type,
                self.now,
                task_id=row.task_id,
                client_id=row.client_id,
                batch_id=row.batch_id,
                agent_id=row.assigned_agent_id,
                from_status=row.status,
                to_status=to_status,
                actor=actor,
                reason=reason,
                attempt_id=row.attempt_id,
                data={"capability_required": row.capability_required, **(data or {})},
            )
        )

    async def apply(self, conn: AsyncConnection) -> None:
        await repo.finish_attempts(conn, self.attempts)
        await self._apply_agents(conn)
        if self.completed_ids:
            await self._release_dependants(conn)
        if self.doomed_ids:
            await self._cascade_cancel(conn)
        await self._complete_batches(conn)
        await add_events(conn, self.events)

    async def _complete_batches(self, conn: AsyncConnection) -> None:
        """`batch.completed`, once, when the last task of a batch reaches a terminal state."""
        touched = {
            e["batch_id"] for e in self.events if e["batch_id"] and e["to_status"] in TERMINAL
        }
        for batch in await mark_completed(conn, touched, self.now):
            self.events.append(
                event(
                    "batch.completed",
                    self.now,
                    batch_id=batch.batch_id,
                    client_id=batch.client_id,
                    actor="system",
                    reason=f"all {batch.total_tasks} tasks finished",
                    data={"status": batch.status, "total_tasks": batch.total_tasks},
                )
            )

    async def _apply_agents(self, conn: AsyncConnection) -> None:
        if not self.agents:
            return
        records: list[dict[str, Any]] = []
        for agent in await agent_repository.lock_for_settlement(conn, self.agents):
            effect = self.agents[agent.agent_id]
            score = agent.trust_score
            changes = []
            for _task_id, kind, quality in effect.outcomes:
                change = trust.after_outcome(score, kind, quality)
                score = change.score_after
                changes.append(change)
            if changes:
                records.append(
                    _trust_record(agent.agent_id, effect.outcomes, changes, score, self.now)
                )
            await agent_repository.settle(
                conn,
                agent.agent_id,
                released=effect.released,
                completed=effect.completed,
                failed=effect.failed,
                trust_score=score,
                now=self.now,
            )
            self.route_capabilities.update(agent.capabilities)
        records.extend(await self._apply_capabilities(conn))
        await agent_repository.add_trust_records(conn, records)

    async def _apply_capabilities(self, conn: AsyncConnection) -> list[dict[str, Any]]:
        """Trust per (agent, capability): each pair's stored score decayed to now, moved by
        its outcomes, quarantined or released; its rows and trust records. The agents' rows
        are locked already (`lock_for_settlement`), which serialises settlements per agent."""
        stored = {
            (r.agent_id, r.capability): r
            for r in await agent_repository.capability_trust_of(conn, self.agents)
        }
        rows: list[dict[str, Any]] = []
        records: list[dict[str, Any]] = []
        for agent_id, effect in self.agents.items():
            for capability, outcomes in effect.by_capability.items():
                state, changes = self.trust.settle(
                    stored.get((agent_id, capability)), outcomes, self.now
                )
                rows.append(
                    {
                        "agent_id": agent_id,
                        "capability": capability,
                        "trust_score": state.score,
                        "quarantined": state.quarantined,
                        "canary_successes": state.canary_successes,
                        "updated_at": self.now,
                    }
                )
                records.extend(
                    _capability_records(agent_id, capability, outcomes, changes, self.now)
                )
        await agent_repository.save_capability_trust(conn, rows)
        return records

    async def _release_dependants(self, conn: AsyncConnection) -> None:
        dependants = await repo.dependents_of(conn, self.completed_ids)
        if not dependants:
            return
        await repo.decrement_pending_dependencies(conn, self.completed_ids)
        for released in await repo.release_unblocked(conn, dependants, self.now):
            self.route_capabilities.add(released.capability_required)
            self.events.append(
                event(
                    "task.released",
                    self.now,
                    task_id=released.task_id,
                    client_id=released.client_id,
                    batch_id=released.batch_id,
                    from_status=TaskStatus.BLOCKED,
                    to_status=TaskStatus.PENDING,
                    actor="system",
                    reason="dependencies completed",
                )
            )

    async def _cascade_cancel(self, conn: AsyncConnection) -> None:
        frontier = list(self.doomed_ids)
        while frontier:
            ids = [task_id for task_id, _ in frontier]
            reasons = dict(frontier)
            dependants = await repo.dependents_of(conn, ids)
            frontier = []
            for dep_row in await repo.get_many(conn, dependants):
                if dep_row.status != TaskStatus.BLOCKED:
                    continue
                cause = next(d for d in dep_row.depends_on if d in reasons)
                reason = f"dependency {cause} {reasons[cause]}"
                updated = await repo.update_guarded(
                    conn,
                    dep_row.task_id,
                    statuses=guard(TaskStatus.CANCELLED, among=[TaskStatus.BLOCKED]),
                    values={
                        "status": TaskStatus.CANCELLED,
                        "cancelled_by": "system",
                        "cancelled_at": self.now,
                        "cancellation_reason": reason,
                        "completed_at": self.now,
                        "updated_at": self.now,
                    },
                )
                if updated is None:
                    continue
                self.transition(
                    dep_row, TaskStatus.CANCELLED, "task.cancelled", actor="system", reason=reason
                )
                frontier.append((dep_row.task_id, "was cancelled"))


def _trust_record(
    agent_id: str,
    outcomes: list[tuple[str, str, float | None]],
    changes: list[trust.TrustChange],
    score: float,
    now: datetime,
) -> dict[str, Any]:
    """One trust record per agent per settlement: the outcomes of one report batch move the
    score as one change (each outcome still applied in turn by the formula)."""
    if len(changes) == 1:
        task_id, reason = outcomes[0][0], changes[0].reason
    else:
        counts = Counter(kind for _, kind, _ in outcomes)
        task_id = None
        reason = f"{len(changes)} outcomes: " + ", ".join(
            f"{n} {kind}" for kind, n in sorted(counts.items())
        )
    return {
        "agent_id": agent_id,
        "capability": None,  # the agent's overall score
        "task_id": task_id,
        "delta": sum(c.delta for c in changes),
        "trust_score": score,
        "reason": reason,
        "actor": "system",
        "created_at": now,
    }


@dataclass(frozen=True)
class TrustSettings:
    half_life_hours: float = 24.0
    quarantine: trust.QuarantinePolicy = field(default_factory=trust.QuarantinePolicy)

    @classmethod
    def of(cls, settings: Settings) -> TrustSettings:
        return cls(
            settings.trust_decay_half_life_hours,
            trust.QuarantinePolicy(
                settings.trust_quarantine_below, settings.trust_canary_successes
            ),
        )

    def settle(
        self,
        stored: Any,
        outcomes: list[tuple[str, str, float | None]],
        now: datetime,
    ) -> tuple[trust.CapabilityTrust, list[trust.TrustChange]]:
        """A pair's state after its outcomes: the decay since its last change (a change of its
        own when it moved the score), then each outcome."""
        changes: list[trust.TrustChange] = []
        state = trust.CapabilityTrust()
        if stored is not None:
            score = trust.decayed(stored.trust_score, stored.updated_at, now, self.half_life_hours)
            idle = (now - stored.updated_at).total_seconds() / 3600.0
            decay = trust.decay_change(stored.trust_score, score, idle)
            if decay is not None:
                changes.append(decay)
            state = trust.CapabilityTrust(score, stored.quarantined, stored.canary_successes)
        state, moved = trust.settle_capability(
            state, [(kind, quality) for _, kind, quality in outcomes], self.quarantine
        )
        return state, changes + moved


def _capability_records(
    agent_id: str,
    capability: str,
    outcomes: list[tuple[str, str, float | None]],
    changes: list[trust.TrustChange],
    now: datetime,
) -> list[dict[str, Any]]:
    """A pair's trust records: the plain outcomes of one settlement as one record (like the
    agent's), each decay, quarantine, canary and release as its own."""
    task_id = outcomes[0][0] if len(outcomes) == 1 else None
    plain = [c for c in changes if _is_plain(c.reason)]
    records: list[dict[str, Any]] = []
    for c in changes:
        if not _is_plain(c.reason):
            records.append(
                _record(agent_id, capability, task_id, c.delta, c.score_after, c.reason, now)
            )
        elif c is plain[0]:
            reason = c.reason
            if len(plain) > 1:
                counts = Counter(kind for _, kind, _ in outcomes if kind)
                reason = f"{len(outcomes)} outcomes: " + ", ".join(
                    f"{n} {k}" for k, n in sorted(counts.items())
                )
            delta = sum(p.delta for p in plain)
            records.append(
                _record(agent_id, capability, task_id, delta, plain[-1].score_after, reason, now)
            )
    return records


def _is_plain(reason: str) -> bool:
    return not reason.startswith(("decayed", "quarantined", "canary", "released"))


def _record(
    agent_id: str,
    capability: str,
    task_id: str | None,
    delta: float,
    score: float,
    reason: str,
    now: datetime,
) -> dict[str, Any]:
    return {
        "agent_id": agent_id,
        "capability": capability,
        "task_id": task_id,
        "delta": delta,
        "trust_score": score,
        "reason": reason,
        "actor": "system",
        "created_at": now,
    }
