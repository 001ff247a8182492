"""OpenAPI links: which answer's ids feed which operations, so that clients and stateful testers
(schemathesis) can walk from a created resource to everything done with it.

A producer is an operation whose success answer carries an id; its links go to every operation
whose path takes that id, plus the reports that also need the attempt id of a claim."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from fastapi import FastAPI

# (method, path) of an operation → the path parameter its success answer's body fills
PRODUCERS: Final[dict[tuple[str, str], str]] = {
    ("post", "/aitp/tasks"): "task_id",
    ("post", "/aitp/templates/{template_id}/tasks"): "task_id",
    ("post", "/aitp/tasks/schedule/{schedule_id}/execute"): "task_id",
    ("post", "/ains/agents"): "agent_id",
    ("post", "/ains/keys"): "key_id",
    ("post", "/aitp/tasks/batch"): "batch_id",
    ("post", "/aitp/tasks/schedule"): "schedule_id",
    ("post", "/aitp/templates"): "template_id",
    ("post", "/aitp/webhooks"): "webhook_id",
}
# a claim hands out tasks with their attempt ids: the first one is reported on
CLAIM: Final = ("post", "/aitp/agents/{agent_id}/claim")
ATTEMPT_REPORTS: Final = ("start", "heartbeat", "complete", "fail")

Links = dict[str, dict[str, Any]]


def add_links(schema: dict[str, Any]) -> dict[str, Any]:
    """Adds `links` to the success responses of the producers (in place) and returns `schema`."""
    paths: dict[str, dict[str, Any]] = schema.get("paths", {})
    for (method, path), param in PRODUCERS.items():
        links = _links_to_consumers(paths, param, f"$response.body#/{param}")
        _attach(paths, method, path, links)
    _attach(paths, *CLAIM, _claim_links(paths))
    return schema


def install_links(app: FastAPI) -> None:
    """Makes `app.openapi()` (and so `/openapi.json`) carry the links."""
    build: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = add_links(build())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _links_to_consumers(paths: dict[str, dict[str, Any]], param: str, expression: str) -> Links:
    links: Links = {}
    for path, operations in paths.items():
        if "{" + param + "}" not in path:
            continue
        for operation in operations.values():
            links[operation["operationId"]] = {
                "operationId": operation["operationId"],
                "parameters": {param: expression},
            }
    return links


def _claim_links(paths: dict[str, dict[str, Any]]) -> Links:
    links: Links = {}
    for action in ATTEMPT_REPORTS:
        operation = paths.get(f"/aitp/tasks/{{task_id}}/{action}", {}).get("post")
        if operation is None:
            continue
        links[operation["operationId"]] = {
            "operationId": operation["operationId"],
            "parameters": {"task_id": "$response.body#/tasks/0/task_id"},
            "requestBody": {"attempt_id": "$response.body#/tasks/0/attempt_id"},
        }
    return links


def _attach(paths: dict[str, dict[str, Any]], method: str, path: str, links: Links) -> None:
    operation = paths.get(path, {}).get(method)
    if operation is None or not links:
        return
    for status, response in operation.get("responses", {}).items():
        if status.startswith("2"):
            response.setdefault("links", {}).update(links)
