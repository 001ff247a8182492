"""The console's actions (POST): sign-in and sign-out, and the changes an operator makes, each
through the same service call as its REST route, with the principal of the console's cookie."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from ains.agents.schemas import AgentPatch
from ains.exceptions import AinsError, Unprocessable
from ains.http import ValidatedRoute, peer_of
from ains.ui.pages import task_context, task_page, trust_series
from ains.ui.rendering import first, flash, form_fields, post_actions, render, services_of
from ains.ui.session import CSRF_FIELD, changing_visitor, sign_in, sign_out

router = APIRouter(route_class=ValidatedRoute, include_in_schema=False)
BULK_LIMIT = 200


# --- signing in and out -------------------------------------------------------------------------


@router.get("/ui/login")
async def login_page(request: Request) -> Response:
    return render(request, "login.html", None, {"title": "Sign in"})


@router.post("/ui/login")
async def login(request: Request) -> Response:
    fields = await form_fields(request)
    credential = (first(fields, "credential") or "").strip()
    services = services_of(request)
    try:
        if not credential:
            raise Unprocessable.field("credential", "enter an API key or a JWT")
        await services.auth.principal(f"Bearer {credential}", peer_of(request))
    except AinsError as exc:
        context = {"title": "Sign in", "error": exc.detail}
        return render(request, "login.html", None, context, status_code=exc.status_code)
    response = RedirectResponse("/ui", status_code=303)
    sign_in(response, request, credential)
    return response


@router.post("/ui/logout")
async def logout(request: Request) -> Response:
    fields = await form_fields(request)
    await changing_visitor(request, first(fields, CSRF_FIELD))
    response = RedirectResponse("/ui/login", status_code=303)
    sign_out(response)
    return response


# --- tasks -------------------------------------------------------------------------------------


@router.post("/ui/tasks/bulk")
async def bulk(request: Request) -> Response:
    """Cancel or retry the selected tasks, one service call each; the refused ones are named."""
    fields = await form_fields(request)
    who = await changing_visitor(request)
    action = first(fields, "action")
    if action not in ("cancel", "retry"):
        raise Unprocessable.field("action", "must be cancel or retry")
    task_ids = list(dict.fromkeys(fields.get("task_ids", [])))[:BULK_LIMIT]
    services = services_of(request)
    done, refused = 0, []
    for task_id in task_ids:
        try:
            async with services.db.transaction() as tx:
                if action == "cancel":
                    await services.control.cancel(tx, who.principal, task_id, "console bulk")
                else:
                    await services.control.retry(tx, who.principal, task_id, "console bulk")
            done += 1
        except AinsError as exc:
            refused.append(f"{task_id}: {exc.detail}")
    message = f"{action}: {done} of {len(task_ids)} done" + (
        "; refused " + "; ".join(refused[:5]) if refused else ""
    )
    params = {k: v[0] for k, v in fields.items() if k not in ("action", "task_ids") and v}
    items, _next = await task_page(services, who, params)
    return render(request, "task_rows.html", who, {"tasks": items}, headers=flash(message))


async def _task_action(request: Request, task_id: str, what: str) -> Response:
    fields = await form_fields(request)
    who = await changing_visitor(request)
    services = services_of(request)
    async with services.db.transaction() as tx:
        if what == "cancel":
            await services.control.cancel(tx, who.principal, task_id, "cancelled in the console")
        elif what == "retry":
            await services.control.retry(tx, who.principal, task_id, "retried in the console")
        elif what == "priority":
            priority = _number(fields, "priority", int, 1, 10)
            await services.tasks.set_priority(tx, who.principal, task_id, int(priority))
        else:
            timeout = _number(fields, "timeout_seconds", float, 1, 7 * 86400)
            await services.control.set_timeout(tx, who.principal, task_id, timeout)
    context = await task_context(services, who, task_id)
    return render(
        request, "task_panel.html", who, context, headers=flash(f"{what}: done for {task_id}")
    )


def _number(
    fields: dict[str, list[str]], name: str, kind: type[int] | type[float], low: float, high: float
) -> float:
    try:
        value = kind(first(fields, name) or "")
    except ValueError:
        raise Unprocessable.field(name, "must be a number") from None
    if not low <= value <= high:
        raise Unprocessable.field(name, f"must be between {low:g} and {high:g}")
    return value


post_actions(
    router,
    "/ui/tasks/{task_id}",
    "task_id",
    {w: w for w in ("cancel", "retry", "priority", "timeout")},
    _task_action,
)


# --- DLQ and agents ----------------------------------------------------------------------------


@router.post("/ui/dlq/{task_id}/requeue")
async def requeue(request: Request, task_id: str) -> Response:
    who = await changing_visitor(request)
    services = services_of(request)
    service = services.dlq
    async with services.db.transaction() as tx:
        task = await service.requeue(tx, who.principal, task_id, "requeued in the console")
    return render(
        request, "dlq_requeued.html", who, {"t": task}, headers=flash(f"requeued {task_id}")
    )


async def _agent_status(request: Request, agent_id: str, status: str) -> Response:
    who = await changing_visitor(request)
    services = services_of(request)
    patch = AgentPatch.model_validate({"status": status})
    async with services.db.transaction() as tx:
        agent = await services.agents.patch(tx, who.principal, agent_id, patch)
    async with services.db.read() as conn:
        history = await services.agents.trust_history(conn, who.principal, agent_id, 30)
    context = {
        "a": agent,
        "admin": who.principal.is_admin,
        "trust": {agent_id: trust_series(history)},
    }
    word = "released" if status == "ACTIVE" else "quarantined"
    return render(request, "agent_row.html", who, context, headers=flash(f"{agent_id} {word}"))


post_actions(
    router,
    "/ui/agents/{agent_id}",
    "agent_id",
    {"quarantine": "QUARANTINED", "release": "ACTIVE"},
    _agent_status,
)
