"""Rendering console pages: the templates, their helpers, and the headers every page carries."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlencode

from fastapi import APIRouter, Request
from fastapi.templating import Jinja2Templates
from starlette.responses import Response

from ains import json_input
from ains.exceptions import Unprocessable
from ains.ui.session import SECURITY_HEADERS, Visitor

if TYPE_CHECKING:
    from ains.services import Services

HERE = Path(__file__).parent
STATIC_DIR = HERE / "static"
templates = Jinja2Templates(directory=HERE / "templates")

NAV = (
    ("/ui", "Overview"),
    ("/ui/tasks", "Tasks"),
    ("/ui/agents", "Agents"),
    ("/ui/dlq", "DLQ"),
    ("/ui/schedules", "Schedules"),
    ("/ui/webhooks", "Webhooks"),
    ("/ui/analytics", "Analytics"),
)
ADMIN_NAV = (("/ui/keys", "API keys"),)


def services_of(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


Act = Callable[[Request, str, str], Awaitable[Response]]


def post_actions(
    router: APIRouter, path: str, param: str, actions: Mapping[str, str], act: Act
) -> None:
    """Registers ``POST {path}/{suffix}`` for each suffix of ``actions``, each answered by
    ``act(request, <the {param} of the path>, actions[suffix])``: the console's buttons that
    do one of several things to one object."""

    def route(what: str) -> Callable[[Request], Awaitable[Response]]:
        async def handler(request: Request) -> Response:
            return await act(request, request.path_params[param], what)

        return handler

    for suffix, what in actions.items():
        router.post(f"{path}/{suffix}", name=f"{path}/{suffix}")(route(what))


def ts(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else "—"


def iso(value: datetime | None) -> str:
    return value.isoformat() if value else ""


def pct(value: float | None) -> str:
    """A percentage the analytics already give in percent (0–100)."""
    return "—" if value is None else f"{value:.1f} %"


def pretty(value: Any) -> str:
    if value is None:
        return "—"
    return json.dumps(value, indent=2, sort_keys=True, default=str, ensure_ascii=False)


templates.env.globals.update(ts=ts, iso=iso, pct=pct, pretty=pretty)


def render(
    request: Request,
    name: str,
    who: Visitor | None,
    context: dict[str, Any],
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    nav = NAV + ADMIN_NAV if who and who.principal.is_admin else NAV
    page = {"who": who, "nav": nav, "current": request.url.path, **context}
    response = templates.TemplateResponse(request, name, page, status_code=status_code)
    response.headers.update(SECURITY_HEADERS)
    response.headers.update(headers or {})
    return response


def flash(message: str) -> dict[str, str]:
    """An htmx response header that makes the page announce `message` (see ui.js)."""
    return {"HX-Trigger": json.dumps({"ains:flash": message})}


async def form_fields(request: Request) -> dict[str, list[str]]:
    """An `application/x-www-form-urlencoded` body (what htmx and plain forms send), or a flat
    JSON object for scripts (a list value gives several values of one field)."""
    body = await request.body()
    content_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if content_type == "application/json" and body:
        services: Services = request.app.state.services
        decoded = json_input.decode(body, services.settings.max_json_depth)
        if not isinstance(decoded, dict):
            raise Unprocessable.field("body", "must be a JSON object")
        return {
            str(k): [str(x) for x in (v if isinstance(v, list) else [v])]
            for k, v in decoded.items()
            if v is not None
        }
    return parse_qs(body.decode("utf-8", errors="replace"), max_num_fields=2000)


def first(fields: dict[str, list[str]], name: str) -> str | None:
    values = fields.get(name)
    return values[0] if values else None


def query_without(params: dict[str, str], *names: str, **extra: str) -> str:
    kept = {k: v for k, v in params.items() if v and k not in names}
    return urlencode({**kept, **extra})
