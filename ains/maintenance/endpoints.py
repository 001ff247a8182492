"""HTTP: /ains/admin/cleanup, /ains/admin/sweep-stale, /ains/admin/stats (admins only, every
call audited; a refused one is audited by the error handler)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body

from ains.exceptions import Forbidden
from ains.http import CurrentPrincipal, ServicesDep, ValidatedRoute
from ains.maintenance.schemas import CleanupIn, CleanupOut, StatsOut, SweepOut
from ains.openapi import returns
from ains.security.principals import Principal

router = APIRouter(route_class=ValidatedRoute, tags=["maintenance"])


def _admin(principal: Principal) -> None:
    if not principal.is_admin:
        raise Forbidden("only an admin may run maintenance")


@router.post("/ains/admin/cleanup", responses=returns(CleanupOut))
async def cleanup(
    services: ServicesDep,
    principal: CurrentPrincipal,
    body: Annotated[CleanupIn | None, Body()] = None,
) -> dict[str, Any]:
    _admin(principal)
    body = body or CleanupIn()
    result = await services.maintenance.prune(
        dry_run=body.dry_run, older_than_days=body.older_than_days
    )
    view = result.view()
    await services.maintenance.audit(principal, "admin.cleanup", view)
    return view


@router.post("/ains/admin/sweep-stale", responses=returns(SweepOut))
async def sweep_stale(services: ServicesDep, principal: CurrentPrincipal) -> dict[str, Any]:
    _admin(principal)
    swept = await services.maintenance.sweep_stale()
    await services.maintenance.audit(principal, "admin.sweep_stale", swept)
    return swept


@router.get("/ains/admin/stats", responses=returns(StatsOut))
async def stats(services: ServicesDep, principal: CurrentPrincipal) -> dict[str, Any]:
    _admin(principal)
    figures = await services.maintenance.stats()
    await services.maintenance.audit(
        principal, "admin.stats", {"database_size_bytes": figures["database_size_bytes"]}
    )
    return figures
