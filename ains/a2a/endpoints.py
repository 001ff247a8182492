"""A2A over HTTP: the AgentCards, the JSON-RPC binding (1.0 and 0.3 method names) and the
HTTP+JSON binding. The caller is resolved as for REST; the SDK's dispatchers then parse the
protocol and call `AinsRequestHandler`."""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Awaitable, Callable
from types import ModuleType
from typing import Any

from a2a.utils.constants import PROTOCOL_VERSION_1_0, VERSION_HEADER
from fastapi import APIRouter, Request, Response
from fastapi.responses import StreamingResponse
from google.protobuf.json_format import MessageToDict

from ains import json_input
from ains.a2a import card
from ains.a2a.card import JSONRPC_PATH, REST_PATH
from ains.http import FastJSONResponse, ValidatedRoute, caller

router = APIRouter(route_class=ValidatedRoute, tags=["a2a"])

Endpoint = Callable[[Request], Awaitable[Response]]
# picks the dispatcher's method once `ains.a2a.dispatch` is loaded
Pick = Callable[[ModuleType], Endpoint]
_dispatch_module: ModuleType | None = None


async def _dispatchers() -> ModuleType:
    global _dispatch_module
    if _dispatch_module is None:
        # in a thread: the event loop keeps serving while the SDK loads
        _dispatch_module = await asyncio.to_thread(importlib.import_module, "ains.a2a.dispatch")
    return _dispatch_module


def answers(what: str, *, stream: bool = False) -> dict[int | str, dict[str, Any]]:
    """`responses=` of an A2A route: the protocol object it answers (its JSON form in a2a-sdk
    1.x; docs/a2a.md), as JSON or, for a stream, as Server-Sent Events of such objects."""
    media = "text/event-stream" if stream else "application/json"
    schema = {"type": "object", "description": f"{what}, in the A2A protocol's JSON form"}
    return {200: {"description": what, "content": {media: {"schema": schema}}}}


async def _dispatch(
    request: Request, pick: Pick, task_id: str | None = None, *, rest: bool = True
) -> Response:
    await caller(request)
    if rest and VERSION_HEADER not in request.headers:
        # HTTP+JSON is served in 1.0 only: a request that names no version means 1.0 here
        # (on JSON-RPC no version means 0.3, whose method names are served too)
        request.scope["headers"] = [
            *request.scope["headers"],
            (VERSION_HEADER.lower().encode(), PROTOCOL_VERSION_1_0.encode()),
        ]
        request = Request(request.scope, request.receive)  # its headers are read anew
    if task_id is not None:
        request.scope["path_params"]["id"] = task_id
    body = await request.body()  # kept by the request for the dispatcher to parse
    if body:
        # refused as on every REST route: NUL, lone surrogates, non-finite numbers, depth
        json_input.decode(body, request.app.state.services.settings.max_json_depth)
    return await pick(await _dispatchers())(request)


def _card_response(agent_card: Any) -> Response:
    return FastJSONResponse(MessageToDict(agent_card))


@router.get("/.well-known/agent-card.json", responses=answers("the network's AgentCard"))
async def network_agent_card(request: Request) -> Response:
    services, _principal = await caller(request)
    return _card_response(await card.network_card(services, str(request.base_url)))


@router.get("/a2a/agents/{agent_id}/agent-card.json", responses=answers("the agent's AgentCard"))
async def agent_agent_card(agent_id: str, request: Request) -> Response:
    services, _principal = await caller(request)
    async with services.db.read() as conn:
        row = await services.agents.get_row(conn, agent_id)
    return _card_response(card.agent_card(services.agents.view(row), str(request.base_url)))


@router.post(
    JSONRPC_PATH, responses=answers("a JSON-RPC response (a stream of them for streaming methods)")
)
async def a2a_jsonrpc(request: Request) -> Response:
    return await _dispatch(request, lambda d: d.jsonrpc.handle_requests, rest=False)


@router.post(
    f"{REST_PATH}/message:send", responses=answers("SendMessageResponse: the task, or a message")
)
async def a2a_send_message(request: Request) -> Response:
    return await _dispatch(request, lambda d: d.rest.on_message_send)


@router.post(
    f"{REST_PATH}/message:stream",
    response_class=StreamingResponse,
    responses=answers("StreamResponse events", stream=True),
)
async def a2a_send_streaming_message(request: Request) -> Response:
    return await _dispatch(request, lambda d: d.rest.on_message_send_stream)


@router.post(REST_PATH + "/tasks/{task_id}:cancel", responses=answers("the Task"))
async def a2a_cancel_task(task_id: str, request: Request) -> Response:
    return await _dispatch(request, lambda d: d.rest.on_cancel_task, task_id)


@router.get(
    REST_PATH + "/tasks/{task_id}:subscribe",
    response_class=StreamingResponse,
    responses=answers("StreamResponse events", stream=True),
)
async def a2a_subscribe_to_task(task_id: str, request: Request) -> Response:
    return await _dispatch(request, lambda d: d.rest.on_subscribe_to_task, task_id)


@router.post(
    REST_PATH + "/tasks/{task_id}:subscribe",
    response_class=StreamingResponse,
    responses=answers("StreamResponse events", stream=True),
)
async def a2a_subscribe_to_task_by_post(task_id: str, request: Request) -> Response:
    return await _dispatch(request, lambda d: d.rest.on_subscribe_to_task, task_id)


@router.get(f"{REST_PATH}/tasks", responses=answers("ListTasksResponse"))
async def a2a_list_tasks(request: Request) -> Response:
    return await _dispatch(request, lambda d: d.rest.list_tasks)


@router.get(REST_PATH + "/tasks/{task_id}", responses=answers("the Task"))
async def a2a_get_task(task_id: str, request: Request) -> Response:
    return await _dispatch(request, lambda d: d.rest.on_get_task, task_id)


@router.post(
    REST_PATH + "/tasks/{task_id}/pushNotificationConfigs",
    responses=answers("the TaskPushNotificationConfig"),
)
async def a2a_create_push_config(task_id: str, request: Request) -> Response:
    return await _dispatch(request, lambda d: d.rest.set_push_notification, task_id)


@router.get(
    REST_PATH + "/tasks/{task_id}/pushNotificationConfigs",
    responses=answers("ListTaskPushNotificationConfigsResponse"),
)
async def a2a_list_push_configs(task_id: str, request: Request) -> Response:
    return await _dispatch(request, lambda d: d.rest.list_push_notifications, task_id)


@router.get(
    REST_PATH + "/tasks/{task_id}/pushNotificationConfigs/{push_id}",
    responses=answers("the TaskPushNotificationConfig"),
)
async def a2a_get_push_config(task_id: str, push_id: str, request: Request) -> Response:
    return await _dispatch(request, lambda d: d.rest.get_push_notification, task_id)


@router.delete(
    REST_PATH + "/tasks/{task_id}/pushNotificationConfigs/{push_id}",
    responses=answers("an empty object"),
)
async def a2a_delete_push_config(task_id: str, push_id: str, request: Request) -> Response:
    return await _dispatch(request, lambda d: d.rest.delete_push_notification, task_id)


@router.get(f"{REST_PATH}/extendedAgentCard", responses=answers("the extended AgentCard"))
async def a2a_extended_agent_card(request: Request) -> Response:
    return await _dispatch(request, lambda d: d.rest.handle_authenticated_agent_card)
