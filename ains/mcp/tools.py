"""The MCP tools: each one the service calls its REST endpoint makes, as the caller's principal
(so it sees and may change exactly what it may over REST), audited as REST audits them."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, cast

from pydantic import BaseModel

from ains.audit import trail
from ains.batches.schemas import BatchIn
from ains.events.stream import StreamFilter
from ains.http import page_limit
from ains.mcp.schemas import (
    CancelArgs,
    ListArgs,
    SubmitTaskArgs,
    TaskIdArgs,
    WaitArgs,
    batch_schema,
    task_schema,
)
from ains.security.principals import Principal
from ains.security.ratelimit import RouteClass
from ains.services import Services
from ains.tasks.schemas import TaskIn
from ains.tasks.states import TERMINAL

Handler = Callable[[Services, Principal, Any], Awaitable[dict[str, Any]]]


@dataclass(frozen=True)
class ToolSpec:
    name: str
    description: str
    arguments: type[BaseModel]
    run: Handler
    route_class: RouteClass  # the rate limit it counts against, as its REST route
    read_only: bool
    schema: Callable[[], dict[str, Any]] | None = None

    def input_schema(self) -> dict[str, Any]:
        return self.schema() if self.schema else self.arguments.model_json_schema()


async def submit_task(services: Services, principal: Principal, args: SubmitTaskArgs) -> Any:
    # the task as REST reads its body, so a repeated idempotency key matches across both
    item = TaskIn.model_validate(args.model_dump(exclude={"idempotency_key"}, exclude_unset=True))
    submitted = await services.tasks.submit_one(services.db, principal, item, args.idempotency_key)
    return submitted.task


async def get_task(services: Services, principal: Principal, args: TaskIdArgs) -> Any:
    async with services.db.read() as conn:
        return await services.tasks.details(conn, principal, args.task_id)


async def wait_for_task(services: Services, principal: Principal, args: WaitArgs) -> Any:
    """The task once it is terminal, or as it is when `timeout_seconds` run out: woken by the
    task's own events (the stream SSE clients read), never by polling."""
    view: dict[str, Any] = {}
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(args.timeout_seconds):
            while await _follow(services, principal, args, view):
                pass  # the stream fell behind a busy server: follow the task anew
    if not view:  # no time to look even once
        view.update(await get_task(services, principal, args))
    return {"done": view["status"] in TERMINAL, "task": view}


async def _follow(
    services: Services, principal: Principal, args: WaitArgs, view: dict[str, Any]
) -> bool:
    """Keep `view` the task as it is until it is terminal or its stream ends; whether to
    follow again (not if the stream was ended for good: key revoked, server draining)."""
    sub = services.streams.open(principal)
    only_this = StreamFilter(task_ids=frozenset({args.task_id}))
    stream = cast(AsyncGenerator[dict[str, Any]], services.streams.messages(sub, only_this, None))
    try:
        async with contextlib.aclosing(stream) as messages:
            await anext(messages)  # attached: no event after this point can be missed
            view.update(await get_task(services, principal, args))
            if view["status"] in TERMINAL:
                return False
            async for message in messages:
                if message.get("type") == "queue.stats":
                    continue
                view.update(await get_task(services, principal, args))
                if view["status"] in TERMINAL:
                    return False
            return not (sub.revoked or services.drain.draining)
    finally:
        services.streams.close(sub)


async def cancel_task(services: Services, principal: Principal, args: CancelArgs) -> Any:
    async with services.db.transaction() as tx:
        done = await services.control.cancel(tx, principal, args.task_id, args.reason)
        await trail.record(
            tx.conn, principal, "task.cancel", now=services.clock(), target_type="task",
            target_id=args.task_id,
        )  # fmt: skip
    return done


async def list_tasks(services: Services, principal: Principal, args: ListArgs) -> Any:
    filters = args.model_dump(exclude={"cursor", "limit"})
    async with services.db.read() as conn:
        return await services.tasks.list(
            conn,
            principal,
            filters=filters,
            cursor=args.cursor,
            limit=page_limit(args.limit, services),
        )


async def submit_batch(services: Services, principal: Principal, args: BatchIn) -> Any:
    async with services.db.transaction() as tx:
        submitted = await services.batches.submit(tx, principal, args)
        if not submitted.replayed:
            batch = submitted.batch
            await trail.record(
                tx.conn, principal, "batch.submit", now=services.clock(), target_type="batch",
                target_id=batch["batch_id"], detail=trail.listed(batch["task_ids"]),
            )  # fmt: skip
    return submitted.batch


TOOLS: dict[str, ToolSpec] = {
    spec.name: spec
    for spec in (
        ToolSpec(
            "submit_task",
            "Submit a task (as POST /aitp/tasks): it is routed to an online agent offering "
            "`capability_required`. Answers the task; wait_for_task gives its result.",
            SubmitTaskArgs,
            submit_task,
            "submit",
            read_only=False,
            schema=task_schema,
        ),
        ToolSpec(
            "get_task",
            "One task with its status, result, history and attempts (GET /aitp/tasks/{id}).",
            TaskIdArgs,
            get_task,
            "read",
            read_only=True,
        ),
        ToolSpec(
            "wait_for_task",
            "Wait until a task is COMPLETED, FAILED, CANCELLED or TIMED_OUT (at most "
            "`timeout_seconds`); answers {done, task}: done is false if it is still running.",
            WaitArgs,
            wait_for_task,
            "read",
            read_only=True,
        ),
        ToolSpec(
            "cancel_task",
            "Cancel a task that has not finished (DELETE /aitp/tasks/{id}).",
            CancelArgs,
            cancel_task,
            "submit",
            read_only=False,
        ),
        ToolSpec(
            "list_tasks",
            "A page of the tasks the caller may see, newest first, with filters; pass "
            "`next_cursor` back as `cursor` for the next page (GET /aitp/tasks).",
            ListArgs,
            list_tasks,
            "read",
            read_only=True,
        ),
        ToolSpec(
            "submit_batch",
            "Submit several tasks at once (POST /aitp/tasks/batch); tasks of the batch may "
            "depend on each other by `ref`. Answers the batch with a result per task.",
            BatchIn,
            submit_batch,
            "submit",
            read_only=False,
            schema=batch_schema,
        ),
    )
}
