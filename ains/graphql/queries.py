"""Query: task, tasks, queueStatus, statistics — through the services REST uses."""

from __future__ import annotations

from datetime import datetime

import strawberry

from ains.analytics.schemas import Period
from ains.exceptions import NotFound, Unprocessable
from ains.graphql.context import Info
from ains.graphql.inputs import TaskFilter, storable
from ains.graphql.types import PageInfo, QueueStatus, Statistics, Task, TaskConnection, TaskEdge
from ains.pagination import encode_cursor

DEFAULT_PAGE = 50
PERIODS: tuple[Period, ...] = ("last_24_hours", "last_7_days", "last_30_days", "all", "custom")


@strawberry.type
class Query:
    @strawberry.field(
        description="A task the caller may see; null (with a NOT_FOUND error) otherwise, as "
        "REST's 404."
    )
    async def task(self, info: Info, id: strawberry.ID) -> Task | None:
        view = await info.context.loaders.tasks.load(str(id))
        if view is None:
            raise NotFound(f"task {id} not found")
        return Task.of(view)

    @strawberry.field(
        description="The tasks the caller may see, newest task id first; `first` is at most "
        "AINS_MAX_PAGE_SIZE, `after` an `endCursor`."
    )
    async def tasks(
        self,
        info: Info,
        filter: TaskFilter | None = None,
        first: int = DEFAULT_PAGE,
        after: str | None = None,
    ) -> TaskConnection:
        services = info.context.services
        most = services.settings.max_page_size
        if not 1 <= first <= most:
            raise Unprocessable.field("first", f"must be between 1 and {most}")
        filters = filter.as_filters() if filter else {}
        async with services.db.read() as conn:
            page = await services.tasks.list(
                conn, info.context.principal, filters=filters, cursor=after, limit=first
            )
        edges = [
            TaskEdge(cursor=encode_cursor("t", view["task_id"]), node=Task.of(view))
            for view in page["items"]
        ]
        for view in page["items"]:  # the page's rows are read: later `task(id)` asks need not
            info.context.loaders.tasks.prime(view["task_id"], view)
        return TaskConnection(
            edges=edges,
            page_info=PageInfo(
                has_next_page=page["next_cursor"] is not None,
                has_previous_page=after is not None,
                start_cursor=edges[0].cursor if edges else None,
                end_cursor=edges[-1].cursor if edges else None,
            ),
        )

    @strawberry.field(description="The PENDING queue the caller may see.")
    async def queue_status(self, info: Info) -> QueueStatus:
        services = info.context.services
        async with services.db.read() as conn:
            return QueueStatus.of(await services.queue.stats(conn, info.context.principal))

    @strawberry.field(
        description="Analytics summary of the caller's tasks: `period` is last_24_hours, "
        "last_7_days (default), last_30_days, all or custom (with start and/or end)."
    )
    async def statistics(
        self,
        info: Info,
        period: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> Statistics:
        services = info.context.services
        if period is not None and period not in PERIODS:
            raise Unprocessable.field("period", f"must be one of {', '.join(PERIODS)}")
        analytics = services.analytics
        start, end = storable("start", start), storable("end", end)
        window = analytics.window(period, start, end)
        async with services.db.read(snapshot=True) as conn:
            summary = await analytics.summary(conn, info.context.principal, window)
        return Statistics.of(summary)
