"""The A2A request handler: every A2A method on our task services, with the caller's
principal (resolved as for REST before the SDK's dispatchers run)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable
from datetime import UTC
from typing import Any, NoReturn, TypeVar, cast

from a2a.server.context import ServerCallContext
from a2a.server.events.event_queue import Event
from a2a.server.request_handlers.request_handler import RequestHandler
from a2a.types.a2a_pb2 import (
    AgentCard,
    CancelTaskRequest,
    DeleteTaskPushNotificationConfigRequest,
    GetExtendedAgentCardRequest,
    GetTaskPushNotificationConfigRequest,
    GetTaskRequest,
    ListTaskPushNotificationConfigsRequest,
    ListTaskPushNotificationConfigsResponse,
    ListTasksRequest,
    ListTasksResponse,
    Message,
    SendMessageRequest,
    SubscribeToTaskRequest,
    Task,
    TaskPushNotificationConfig,
    TaskState,
)
from a2a.utils.errors import (
    A2AError,
    InternalError,
    InvalidParamsError,
    InvalidRequestError,
    TaskNotCancelableError,
    TaskNotFoundError,
)

from ains.a2a import card, convert, push
from ains.a2a.states import FINAL, from_a2a
from ains.events.stream import StreamFilter
from ains.exceptions import AinsError, BadRequest, Conflict, NotFound, Unprocessable
from ains.security.principals import Principal
from ains.services import Services

R = TypeVar("R")
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 100


def _caller(context: ServerCallContext) -> tuple[Services, Principal]:
    return context.state["services"], context.state["principal"]


def _translate(exc: AinsError) -> NoReturn:
    if isinstance(exc, NotFound):
        raise TaskNotFoundError(exc.detail) from exc
    if isinstance(exc, Conflict):
        raise TaskNotCancelableError(exc.detail) from exc
    if isinstance(exc, BadRequest | Unprocessable):
        raise InvalidParamsError(exc.detail) from exc
    if exc.status_code < 500:
        raise InvalidRequestError(exc.detail) from exc
    raise InternalError(exc.detail) from exc


async def _ours(call: Awaitable[R]) -> R:
    """Our service errors as the A2A errors the dispatchers know how to answer."""
    try:
        return await call
    except AinsError as exc:
        _translate(exc)


class AinsRequestHandler(RequestHandler):
    # --- reads ---------------------------------------------------------------------------

    async def _view(self, services: Services, principal: Principal, task_id: str) -> Any:
        async with services.db.read() as conn:
            return await services.tasks.details(conn, principal, task_id)

    async def on_get_task(self, params: GetTaskRequest, context: ServerCallContext) -> Task:
        services, principal = _caller(context)
        return convert.to_task(await _ours(self._view(services, principal, params.id)))

    async def on_list_tasks(
        self, params: ListTasksRequest, context: ServerCallContext
    ) -> ListTasksResponse:
        services, principal = _caller(context)
        size = params.page_size or DEFAULT_PAGE_SIZE
        if not 1 <= size <= MAX_PAGE_SIZE:
            raise InvalidParamsError(f"pageSize: between 1 and {MAX_PAGE_SIZE}")
        filters: dict[str, Any] = {}
        if params.status != TaskState.TASK_STATE_UNSPECIFIED:
            statuses = from_a2a(params.status)
            if not statuses:
                return ListTasksResponse(page_size=size)
            filters["status"] = ",".join(statuses)
        if params.context_id:
            filters["where"] = [convert.in_context(params.context_id)]
        if params.HasField("status_timestamp_after"):
            filters["updated_after"] = params.status_timestamp_after.ToDatetime(tzinfo=UTC)
        async with services.db.read() as conn:
            page = await _ours(
                services.tasks.list(
                    conn,
                    principal,
                    filters=filters,
                    cursor=params.page_token or None,
                    limit=size,
                    count=True,
                )
            )
        include = params.include_artifacts
        tasks = [convert.to_task(view, include_artifacts=include) for view in page["items"]]
        return ListTasksResponse(
            tasks=tasks,
            next_page_token=page["next_cursor"] or "",
            page_size=size,
            total_size=page["total"],
        )

    # --- send and cancel -----------------------------------------------------------------

    async def _submit(
        self, params: SendMessageRequest, context: ServerCallContext
    ) -> dict[str, Any]:
        services, principal = _caller(context)
        item = convert.submission(params)
        asked: TaskPushNotificationConfig | None = None
        if params.configuration.HasField("task_push_notification_config"):
            # checked before the task exists, so a refused config leaves no task behind
            asked = TaskPushNotificationConfig()
            asked.CopyFrom(params.configuration.task_push_notification_config)
            await _ours(services.webhooks.check_destination(push.webhook_for(asked).url))
        submitted = await _ours(services.tasks.submit_one(services.db, principal, item))
        if asked is not None:
            asked.task_id = submitted.task["task_id"]
            await self.on_create_task_push_notification_config(asked, context)
        return submitted.task

    async def on_message_send(
        self, params: SendMessageRequest, context: ServerCallContext
    ) -> Task | Message:
        services, principal = _caller(context)
        view = await self._submit(params, context)
        if params.configuration.return_immediately:
            return convert.to_task(view)
        last: Task | None = None
        async for event in self._follow(services, principal, view["task_id"]):
            if isinstance(event, Task):
                last = event
        assert last is not None
        return last

    async def on_message_send_stream(
        self, params: SendMessageRequest, context: ServerCallContext
    ) -> AsyncGenerator[Event]:
        services, principal = _caller(context)
        view = await self._submit(params, context)
        async for event in self._follow(services, principal, view["task_id"], updates=True):
            yield event

    async def on_subscribe_to_task(
        self, params: SubscribeToTaskRequest, context: ServerCallContext
    ) -> AsyncGenerator[Event]:
        services, principal = _caller(context)
        async for event in self._follow(services, principal, params.id, updates=True):
            yield event

    async def on_cancel_task(self, params: CancelTaskRequest, context: ServerCallContext) -> Task:
        services, principal = _caller(context)
        async with services.db.transaction() as tx:
            view = await _ours(services.control.cancel(tx, principal, params.id, "A2A CancelTask"))
        return convert.to_task(view)

    async def _follow(
        self, services: Services, principal: Principal, task_id: str, updates: bool = False
    ) -> AsyncIterator[Event]:
        """The task now, then (with ``updates``) a status update per change of A2A state and
        the result artifact, until a final state; without ``updates`` only the final task."""
        told: int | None = None  # the A2A state last told, None before the first answer
        view: dict[str, Any] | None = None
        async with contextlib.aclosing(self._views(services, principal, task_id)) as views:
            async for view in views:
                state = convert.to_task(view).status.state
                if told is None and (updates or state in FINAL):
                    yield convert.to_task(view)
                    if state in FINAL:
                        return
                elif told is not None and state != told and updates and state not in FINAL:
                    yield convert.status_update(view)
                told = state
                if state in FINAL:
                    break
        if view is None or told not in FINAL:  # the stream ended for good (key revoked, drain)
            return
        if not updates:
            yield convert.to_task(view)
            return
        artifact = convert.result_artifact(view)
        if artifact is not None:
            yield convert.artifact_update(view, artifact)
        yield convert.status_update(view)

    async def _views(
        self, services: Services, principal: Principal, task_id: str
    ) -> AsyncGenerator[dict[str, Any]]:
        """The task as it is once its stream is attached, then anew at each of its events,
        until the stream ends for good; a stream that fell behind a busy server is followed
        anew (attached again, then the task read again: no change can be missed)."""
        only_this = StreamFilter(task_ids=frozenset({task_id}))
        while True:
            try:
                sub = services.streams.open(principal)
            except AinsError as exc:
                _translate(exc)
            stream = cast(
                AsyncGenerator[dict[str, Any]], services.streams.messages(sub, only_this, None)
            )
            try:
                async with contextlib.aclosing(stream) as messages:
                    await anext(messages)  # attached: no event after this point can be missed
                    yield await _ours(self._view(services, principal, task_id))
                    async for message in messages:
                        if message.get("type") != "queue.stats":
                            yield await _ours(self._view(services, principal, task_id))
                if sub.revoked or services.drain.draining:
                    return
            finally:
                services.streams.close(sub)

    # --- push notifications and the extended card -------------------------------------

    async def on_create_task_push_notification_config(
        self, params: TaskPushNotificationConfig, context: ServerCallContext
    ) -> TaskPushNotificationConfig:
        services, principal = _caller(context)
        body = push.webhook_for(params)
        async with services.db.transaction() as tx:
            await _ours(services.tasks.get_visible(tx.conn, principal, params.task_id))
            created = await _ours(
                services.webhooks.create(tx, principal, body, task_id=params.task_id)
            )
        return push.config(params.task_id, created["webhook_id"], created["url"], body.secret)

    async def _push_row(self, context: ServerCallContext, task_id: str, config_id: str) -> Any:
        services, principal = _caller(context)
        async with services.db.read() as conn:
            await _ours(services.tasks.get_visible(conn, principal, task_id))
            rows = await services.webhooks.for_task(conn, principal, task_id)
        for row in rows:
            if row.webhook_id == config_id:
                return row
        raise TaskNotFoundError(f"push notification config {config_id} not found")

    async def on_get_task_push_notification_config(
        self, params: GetTaskPushNotificationConfigRequest, context: ServerCallContext
    ) -> TaskPushNotificationConfig:
        row = await self._push_row(context, params.task_id, params.id)
        return push.config(params.task_id, row.webhook_id, row.url)

    async def on_list_task_push_notification_configs(
        self, params: ListTaskPushNotificationConfigsRequest, context: ServerCallContext
    ) -> ListTaskPushNotificationConfigsResponse:
        services, principal = _caller(context)
        async with services.db.read() as conn:
            await _ours(services.tasks.get_visible(conn, principal, params.task_id))
            rows = await services.webhooks.for_task(conn, principal, params.task_id)
        return ListTaskPushNotificationConfigsResponse(
            configs=[push.config(params.task_id, r.webhook_id, r.url) for r in rows]
        )

    async def on_delete_task_push_notification_config(
        self, params: DeleteTaskPushNotificationConfigRequest, context: ServerCallContext
    ) -> None:
        services, principal = _caller(context)
        row = await self._push_row(context, params.task_id, params.id)
        async with services.db.transaction() as tx:
            await _ours(services.webhooks.delete(tx, principal, row.webhook_id))

    async def on_get_extended_agent_card(
        self, params: GetExtendedAgentCardRequest, context: ServerCallContext
    ) -> AgentCard:
        services, _principal = _caller(context)
        return await card.network_card(services, context.state["base_url"])


__all__ = ["A2AError", "AinsRequestHandler"]
