"""The console's schedules, webhooks and API keys pages and their buttons. Where the REST route
does more than one service call (a webhook test sent between two transactions, a key revoked
everywhere), the console calls that route's handler itself rather than repeat it."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from ains.exceptions import Forbidden
from ains.http import ValidatedRoute
from ains.security import keys
from ains.security.endpoints import revoke_key
from ains.services import Services
from ains.ui.rendering import flash, post_actions, render, services_of
from ains.ui.session import Visitor, changing_visitor, visitor
from ains.webhooks.endpoints import enable_webhook, test_webhook
from ains.webhooks.service import webhook_view

router = APIRouter(route_class=ValidatedRoute, include_in_schema=False)
VisitorDep = Annotated[Visitor, Depends(visitor)]
PAGE = 50
PREVIEW_RUNS = 5


# --- schedules ---------------------------------------------------------------------------------


@router.get("/ui/schedules")
async def schedules(request: Request, who: VisitorDep, cursor: str | None = None) -> Response:
    services = services_of(request)
    async with services.db.read() as conn:
        page = await services.schedules.list(
            conn, who.principal, status=None, client_id=None, cursor=cursor, limit=PAGE
        )
    context = {"title": "Schedules", "items": page["items"], "next_cursor": page["next_cursor"]}
    return render(request, "schedules.html", who, context)


@router.get("/ui/schedules/{schedule_id}")
async def schedule(request: Request, schedule_id: str, who: VisitorDep) -> Response:
    services = services_of(request)
    async with services.db.read() as conn:
        found = await services.schedules.get(conn, who.principal, schedule_id)
        preview = await services.schedules.preview(conn, who.principal, schedule_id, PREVIEW_RUNS)
        runs = await services.schedules.executions(
            conn, who.principal, schedule_id, cursor=None, limit=PAGE
        )
    context = {
        "title": f"Schedule {schedule_id}",
        "s": found,
        "next_runs": preview["next_runs"],
        "runs": runs["items"],
    }
    return render(request, "schedule.html", who, context)


async def _schedule_action(request: Request, schedule_id: str, what: str) -> Response:
    who = await changing_visitor(request)
    services = services_of(request)
    async with services.db.transaction() as tx:
        if what == "pause":
            await services.schedules.pause(tx, who.principal, schedule_id)
        elif what == "resume":
            await services.schedules.resume(tx, who.principal, schedule_id)
        else:
            await services.schedules.execute_now(tx, who.principal, schedule_id)
    async with services.db.read() as conn:
        found = await services.schedules.get(conn, who.principal, schedule_id)
    done = {"pause": "paused", "resume": "resumed", "run": "ran now"}[what]
    return render(
        request, "schedule_row.html", who, {"s": found}, headers=flash(f"{schedule_id} {done}")
    )


post_actions(
    router,
    "/ui/schedules/{schedule_id}",
    "schedule_id",
    {"pause": "pause", "resume": "resume", "run": "run"},
    _schedule_action,
)


# --- webhooks ----------------------------------------------------------------------------------


@router.get("/ui/webhooks")
async def webhooks(request: Request, who: VisitorDep) -> Response:
    services = services_of(request)
    async with services.db.read() as conn:
        listed = await services.webhooks.list_for(
            conn, who.principal, services.settings.max_page_size
        )
    return render(request, "webhooks.html", who, {"title": "Webhooks", "items": listed["items"]})


async def _webhook_context(services: Services, who: Visitor, webhook_id: str) -> dict[str, Any]:
    async with services.db.read() as conn:
        hook = webhook_view(await services.webhooks.visible(conn, who.principal, webhook_id))
        log = await services.webhooks.deliveries(conn, who.principal, webhook_id, PAGE)
    return {"title": f"Webhook {webhook_id}", "w": hook, "deliveries": log["items"]}


@router.get("/ui/webhooks/{webhook_id}")
async def webhook(request: Request, webhook_id: str, who: VisitorDep) -> Response:
    context = await _webhook_context(services_of(request), who, webhook_id)
    return render(request, "webhook.html", who, context)


@router.post("/ui/webhooks/{webhook_id}/test")
async def send_test(request: Request, webhook_id: str) -> Response:
    who = await changing_visitor(request)
    services = services_of(request)
    result = await test_webhook(webhook_id, services, who.principal)
    outcome = (
        f"test delivered ({result['status_code']})"
        if result["success"]
        else f"test failed: {result['error'] or result['status_code']}"
    )
    context = await _webhook_context(services, who, webhook_id)
    return render(request, "webhook_panel.html", who, context, headers=flash(outcome))


@router.post("/ui/webhooks/{webhook_id}/enable")
async def enable(request: Request, webhook_id: str) -> Response:
    who = await changing_visitor(request)
    services = services_of(request)
    await enable_webhook(webhook_id, services, who.principal)
    context = await _webhook_context(services, who, webhook_id)
    return render(
        request, "webhook_panel.html", who, context, headers=flash(f"{webhook_id} re-enabled")
    )


# --- API keys (admins) -------------------------------------------------------------------------


def _admin(who: Visitor) -> None:
    if not who.principal.is_admin:
        raise Forbidden("only an admin may manage API keys")


@router.get("/ui/keys")
async def api_keys(request: Request, who: VisitorDep, cursor: str | None = None) -> Response:
    _admin(who)
    services = services_of(request)
    async with services.db.read() as conn:
        page = await keys.list_keys(conn, limit=PAGE, cursor=cursor)
    context = {"title": "API keys", "items": page["items"], "next_cursor": page["next_cursor"]}
    return render(request, "keys.html", who, context)


@router.post("/ui/keys/{key_id}/revoke")
async def revoke(request: Request, key_id: str) -> Response:
    who = await changing_visitor(request)
    _admin(who)
    services = services_of(request)
    await revoke_key(key_id, services, who.principal)
    return render(
        request, "key_revoked.html", who, {"key_id": key_id}, headers=flash(f"{key_id} revoked")
    )
