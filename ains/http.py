"""HTTP plumbing shared by every router: fast JSON responses, problem+json errors, body limits,
and the dependencies handlers use."""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ains import json_input, json_output
from ains.audit.actions import action_of, is_audited_change, target_of
from ains.audit.trail import ANONYMOUS
from ains.exceptions import AinsError, BadRequest, FieldError, UnsupportedMediaType
from ains.metrics.middleware import UNMATCHED, route_template
from ains.security.auth import TooManyFailures
from ains.security.principals import Principal

if TYPE_CHECKING:
    from ains.services import Services

log = logging.getLogger("ains.http")


def _default(value: Any) -> Any:
    if isinstance(value, set | frozenset):
        return sorted(value)
    raise TypeError


class FastJSONResponse(JSONResponse):
    def render(self, content: Any) -> bytes:
        return json_output.dumps(content, _default)


def problem(
    status: int, title: str, detail: str, errors: list[FieldError] | None = None, **extra: Any
) -> Response:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
    }
    if errors:
        body["errors"] = [{"field": e.field, "reason": e.reason} for e in errors]
    body.update(extra)
    return Response(
        json_output.dumps(body, _default),
        status_code=status,
        media_type="application/problem+json",
    )


def _field_name(loc: tuple[Any, ...]) -> str:
    parts = list(loc)
    if parts and parts[0] in ("body", "query", "path", "header"):
        parts = parts[1:]
    name = ""
    for part in parts:
        name += f"[{part}]" if isinstance(part, int) else (f".{part}" if name else str(part))
    return name or "body"


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(AinsError)
    async def _ains(request: Request, exc: AinsError) -> Response:
        if _audited(request, exc):
            await _audit_denial(request, exc)
        response = problem(exc.status_code, exc.title, exc.detail, exc.errors, **exc.extra)
        response.headers.update(exc.headers)
        return response

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> Response:
        errors = []
        for err in exc.errors():
            reason = str(err.get("msg", "invalid"))
            if err.get("type") == "json_invalid":
                reason = "request body is not valid JSON"
            elif err.get("type") == "extra_forbidden":
                reason = "unknown field"
            errors.append(FieldError(_field_name(tuple(err.get("loc", ()))), reason))
        detail = "; ".join(f"{e.field}: {e.reason}" for e in errors[:5])
        return problem(422, "Unprocessable Content", detail, errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> Response:
        titles = {404: "Not Found", 405: "Method Not Allowed"}
        return problem(exc.status_code, titles.get(exc.status_code, "Error"), str(exc.detail))

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, exc: Exception) -> Response:
        log.exception("unhandled error", exc_info=exc)
        return problem(500, "Internal Server Error", "an unexpected error occurred; it was logged")


def peer_of(request: Request) -> str | None:
    """The TCP peer's address (uvicorn runs without proxy headers, so never a forwarded one)."""
    return request.client.host if request.client else None


def _audited(request: Request, exc: AinsError) -> bool:
    """Every denial (401, 403, 429), and every other refusal of a change."""
    if exc.status_code in (401, 403, 429) or isinstance(exc, TooManyFailures):
        return True
    template = route_template(request.scope)
    return 400 <= exc.status_code < 500 and is_audited_change(request.method, template)


async def _audit_denial(request: Request, exc: AinsError) -> None:
    services: Services = request.app.state.services
    principal = getattr(request.state, "principal", None) or ANONYMOUS
    template = route_template(request.scope)
    if template == UNMATCHED:
        action = f"{request.method} {request.url.path}"
    else:
        action = action_of(request.method, template)
    target = target_of(request.path_params)
    source = peer_of(request) or "unknown"
    await services.auth.denials.deny(principal, source, action, exc.status_code, exc.detail, target)


Handler = Callable[[Request], Coroutine[Any, Any, Response]]


class ValidatedRoute(APIRoute):
    """Every route of the API: refuses NUL characters in the path and query string, and decodes
    a JSON body through `ains.json_input` (orjson plus one checking pass) before FastAPI
    parses it, so that no handler ever sees a value the databases would refuse."""

    def get_route_handler(self) -> Handler:
        handler = super().get_route_handler()
        has_body = self.body_field is not None

        async def validated(request: Request) -> Response:
            _refuse_nul_in_url(request)
            if has_body:
                await _decode_body(request)
            return await handler(request)

        return validated


def _refuse_nul_in_url(request: Request) -> None:
    if b"%00" in request.scope.get("query_string", b""):
        raise BadRequest(
            "the query string must not contain NUL (%00) characters",
            errors=[FieldError("query", "must not contain NUL (%00) characters")],
        )
    if "\x00" in request.scope["path"]:
        raise BadRequest(
            "the path must not contain NUL (%00) characters",
            errors=[FieldError("path", "must not contain NUL (%00) characters")],
        )


async def _decode_body(request: Request) -> None:
    body = await request.body()
    content_type = request.headers.get("content-type", "application/json").partition(";")[0]
    content_type = content_type.strip().lower()
    is_json = content_type.startswith("application/") and content_type.endswith("json")
    if body and not is_json:
        raise UnsupportedMediaType(
            f"request bodies are JSON: send Content-Type: application/json (got {content_type!r})",
            errors=[FieldError("Content-Type", "must be application/json")],
        )
    if body:
        services: Services = request.app.state.services
        # FastAPI reads the body through request.json(), which returns this cached value
        request._json = json_input.decode(body, services.settings.max_json_depth)


class BodyLimitMiddleware:
    """Refuses bodies over the configured size with 413 before reading them whole."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", ()):
            if name == b"content-length" and value.isdigit() and int(value) > self.max_bytes:
                await self._refuse(scope, receive, send)
                return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _TooLarge
            return message

        try:
            await self.app(scope, limited_receive, send)
        except _TooLarge:
            await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = problem(
            413,
            "Content Too Large",
            f"request body exceeds the limit of {self.max_bytes} bytes (AINS_MAX_BODY_BYTES)",
        )
        await response(scope, receive, send)


class _TooLarge(Exception):
    pass


async def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


async def current_principal(request: Request) -> Principal:
    services: Services = request.app.state.services
    principal = await services.auth.principal(
        request.headers.get("authorization"), peer_of(request)
    )
    request.state.principal = principal
    await services.rate_limits.admit(request, principal)
    return principal


async def caller(request: Request) -> tuple[Services, Principal]:
    """Services and principal without FastAPI's dependency solver, for the hottest paths."""
    services: Services = request.app.state.services
    principal = await services.auth.principal(
        request.headers.get("authorization"), peer_of(request)
    )
    request.state.principal = principal
    await services.rate_limits.admit(request, principal)
    return services, principal


ServicesDep = Annotated["Services", Depends(get_services)]
CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def page_limit(limit: int | None, services: Services) -> int:
    from ains.exceptions import Unprocessable

    if limit is None:
        return 50
    if not 1 <= limit <= services.settings.max_page_size:
        raise Unprocessable.field(
            "limit", f"must be between 1 and {services.settings.max_page_size}"
        )
    return limit
