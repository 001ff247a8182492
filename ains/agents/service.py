"""Agent registration, heartbeats, liveness and trust administration."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from ains.agents import repository as agent_repository
from ains.agents.schemas import AgentIn, AgentPatch
from ains.agents.trust import INITIAL_TRUST, decayed
from ains.clock import Clock, new_id
from ains.config import Settings
from ains.db.engine import Tx
from ains.events.bus import Bus
from ains.events.repository import add_events, event
from ains.exceptions import Conflict, Forbidden, NotFound
from ains.pagination import decode_cursor, encode_cursor
from ains.security import keys
from ains.security import repository as security_repository
from ains.security.principals import Principal
from ains.tasks import repository as task_repository
from ains.tasks.control import TaskControl


def agent_view(row: Any, offline_after: float, now: datetime) -> dict[str, Any]:
    online = bool(
        row.online
        and row.last_heartbeat_at is not None
        and (now - row.last_heartbeat_at).total_seconds() < offline_after
    )
    return {
        "agent_id": row.agent_id,
        "name": row.name,
        "capabilities": row.capabilities,
        "max_concurrency": row.max_concurrency,
        "in_flight": row.in_flight,
        "trust_score": round(row.trust_score, 6),
        "status": row.status,
        "online": online,
        "last_heartbeat_at": row.last_heartbeat_at,
        # routing hands work only to agents asking for it (in a long-poll claim until then)
        "asking_for_work": bool(row.claim_until is not None and row.claim_until > now),
        "claim_until": row.claim_until,
        "team": row.team,
        "metadata": row.metadata,
        "tasks_completed": row.tasks_completed,
        "tasks_failed": row.tasks_failed,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    }


def capability_trust_view(
    capability: str, stored: Any, now: datetime, half_life_hours: float
) -> dict[str, Any]:
    """An agent's trust for one capability as routing uses it now (decayed while idle)."""
    if stored is None:
        return {
            "capability": capability,
            "trust_score": INITIAL_TRUST,
            "quarantined": False,
            "canary_successes": 0,
            "updated_at": None,
        }
    return {
        "capability": capability,
        "trust_score": round(
            decayed(stored.trust_score, stored.updated_at, now, half_life_hours), 6
        ),
        "quarantined": bool(stored.quarantined),
        "canary_successes": stored.canary_successes,
        "updated_at": stored.updated_at,
    }


