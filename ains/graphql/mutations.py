"""Mutation: the nine changes of seed 004, each one REST call's service method in its own
transaction, checked by the same body models."""

from __future__ import annotations

import strawberry

from ains.batches.schemas import BatchIn
from ains.exceptions import Unprocessable
from ains.graphql.context import Info
from ains.graphql.inputs import (
    BatchInput,
    ScheduleInput,
    TaskInput,
    batch_body,
    given,
    task_body,
    validate,
)
from ains.graphql.types import Batch, Schedule, Task
from ains.schedules.schemas import ScheduleIn
from ains.tasks.schemas import CancelIn, PriorityIn, RetryIn, TaskIn, TimeoutIn


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description="POST /aitp/tasks. An `idempotencyKey` replays the first submission's task."
    )
    async def create_task(
        self, info: Info, input: TaskInput, idempotency_key: str | None = None
    ) -> Task:
        services, principal = info.context.services, info.context.principal
        item = validate(TaskIn, task_body(input), "input")
        if idempotency_key is not None and not 1 <= len(idempotency_key) <= 200:
            raise Unprocessable.field("idempotencyKey", "must be 1 to 200 characters long")
        submitted = await services.tasks.submit_one(services.db, principal, item, idempotency_key)
        return Task.of(submitted.task)

    @strawberry.mutation(description="POST /aitp/tasks/batch: tasks checked one by one.")
    async def create_batch(self, info: Info, input: BatchInput) -> Batch:
        services, principal = info.context.services, info.context.principal
        body = validate(BatchIn, batch_body(input), "input")
        async with services.db.transaction() as tx:
            submitted = await services.batches.submit(tx, principal, body)
        return Batch.of(submitted.batch, submitted.replayed)

    @strawberry.mutation(description="DELETE /aitp/tasks/{task_id}.")
    async def cancel_task(self, info: Info, id: strawberry.ID, reason: str | None = None) -> Task:
        services, principal = info.context.services, info.context.principal
        why = validate(CancelIn, given_reason(reason), "").reason
        async with services.db.transaction() as tx:
            return Task.of(await services.control.cancel(tx, principal, str(id), why))

    @strawberry.mutation(description="POST /aitp/tasks/{task_id}/retry.")
    async def retry_task(self, info: Info, id: strawberry.ID, reason: str | None = None) -> Task:
        services, principal = info.context.services, info.context.principal
        why = validate(RetryIn, given_reason(reason), "").reason
        async with services.db.transaction() as tx:
            return Task.of(await services.control.retry(tx, principal, str(id), why))

    @strawberry.mutation(description="PUT /aitp/tasks/{task_id}/priority (1-10).")
    async def set_task_priority(self, info: Info, id: strawberry.ID, priority: int) -> Task:
        services, principal = info.context.services, info.context.principal
        level = validate(PriorityIn, {"priority": priority}, "").priority
        async with services.db.transaction() as tx:
            return Task.of(await services.tasks.set_priority(tx, principal, str(id), level))

    @strawberry.mutation(description="PUT /aitp/tasks/{task_id}/timeout.")
    async def set_task_timeout(self, info: Info, id: strawberry.ID, timeout_seconds: float) -> Task:
        services, principal = info.context.services, info.context.principal
        seconds = validate(TimeoutIn, {"timeout_seconds": timeout_seconds}, "").timeout_seconds
        async with services.db.transaction() as tx:
            view = await services.control.set_timeout(tx, principal, str(id), seconds)
        return Task.of(view)

    @strawberry.mutation(description="POST /aitp/tasks/schedule.")
    async def create_schedule(self, info: Info, input: ScheduleInput) -> Schedule:
        services, principal = info.context.services, info.context.principal
        body = validate(ScheduleIn, given(input), "input")
        async with services.db.transaction() as tx:
            return Schedule.of(await services.schedules.create(tx, principal, body))

    @strawberry.mutation(description="POST /aitp/tasks/schedule/{schedule_id}/pause.")
    async def pause_schedule(self, info: Info, id: strawberry.ID) -> Schedule:
        services, principal = info.context.services, info.context.principal
        async with services.db.transaction() as tx:
            return Schedule.of(await services.schedules.pause(tx, principal, str(id)))

    @strawberry.mutation(description="POST /aitp/tasks/schedule/{schedule_id}/resume.")
    async def resume_schedule(self, info: Info, id: strawberry.ID) -> Schedule:
        services, principal = info.context.services, info.context.principal
        async with services.db.transaction() as tx:
            return Schedule.of(await services.schedules.resume(tx, principal, str(id)))


def given_reason(reason: str | None) -> dict[str, str]:
    return {} if reason is None else {"reason": reason}
