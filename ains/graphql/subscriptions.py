"""Subscription (graphql-transport-ws): taskUpdated from the event stream hub that feeds SSE and
/ws/tasks, and queueStatus every 5 seconds. Both count against the principal's stream cap
(AINS_MAX_STREAMS_PER_PRINCIPAL) and end when its API key is revoked."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator

import strawberry

from ains.events.stream import STATS_INTERVAL_SECONDS, StreamFilter
from ains.exceptions import Unprocessable
from ains.graphql.context import Info
from ains.graphql.types import QueueStatus, TaskUpdate
from ains.pagination import MAX_ROW_ID


@strawberry.input(description="Which task events to receive (all that the caller may see).")
class TaskUpdateFilter:
    task_ids: list[str] | None = None
    batch_id: str | None = None
    task_type: str | None = None
    status: list[str] | None = strawberry.field(
        default=None, description="The statuses the task moves to."
    )
    types: list[str] | None = strawberry.field(
        default=None, description="Event types, like task.completed or task.*."
    )

    def as_stream_filter(self) -> StreamFilter:
        return StreamFilter(
            task_ids=frozenset(self.task_ids or ()),
            batch_id=self.batch_id,
            task_type=self.task_type,
            status=frozenset(s.upper() for s in self.status or ()),
            types=frozenset(self.types or ()),
        )


@strawberry.type
class Subscription:
    @strawberry.subscription(
        description="Task events as they commit. `after` (an event id) first replays the "
        "events after it, so a client that subscribes after acting misses nothing."
    )
    async def task_updated(
        self, info: Info, filter: TaskUpdateFilter | None = None, after: int | None = None
    ) -> AsyncGenerator[TaskUpdate, None]:
        if after is not None and not 0 <= after <= MAX_ROW_ID:
            raise Unprocessable.field("after", "must be an event id (a non-negative integer)")
        streams = info.context.services.streams
        sub = streams.open(info.context.principal)
        wanted = filter.as_stream_filter() if filter else StreamFilter()
        messages = streams.messages(sub, wanted, after)
        try:
            async for message in messages:
                if message["type"] != "queue.stats":
                    yield TaskUpdate.of(message)
        finally:
            await messages.aclose()  # type: ignore[attr-defined]
            streams.close(sub)

    @strawberry.subscription(
        description="The PENDING queue the caller may see: now, then every 5 seconds."
    )
    async def queue_status(self, info: Info) -> AsyncGenerator[QueueStatus, None]:
        services, principal = info.context.services, info.context.principal
        sub = services.streams.open(principal)  # for the cap and the key's revocation only
        try:
            while not sub.revoked:
                async with services.db.read() as conn:
                    stats = await services.queue.stats(conn, principal)
                yield QueueStatus.of(stats)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(sub.queue.get(), timeout=STATS_INTERVAL_SECONDS)
        finally:
            services.streams.close(sub)
