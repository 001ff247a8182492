"""HTTP: seed 004's `/api/ai/tasks…` API, a thin adapter over the same services as `/aitp/…`.
Bodies and answers use seed 004's camelCase spellings (docs/seed004.md maps every field); the
rules (who may see or change what, limits, states) are ours. Fixed paths come before
`/api/ai/tasks/{task_id}`, which would otherwise swallow them."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Request, Response

from ains import __version__
from ains.analytics.schemas import Period
from ains.batches.schemas import BatchIn
from ains.compat import seed004_answers as answers
from ains.compat import seed004_views as views
from ains.compat.seed004_schemas import AiBatchIn, AiCancelIn, AiCleanupIn, AiTaskIn
from ains.exceptions import Forbidden
from ains.http import (
    CurrentPrincipal,
    FastJSONResponse,
    ServicesDep,
    ValidatedRoute,
    caller,
    page_limit,
    problem,
)
from ains.openapi import returns
from ains.security.principals import Principal

PREFIX = "/api/ai/tasks"
router = APIRouter(route_class=ValidatedRoute, tags=["seed 004"])


def _admin(principal: Principal) -> None:
    if not principal.is_admin:
        raise Forbidden("only an admin may run maintenance")


@router.get(f"{PREFIX}/health", response_model=None, responses=returns(answers.AiHealthAnswer))
async def health(services: ServicesDep) -> Response:
    """No credentials, as in seed 004; says only whether this replica can reach its database."""
    try:
        await services.db.ping()
    except Exception as exc:
        return problem(503, "Service Unavailable", f"database unreachable: {type(exc).__name__}")
    return FastJSONResponse(
        {"success": True, "status": "healthy", "database": "up", "version": __version__,
         "timestamp": services.clock()}
    )  # fmt: skip


@router.get(f"{PREFIX}/queue/status", responses=returns(answers.AiQueueStatusAnswer))
async def queue_status(services: ServicesDep, principal: CurrentPrincipal) -> dict[str, Any]:
    async with services.db.read() as conn:
        stats = await services.queue.stats(conn, principal)
    return views.ok(views.queue_status(stats))


@router.get(f"{PREFIX}/statistics/summary", responses=returns(answers.AiSummaryAnswer))
async def statistics_summary(
    services: ServicesDep, principal: CurrentPrincipal, period: Period | None = None
) -> dict[str, Any]:
    analytics = services.analytics
    window = analytics.window(period, None, None)
    async with services.db.read(snapshot=True) as conn:
        figures = await analytics.summary(conn, principal, window)
    return views.ok(views.summary(figures))


@router.post(f"{PREFIX}/batch", status_code=201, responses=returns(answers.AiBatchAnswer, 201))
async def create_batch(
    body: AiBatchIn, services: ServicesDep, principal: CurrentPrincipal
) -> dict[str, Any]:
    ours = BatchIn(client_id=body.clientId, tasks=[t.task_body() for t in body.tasks])
    async with services.db.transaction() as tx:
        submitted = await services.batches.submit(tx, principal, ours)
    return views.ok(views.batch(submitted.batch))


@router.post(f"{PREFIX}/cleanup/old", responses=returns(answers.AiCleanupAnswer))
async def cleanup_old(
    services: ServicesDep,
    principal: CurrentPrincipal,
    body: Annotated[AiCleanupIn | None, Body()] = None,
) -> dict[str, Any]:
    _admin(principal)
    body = body or AiCleanupIn()
    result = await services.maintenance.prune(dry_run=body.dryRun, older_than_days=body.daysToKeep)
    view = result.view()
    await services.maintenance.audit(principal, "admin.cleanup", view)
    return views.ok(views.cleanup(view))


@router.post(f"{PREFIX}/cleanup/timeout-stale", responses=returns(answers.AiSweepAnswer))
async def cleanup_timeout_stale(
    services: ServicesDep, principal: CurrentPrincipal
) -> dict[str, Any]:
    _admin(principal)
    swept = await services.maintenance.sweep_stale()
    await services.maintenance.audit(principal, "admin.sweep_stale", swept)
    return views.ok(views.sweep(swept))


@router.post(
    PREFIX, status_code=201, response_model=None, responses=returns(answers.AiTaskAnswer, 201)
)
async def create_task(body: AiTaskIn, request: Request) -> Response:
    services, principal = await caller(request)
    item = body.task_in()
    submitted = await services.tasks.submit_one(services.db, principal, item)
    return FastJSONResponse(views.ok(views.task(submitted.task)), status_code=201)


@router.get(PREFIX, responses=returns(answers.AiTaskListAnswer))
async def list_tasks(
    services: ServicesDep,
    principal: CurrentPrincipal,
    status: str | None = None,
    agentId: str | None = None,
    taskType: str | None = None,
    clientId: str | None = None,
    cursor: str | None = None,
    limit: int | None = None,
) -> dict[str, Any]:
    filters = {"status": status, "capability": agentId, "task_type": taskType,
               "client_id": clientId}  # fmt: skip
    size = page_limit(limit, services)
    async with services.db.read() as conn:
        page = await services.tasks.list(
            conn, principal, filters=filters, cursor=cursor, limit=size
        )
    return views.ok(
        [views.task(t) for t in page["items"]],
        pagination={"limit": size, "nextCursor": page["next_cursor"]},
    )


@router.get(f"{PREFIX}/{{task_id}}", responses=returns(answers.AiTaskAnswer))
async def get_task(
    task_id: str, services: ServicesDep, principal: CurrentPrincipal
) -> dict[str, Any]:
    async with services.db.read() as conn:
        details = await services.tasks.details(conn, principal, task_id)
    return views.ok(views.task(details))


@router.put(f"{PREFIX}/{{task_id}}/cancel", responses=returns(answers.AiTaskAnswer, conflict=True))
async def cancel_task(
    task_id: str,
    services: ServicesDep,
    principal: CurrentPrincipal,
    body: Annotated[AiCancelIn | None, Body()] = None,
) -> dict[str, Any]:
    async with services.db.transaction() as tx:
        cancelled = await services.control.cancel(
            tx, principal, task_id, body.reason if body else None
        )
    return views.ok(views.task(cancelled), message="Task cancelled")


@router.get(f"{PREFIX}/{{task_id}}/retry", responses=returns(answers.AiTaskAnswer, conflict=True))
async def retry_task(
    task_id: str, services: ServicesDep, principal: CurrentPrincipal
) -> dict[str, Any]:
    """A GET that changes state, as seed 004 has it: the manual retry of /aitp/…/retry."""
    async with services.db.transaction() as tx:
        retried = await services.control.retry(tx, principal, task_id, "manual retry (seed 004)")
    return views.ok(views.task(retried), message="Task queued for retry")