class AgentService:
    def __init__(self, settings: Settings, clock: Clock, bus: Bus, control: TaskControl) -> None:
        self.settings = settings
        self.clock = clock
        self.bus = bus
        self.control = control

    def view(self, row: Any) -> dict[str, Any]:
        return agent_view(row, self.settings.agent_offline_after, self.clock())

    async def views(self, conn: AsyncConnection, rows: list[Any]) -> list[dict[str, Any]]:
        """Agent views with their trust per capability (one statement for any number)."""
        stored: dict[str, dict[str, Any]] = {}
        for t in await agent_repository.capability_trust_of(conn, [r.agent_id for r in rows]):
            stored.setdefault(t.agent_id, {})[t.capability] = t
        now = self.clock()
        half_life = self.settings.trust_decay_half_life_hours
        out = []
        for row in rows:
            mine = stored.get(row.agent_id, {})
            view = self.view(row)
            view["capability_trust"] = [
                capability_trust_view(c, mine.get(c), now, half_life) for c in row.capabilities
            ]
            out.append(view)
        return out

    async def view_of(self, conn: AsyncConnection, row: Any) -> dict[str, Any]:
        return (await self.views(conn, [row]))[0]

    async def get_row(
        self, conn: AsyncConnection, agent_id: str, *, deregistered: bool = False
    ) -> Any:
        """The agent's row; a deregistered agent only when `deregistered` (it can no longer
        act, but its record stays readable)."""
        row = await agent_repository.get(conn, agent_id)
        if row is None or (row.status == "DEREGISTERED" and not deregistered):
            raise NotFound(f"agent {agent_id} not found")
        return row

    @staticmethod
    def authorize_self(principal: Principal, agent_id: str) -> None:
        if not principal.is_admin and not (
            principal.role == "agent" and principal.principal_id == agent_id
        ):
            raise Forbidden(f"only agent {agent_id} or an admin may do this")

    async def register(self, tx: Tx, principal: Principal, body: AgentIn) -> dict[str, Any]:
        agent_id = body.agent_id or new_id("agt")
        if not principal.is_admin and not (
            principal.role == "agent" and principal.principal_id == agent_id
        ):
            raise Forbidden("registering an agent needs an admin key (or that agent's own key)")
        now = self.clock()
        existing = await agent_repository.get(tx.conn, agent_id)
        if existing is not None and principal.role == "agent":
            return await self._reregister_self(tx, principal, existing, body, now)
        values = {
            "name": body.name,
            "capabilities": body.capabilities,
            "max_concurrency": body.max_concurrency,
            "metadata": body.metadata,
            "team": body.team or principal.team,
            "status": "ACTIVE",
            "online": True,
            "last_heartbeat_at": now,
            "updated_at": now,
        }
        if existing is not None and existing.status != "DEREGISTERED":
            raise Conflict(f"agent {agent_id} is already registered")
        if existing is None:
            await agent_repository.insert(
                tx.conn,
                {
                    "agent_id": agent_id,
                    "trust_score": INITIAL_TRUST,
                    "in_flight": 0,
                    "created_at": now,
                    **values,
                },
            )
        else:
            await agent_repository.reactivate(tx.conn, agent_id, values)
        await agent_repository.add_capabilities(tx.conn, agent_id, body.capabilities)
        await add_events(
            tx.conn,
            [
                event(
                    "agent.online",
                    now,
                    agent_id=agent_id,
                    actor=principal.actor,
                    reason="registered",
                )
            ],
        )
        api_key = None
        if principal.role != "agent":
            created = await keys.create_key(
                tx.conn,
                role="agent",
                principal_id=agent_id,
                name=body.name,
                team=body.team or principal.team,
                now=now,
            )
            api_key = created["api_key"]
        row = await self.get_row(tx.conn, agent_id)
        tx.on_commit(lambda: self.bus.publish_many("route", body.capabilities))
        return {**await self.view_of(tx.conn, row), "api_key": api_key}

    async def _reregister_self(
        self, tx: Tx, principal: Principal, existing: Any, body: AgentIn, now: datetime
    ) -> dict[str, Any]:
        """An agent registering itself again (a restart) refreshes its name, metadata and
        liveness only: status, capacity, team and capabilities are an admin's to change, so a
        quarantined agent cannot lift its quarantine or widen what it is routed."""
        agent_id = existing.agent_id
        if existing.status == "DEREGISTERED":
            raise Conflict(
                f"agent {agent_id} was deregistered; only an admin may register it again"
            )
        await agent_repository.refresh(
            tx.conn, agent_id, name=body.name, metadata=body.metadata, now=now
        )
        await add_events(
            tx.conn,
            [event("agent.online", now, agent_id=agent_id, actor=principal.actor,
                   reason="re-registered")],
        )  # fmt: skip
        if not existing.online:
            tx.on_commit(lambda: self.bus.publish_many("route", existing.capabilities))
        row = await self.get_row(tx.conn, agent_id)
        return {**await self.view_of(tx.conn, row), "api_key": None}

    async def heartbeat(
        self, tx: Tx, principal: Principal, agent_id: str, in_flight: list[str] | None
    ) -> dict[str, Any]:
        self.authorize_self(principal, agent_id)
        now = self.clock()
        row = await self.get_row(tx.conn, agent_id)
        # A heartbeat keeps the leases of every task the agent has received. Task rows are
        # locked before the agent row, the order every transaction uses (reports lock their
        # tasks, then the agent), so the two can never deadlock.
        await task_repository.extend_leases_of(
            tx.conn, agent_id, now + timedelta(seconds=self.settings.lease_seconds)
        )
        await agent_repository.mark_alive(tx.conn, agent_id, now)
        if not row.online:
            await add_events(
                tx.conn, [event("agent.online", now, agent_id=agent_id, actor=principal.actor)]
            )
            tx.on_commit(lambda: self.bus.publish_many("route", row.capabilities))
        cancel = await self._to_cancel(tx.conn, agent_id, in_flight, now)
        return {
            "agent_id": agent_id,
            "online": True,
            "status": row.status,
            "cancel_task_ids": cancel,
            "server_time": now,
            "heartbeat_interval_seconds": max(1.0, self.settings.agent_offline_after / 3),
        }

    async def _to_cancel(
        self, conn: AsyncConnection, agent_id: str, in_flight: list[str] | None, now: datetime
    ) -> list[str]:
        """Tasks the agent should stop: ones it runs that it no longer holds."""
        if in_flight is not None:
            if not in_flight:
                return []
            held = await task_repository.held_by(conn, agent_id, in_flight)
            return [t for t in in_flight if t not in held]
        recent = now - timedelta(seconds=max(60.0, self.settings.lease_seconds))
        return await task_repository.cancelled_since(conn, agent_id, recent)

    async def list_agents(
        self,
        conn: AsyncConnection,
        *,
        capability: str | None,
        online: bool | None,
        limit: int,
        cursor: str | None,
    ) -> dict[str, Any]:
        """A page of registered agents in agent_id order; `online` as `view` computes it."""
        rows = await agent_repository.page(
            conn,
            after=decode_cursor("agt", cursor) if cursor else None,
            capability=capability,
            online=online,
            fresh_since=self.clock() - timedelta(seconds=self.settings.agent_offline_after),
            limit=limit + 1,
        )
        page = rows[:limit]
        more = len(rows) > limit
        return {
            "items": await self.views(conn, page),
            "next_cursor": encode_cursor("agt", page[-1].agent_id) if more else None,
        }

    async def deregister(
        self, tx: Tx, principal: Principal, agent_id: str
    ) -> list[tuple[str, str]]:
        """Deregister the agent and revoke its keys; returns the revoked keys' (id, hash)."""
        self.authorize_self(principal, agent_id)
        await self.get_row(tx.conn, agent_id)
        now = self.clock()
        revoked = await security_repository.revoke_principal_keys(tx.conn, "agent", agent_id, now)
        await agent_repository.mark_deregistered(tx.conn, agent_id, now)
        await self.control.release_agent_tasks(tx, [agent_id], now, reason="agent deregistered")
        await add_events(
            tx.conn,
            [
                event(
                    "agent.offline",
                    now,
                    agent_id=agent_id,
                    actor=principal.actor,
                    reason="deregistered",
                )
            ],
        )
        return revoked

    async def patch(
        self, tx: Tx, principal: Principal, agent_id: str, body: AgentPatch
    ) -> dict[str, Any]:
        if not principal.is_admin:
            raise Forbidden("only an admin may change an agent's trust or status")
        row = await self.get_row(tx.conn, agent_id)
        now = self.clock()
        values: dict[str, Any] = {"updated_at": now}
        if body.status is not None:
            values["status"] = body.status
        if body.max_concurrency is not None:
            values["max_concurrency"] = body.max_concurrency
        if body.trust_score is not None:
            values["trust_score"] = body.trust_score
        if body.capabilities is not None:
            await agent_repository.replace_capabilities(tx.conn, agent_id, body.capabilities)
        if body.trust_score is not None:  # an admin's score holds for every capability too
            await agent_repository.save_capability_trust(
                tx.conn,
                [
                    {
                        "agent_id": agent_id,
                        "capability": c,
                        "trust_score": body.trust_score,
                        "quarantined": False,
                        "canary_successes": 0,
                        "updated_at": now,
                    }
                    for c in body.capabilities or row.capabilities
                ],
            )
        if body.trust_score is not None or body.status is not None:
            score = body.trust_score if body.trust_score is not None else row.trust_score
            record = {
                "agent_id": agent_id,
                "task_id": None,
                "delta": score - row.trust_score,
                "trust_score": score,
                "reason": body.reason
                if body.status is None
                else f"{body.reason} (status {body.status})",
                "actor": principal.actor,
                "created_at": now,
            }
            await agent_repository.add_trust_records(tx.conn, [record])
        await agent_repository.update(tx.conn, agent_id, values)
        routed = list(row.capabilities) + list(body.capabilities or [])
        tx.on_commit(lambda: self.bus.publish_many("route", routed))
        return await self.view_of(tx.conn, await self.get_row(tx.conn, agent_id))

    async def trust_history(
        self,
        conn: AsyncConnection,
        principal: Principal,
        agent_id: str,
        limit: int,
        capability: str | None = None,
    ) -> list[dict[str, Any]]:
        """The agent's trust records, newest first. Every principal may read an agent's scores,
        but only admins and the agent itself are told which tasks moved them: the others may
        not see those tasks."""
        await self.get_row(conn, agent_id)
        names_tasks = principal.is_admin or (
            principal.role == "agent" and principal.principal_id == agent_id
        )
        rows = await agent_repository.trust_history(conn, agent_id, limit, capability=capability)
        return [
            {
                "task_id": r.task_id if names_tasks else None,
                "capability": r.capability,
                "delta": r.delta,
                "trust_score": r.trust_score,
                "score_after": r.trust_score,
                "reason": r.reason,
                "actor": r.actor,
                "created_at": r.created_at,
            }
            for r in rows
        ]
