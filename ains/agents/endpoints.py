"""HTTP: /ains/agents."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Response

from ains.agents.schemas import (
    AgentHeartbeatOut,
    AgentIn,
    AgentOut,
    AgentPage,
    AgentPatch,
    HeartbeatIn,
    RegisteredAgentOut,
    TrustPage,
)
from ains.audit import trail
from ains.http import CurrentPrincipal, ServicesDep, ValidatedRoute, page_limit
from ains.metrics.registry import agent_heartbeats_total, agents_registered_total
from ains.openapi import returns

router = APIRouter(route_class=ValidatedRoute, tags=["agents"])


def agent_action(body: AgentPatch) -> str:
    """Trust overrides, quarantines and releases get their own names; the rest is an update."""
    if body.trust_score is not None:
        return "agent.trust_override"
    if body.status == "QUARANTINED":
        return "agent.quarantine"
    if body.status == "ACTIVE":
        return "agent.release"
    return "agent.update"


@router.post(
    "/ains/agents", status_code=201, responses=returns(RegisteredAgentOut, 201, conflict=True)
)
async def register_agent(
    body: AgentIn, services: ServicesDep, principal: CurrentPrincipal
) -> dict[str, Any]:
    async with services.db.transaction() as tx:
        created = await services.agents.register(tx, principal, body)
        await trail.record(
            tx.conn,
            principal,
            "agent.register",
            now=services.clock(),
            target_type="agent",
            target_id=created["agent_id"],
        )
    agents_registered_total.inc()
    return created


@router.get("/ains/agents", responses=returns(AgentPage))
async def list_agents(
    services: ServicesDep,
    _principal: CurrentPrincipal,
    capability: str | None = None,
    online: bool | None = None,
    limit: int | None = None,
    cursor: str | None = None,
) -> dict[str, Any]:
    page = page_limit(limit, services)
    async with services.db.read() as conn:
        return await services.agents.list_agents(
            conn, capability=capability, online=online, limit=page, cursor=cursor
        )


@router.get("/ains/agents/{agent_id}", responses=returns(AgentOut))
async def get_agent(
    agent_id: str, services: ServicesDep, _principal: CurrentPrincipal
) -> dict[str, Any]:
    async with services.db.read() as conn:
        row = await services.agents.get_row(conn, agent_id, deregistered=True)
        return await services.agents.view_of(conn, row)


@router.get("/ains/agents/{agent_id}/trust", responses=returns(TrustPage))
async def agent_trust(
    agent_id: str,
    services: ServicesDep,
    principal: CurrentPrincipal,
    limit: int | None = None,
    capability: Annotated[str | None, Query(max_length=200)] = None,
) -> dict[str, Any]:
    """The agent's trust records, newest first: those of its overall score, or with
    `capability` those of that capability (`*`: every record)."""
    async with services.db.read() as conn:
        items = await services.agents.trust_history(
            conn, principal, agent_id, page_limit(limit, services), capability
        )
    return {"items": items, "next_cursor": None}


@router.patch("/ains/agents/{agent_id}", responses=returns(AgentOut))
async def patch_agent(
    agent_id: str, body: AgentPatch, services: ServicesDep, principal: CurrentPrincipal
) -> dict[str, Any]:
    async with services.db.transaction() as tx:
        changed = await services.agents.patch(tx, principal, agent_id, body)
        detail = body.model_dump(mode="json", exclude_none=True)
        await trail.record(
            tx.conn,
            principal,
            agent_action(body),
            now=services.clock(),
            target_type="agent",
            target_id=agent_id,
            detail=detail,
        )
    return changed


@router.delete("/ains/agents/{agent_id}", status_code=204)
async def deregister_agent(
    agent_id: str, services: ServicesDep, principal: CurrentPrincipal
) -> Response:
    async with services.db.transaction() as tx:
        revoked = await services.agents.deregister(tx, principal, agent_id)
        await trail.record(
            tx.conn,
            principal,
            "agent.deregister",
            now=services.clock(),
            target_type="agent",
            target_id=agent_id,
        )
    for key_id, key_hash in revoked:
        services.auth.forget(key_hash)
        services.streams.key_revoked(key_id)  # the other replicas' caches and streams
    return Response(status_code=204)


@router.post("/ains/agents/{agent_id}/heartbeat", responses=returns(AgentHeartbeatOut))
async def agent_heartbeat(
    agent_id: str,
    services: ServicesDep,
    principal: CurrentPrincipal,
    body: Annotated[HeartbeatIn | None, Body()] = None,
) -> dict[str, Any]:
    agent_heartbeats_total.inc()
    async with services.db.transaction() as tx:
        return await services.agents.heartbeat(
            tx, principal, agent_id, body.in_flight if body else None
        )
