"""What `/openapi.json` says about answers: the success schema each route declares, and the
problem+json errors each route can give, documented as `ains.http.problem` sends them (FastAPI's
default 422 `HTTPValidationError` shape is never sent, so it is never documented)."""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field

PROBLEM_JSON = "application/problem+json"
PROBLEM_REF = "#/components/schemas/Problem"
# routes anyone may call, with no credentials
PUBLIC_PATHS = frozenset({"/health", "/ready"})

ERROR_DESCRIPTIONS = {
    400: "Bad Request: a NUL character in the path or query string",
    401: "Unauthorized: no valid credentials",
    403: "Forbidden: the caller may see this but not do it",
    404: "Not Found: unknown, or not visible to the caller",
    409: "Conflict: the resource's state does not allow this",
    413: "Content Too Large: the body is over AINS_MAX_BODY_BYTES",
    415: "Unsupported Media Type: a body that is not JSON",
    422: "Unprocessable Content: errors names each field and why",
    429: "Too Many Requests: rate limited (Retry-After tells when to come back)",
    503: "Service Unavailable",
}


class FieldProblem(BaseModel):
    field: str
    reason: str


class Problem(BaseModel):
    """RFC 9457 problem details, as every error is sent."""

    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int
    detail: str
    errors: list[FieldProblem] | None = None


class HealthOut(BaseModel):
    status: str
    version: str


class ReadyOut(BaseModel):
    status: str = Field(description="ready, or degraded when an optional service (Redis) is down")
    database: str
    redis: str | None = Field(None, description="ok or degraded, when AINS_REDIS_URL is set")
    redis_problem: str | None = None


SERVICE_UNAVAILABLE: dict[int | str, dict[str, Any]] = {}
CONFLICT: dict[int | str, dict[str, Any]] = {}


def returns(
    model: type[BaseModel], status: int = 200, *, conflict: bool = False, replays: bool = False
) -> dict[int | str, dict[str, Any]]:
    """`responses=` of a route: its success model, 409 when its state can forbid it, and 200
    with the same model when a repeated idempotency key replays the original."""
    responses: dict[int | str, dict[str, Any]] = {status: {"model": model}}
    if replays:
        responses[200] = {
            "model": model,
            "description": "a repeated idempotency key: the original (Idempotent-Replayed: true)",
        }
    if conflict:
        responses[409] = _error(409)
    return responses


def _error(status: int) -> dict[str, Any]:
    return {
        "description": ERROR_DESCRIPTIONS[status],
        "content": {PROBLEM_JSON: {"schema": {"$ref": PROBLEM_REF}}},
    }


SERVICE_UNAVAILABLE[503] = _error(503)
CONFLICT[409] = _error(409)


def _errors_of(route: APIRoute) -> list[int]:
    """The errors any route of this shape can give, besides the ones it declares itself."""
    statuses = [400]
    dependant = route.dependant
    has_params = bool(
        dependant.path_params or dependant.query_params or dependant.header_params
    ) or any(d.query_params or d.path_params for d in dependant.dependencies)
    if route.path_format not in PUBLIC_PATHS:
        statuses += [401, 403, 429]
    if dependant.path_params:
        statuses.append(404)
    if route.body_field is not None:
        statuses += [413, 415]
    if has_params or route.body_field is not None:
        statuses.append(422)
    return statuses


def declare_errors(app: FastAPI) -> None:
    for route in app.router.routes:
        if isinstance(route, APIRoute) and route.include_in_schema:
            for status in _errors_of(route):
                route.responses.setdefault(status, _error(status))


def install_openapi(app: FastAPI) -> None:
    """Replaces `app.openapi` with one that adds the problem schema and keeps, of a success
    answer, only the model its route declares."""
    declare_errors(app)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            _add_problem(schema)
            for operation in _operations(schema):
                _keep_declared_model(operation)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _operations(schema: dict[str, Any]) -> list[dict[str, Any]]:
    return [op for ops in schema.get("paths", {}).values() for op in ops.values()]


def _add_problem(schema: dict[str, Any]) -> None:
    definitions = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components.update(definitions.pop("$defs", {}))
    components["Problem"] = definitions


def _keep_declared_model(operation: dict[str, Any]) -> None:
    """A route returning a plain dict documents it as an open object; where the route
    declares its model (`returns`), the model alone describes the answer."""
    for status, response in operation.get("responses", {}).items():
        if not re.fullmatch(r"2\d\d", status):
            continue
        for content in response.get("content", {}).values():
            schema = content.get("schema", {})
            if "$ref" in schema and len(schema) > 1:
                content["schema"] = {"$ref": schema["$ref"]}
