"""HTTP: /aitp/templates."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Response

from ains.audit import trail
from ains.http import CurrentPrincipal, ServicesDep, ValidatedRoute, page_limit
from ains.openapi import returns
from ains.tasks.schemas import TaskOut
from ains.templates.schemas import TemplateIn, TemplateOut, TemplatePage, TemplatePatch

router = APIRouter(route_class=ValidatedRoute, tags=["templates"])


@router.post("/aitp/templates", status_code=201, responses=returns(TemplateOut, 201, conflict=True))
async def create_template(
    body: TemplateIn, services: ServicesDep, principal: CurrentPrincipal
) -> dict[str, Any]:
    async with services.db.transaction() as tx:
        created = await services.templates.create(tx, principal, body)
        await trail.record(
            tx.conn,
            principal,
            "template.create",
            now=services.clock(),
            target_type="template",
            target_id=created["template_id"],
        )
    return created


@router.get("/aitp/templates", responses=returns(TemplatePage))
async def list_templates(
    services: ServicesDep, principal: CurrentPrincipal, limit: int | None = None
) -> dict[str, Any]:
    async with services.db.read() as conn:
        items = await services.templates.list(conn, principal, page_limit(limit, services))
    return {"items": items, "next_cursor": None}


@router.get("/aitp/templates/{template_id}", responses=returns(TemplateOut))
async def get_template(
    template_id: str, services: ServicesDep, principal: CurrentPrincipal
) -> dict[str, Any]:
    async with services.db.read() as conn:
        return services.templates.view(await services.templates.get(conn, principal, template_id))


@router.put("/aitp/templates/{template_id}", responses=returns(TemplateOut, conflict=True))
async def replace_template(
    template_id: str, body: TemplatePatch, services: ServicesDep, principal: CurrentPrincipal
) -> dict[str, Any]:
    async with services.db.transaction() as tx:
        changed = await services.templates.update(tx, principal, template_id, body, replace=True)
        await trail.record(
            tx.conn,
            principal,
            "template.update",
            now=services.clock(),
            target_type="template",
            target_id=template_id,
        )
    return changed


@router.patch("/aitp/templates/{template_id}", responses=returns(TemplateOut, conflict=True))
async def patch_template(
    template_id: str, body: TemplatePatch, services: ServicesDep, principal: CurrentPrincipal
) -> dict[str, Any]:
    async with services.db.transaction() as tx:
        changed = await services.templates.update(tx, principal, template_id, body, replace=False)
        await trail.record(
            tx.conn,
            principal,
            "template.update",
            now=services.clock(),
            target_type="template",
            target_id=template_id,
        )
    return changed


@router.delete("/aitp/templates/{template_id}", status_code=204)
async def delete_template(
    template_id: str, services: ServicesDep, principal: CurrentPrincipal
) -> Response:
    async with services.db.transaction() as tx:
        await services.templates.delete(tx, principal, template_id)
        await trail.record(
            tx.conn,
            principal,
            "template.delete",
            now=services.clock(),
            target_type="template",
            target_id=template_id,
        )
    return Response(status_code=204)


@router.post(
    "/aitp/templates/{template_id}/tasks",
    status_code=201,
    responses=returns(TaskOut, 201, conflict=True),
)
async def create_from_template(
    template_id: str,
    services: ServicesDep,
    principal: CurrentPrincipal,
    body: Annotated[dict[str, Any] | None, Body()] = None,
) -> dict[str, Any]:
    async with services.db.transaction() as tx:
        kind, view = await services.templates.instantiate(tx, principal, template_id, body or {})
        created = {kind: view.get(f"{kind}_id")}
        await trail.record(
            tx.conn,
            principal,
            "template.submit",
            now=services.clock(),
            target_type="template",
            target_id=template_id,
            detail=created,
        )
    return view
