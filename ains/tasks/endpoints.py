"""HTTP: /aitp/tasks (client side) and the agent protocol calls on tasks."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Body, Header, Query, Request, Response

from ains.audit import trail
from ains.db.engine import Tx
from ains.http import (
    CurrentPrincipal,
    FastJSONResponse,
    ServicesDep,
    ValidatedRoute,
    caller,
    page_limit,
)
from ains.openapi import returns
from ains.security.principals import Principal
from ains.tasks.schemas import (
    AttemptIn,
    CancelIn,
    ClaimIn,
    ClaimOut,
    CompleteIn,
    FailIn,
    LeaseOut,
    PriorityIn,
    ProgressIn,
    ReportIn,
    ReportsIn,
    ReportsOut,
    RetryIn,
    TaskDetailsOut,
    TaskIn,
    TaskOut,
    TaskPage,
    TaskResultOut,
    TaskRoutingOut,
    TimeoutIn,
)
from ains.types import Timestamp

if TYPE_CHECKING:
    from ains.services import Services

router = APIRouter(route_class=ValidatedRoute, tags=["tasks"])
# The calls made per task (submit, claim, reports): matched first, since route matching is a
# linear scan. None of their paths can shadow another router's.
hot_router = APIRouter(route_class=ValidatedRoute, tags=["tasks"])
LOOK_AGAIN_SECONDS = 5.0


# The per-task handlers answer with a ready response: FastAPI would otherwise validate and
# re-serialise the plain dict through pydantic on every call.
@hot_router.post(
    "/aitp/tasks",
    status_code=201,
    response_model=None,
    responses=returns(TaskOut, 201, conflict=True, replays=True),
)
async def submit_task(
    body: TaskIn,
    request: Request,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> Response:
    services, principal = await caller(request)
    submitted = await services.tasks.submit_one(services.db, principal, body, idempotency_key)
    if submitted.replayed:
        return FastJSONResponse(
            submitted.task, status_code=200, headers={"Idempotent-Replayed": "true"}
        )
    return FastJSONResponse(submitted.task, status_code=201)


@router.get("/aitp/tasks", responses=returns(TaskPage))
async def list_tasks(
    services: ServicesDep,
    principal: CurrentPrincipal,
    status: str | None = None,
    client_id: Annotated[str | None, Query(alias="client_id")] = None,
    agent_id: str | None = None,
    task_type: str | None = None,
    capability: str | None = None,
    batch_id: str | None = None,
    created_after: Timestamp | None = None,
    created_before: Timestamp | None = None,
    cursor: str | None = None,
    limit: int | None = None,
) -> dict[str, Any]:
    filters = {
        "status": status,
        "client_id": client_id,
        "agent_id": agent_id,
        "task_type": task_type,
        "capability": capability,
        "batch_id": batch_id,
        "created_after": created_after,
        "created_before": created_before,
    }
    async with services.db.read() as conn:
        return await services.tasks.list(
            conn, principal, filters=filters, cursor=cursor, limit=page_limit(limit, services)
        )


@router.get("/aitp/tasks/{task_id}", responses=returns(TaskDetailsOut))
async def get_task(
    task_id: str, services: ServicesDep, principal: CurrentPrincipal
) -> dict[str, Any]:
    async with services.db.read() as conn:
        return await services.tasks.details(conn, principal, task_id)


@router.get("/aitp/tasks/{task_id}/routing", responses=returns(TaskRoutingOut))
async def get_task_routing(
    task_id: str, services: ServicesDep, principal: CurrentPrincipal
) -> dict[str, Any]:
    """Every routing of the task: the agents considered, their load, trust and score, and the
    rule that chose or refused each."""
    async with services.db.read() as conn:
        return await services.tasks.routing(conn, principal, task_id)


@router.get("/aitp/tasks/{task_id}/result", responses=returns(TaskResultOut))
async def get_result(
    task_id: str, services: ServicesDep, principal: CurrentPrincipal
) -> dict[str, Any]:
    async with services.db.read() as conn:
        return await services.tasks.result(conn, principal, task_id)


@router.delete("/aitp/tasks/{task_id}", responses=returns(TaskOut, conflict=True))
async def cancel_task(
    task_id: str,
    services: ServicesDep,
    principal: CurrentPrincipal,
    reason: str | None = None,
    body: Annotated[CancelIn | None, Body()] = None,
) -> dict[str, Any]:
    why = (body.reason if body else None) or reason
    async with services.db.transaction() as tx:
        done = await services.control.cancel(tx, principal, task_id, why)
        await _audit(tx, services, principal, "task.cancel", task_id)
    return done


@router.post("/aitp/tasks/{task_id}/retry", responses=returns(TaskOut, conflict=True))
async def retry_task(
    task_id: str,
    services: ServicesDep,
    principal: CurrentPrincipal,
    body: Annotated[RetryIn | None, Body()] = None,
) -> dict[str, Any]:
    async with services.db.transaction() as tx:
        done = await services.control.retry(tx, principal, task_id, body.reason if body else None)
        await _audit(tx, services, principal, "task.retry", task_id)
    return done


@router.put("/aitp/tasks/{task_id}/priority", responses=returns(TaskOut, conflict=True))
async def set_priority(
    task_id: str, body: PriorityIn, services: ServicesDep, principal: CurrentPrincipal
) -> dict[str, Any]:
    async with services.db.transaction() as tx:
        done = await services.tasks.set_priority(tx, principal, task_id, body.priority)
        await _audit(tx, services, principal, "task.priority", task_id)
    return done


@router.put("/aitp/tasks/{task_id}/timeout", responses=returns(TaskOut, conflict=True))
async def set_timeout(
    task_id: str, body: TimeoutIn, services: ServicesDep, principal: CurrentPrincipal
) -> dict[str, Any]:
    async with services.db.transaction() as tx:
        done = await services.control.set_timeout(tx, principal, task_id, body.timeout_seconds)
        await _audit(tx, services, principal, "task.timeout", task_id)
    return done


async def _audit(
    tx: Tx, services: Services, principal: Principal, action: str, task_id: str
) -> None:
    await trail.record(
        tx.conn, principal, action, now=services.clock(), target_type="task", target_id=task_id
    )


# --- the agent side ----------------------------------------------------------------------------


@hot_router.post("/aitp/agents/{agent_id}/claim", response_model=None, responses=returns(ClaimOut))
async def claim(
    agent_id: str,
    services: ServicesDep,
    principal: CurrentPrincipal,
    body: Annotated[ClaimIn | None, Body()] = None,
) -> Response:
    """Long-poll: hand out the agent's share of waiting work at once, or park until work
    arrives (a wake-up from the bus) or the wait ends. A parked claim looks again every few
    seconds too, in case a wake-up from another replica was lost."""
    body = body or ClaimIn()
    services.agents.authorize_self(principal, agent_id)
    wait = min(body.wait_seconds, services.settings.max_wait_seconds)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    asks_until = services.clock() + timedelta(seconds=wait)
    while True:
        if services.drain.draining:  # no new claims; the agent asks another replica
            return FastJSONResponse({"tasks": []}, headers={"connection": "close"})
        ev = services.waiters.prepare(agent_id)
        async with services.db.transaction() as tx:
            claimed = await services.execution.claim(tx, agent_id, body.max_tasks, asks_until)
        if claimed.tasks:
            return FastJSONResponse({"tasks": claimed.tasks})
        remaining = deadline - loop.time()
        if remaining <= 0:
            return FastJSONResponse({"tasks": []})
        await services.waiters.wait(
            agent_id,
            ev,
            min(remaining, LOOK_AGAIN_SECONDS),
            claimed.capabilities,
            claimed.rank,
        )


@hot_router.post("/aitp/tasks/{task_id}/start", responses=returns(TaskOut, conflict=True))
async def start_task(
    task_id: str, body: AttemptIn, services: ServicesDep, principal: CurrentPrincipal
) -> dict[str, Any]:
    async with services.db.transaction() as tx:
        return await services.execution.start(tx, principal, task_id, body.attempt_id)


@hot_router.post("/aitp/tasks/{task_id}/heartbeat", responses=returns(LeaseOut, conflict=True))
async def task_heartbeat(
    task_id: str, body: ProgressIn, services: ServicesDep, principal: CurrentPrincipal
) -> dict[str, Any]:
    async with services.db.transaction() as tx:
        return await services.execution.progress(
            tx, principal, task_id, body.attempt_id, body.progress
        )


@hot_router.post("/aitp/tasks/{task_id}/complete", responses=returns(TaskOut, conflict=True))
async def complete_task(
    task_id: str, body: CompleteIn, services: ServicesDep, principal: CurrentPrincipal
) -> dict[str, Any]:
    report = ReportIn(
        task_id=task_id,
        attempt_id=body.attempt_id,
        outcome="complete",
        result_data=body.result_data,
        cost=body.cost,
        quality_score=body.quality_score,
    )
    async with services.db.transaction() as tx:
        return await services.execution.report(tx, principal, report)


@hot_router.post("/aitp/tasks/{task_id}/fail", responses=returns(TaskOut, conflict=True))
async def fail_task(
    task_id: str, body: FailIn, services: ServicesDep, principal: CurrentPrincipal
) -> dict[str, Any]:
    report = ReportIn(
        task_id=task_id,
        attempt_id=body.attempt_id,
        outcome="fail",
        error=body.error,
        error_type=body.error_type,
        retryable=body.retryable,
    )
    async with services.db.transaction() as tx:
        return await services.execution.report(tx, principal, report)


@hot_router.post(
    "/aitp/agents/{agent_id}/reports", response_model=None, responses=returns(ReportsOut)
)
async def bulk_reports(
    agent_id: str, body: ReportsIn, services: ServicesDep, principal: CurrentPrincipal
) -> Response:
    services.agents.authorize_self(principal, agent_id)
    async with services.db.transaction() as tx:
        results = await services.execution.reports(tx, principal, agent_id, body.reports)
    return FastJSONResponse({"results": results})
