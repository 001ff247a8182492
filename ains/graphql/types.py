"""The GraphQL object types, built from the same views the REST API answers with (field names
are the REST ones in camelCase)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from strawberry.scalars import JSON

from ains.graphql.context import Info


@strawberry.type(description="One attempt at running a task.")
class Attempt:
    attempt_id: str
    agent_id: str
    number: int
    status: str
    claimed_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    error: JSON | None
    error_type: str | None

    @classmethod
    def of(cls, view: dict[str, Any]) -> Attempt:
        values: dict[str, Any] = {name: view.get(name) for name in _ATTEMPT_FIELDS}
        return cls(**values)


_ATTEMPT_FIELDS = tuple(Attempt.__annotations__)


@strawberry.type(description="One transition of a task (its `task.*` events).")
class Transition:
    event: str
    from_status: str | None
    to_status: str | None
    at: datetime
    actor: str | None
    reason: JSON | None
    attempt_id: str | None


@strawberry.type(description="A task, as GET /aitp/tasks/{task_id} shows it.")
class Task:
    task_id: str
    client_id: str
    team: str | None
    task_type: str
    capability_required: str
    priority: int
    status: str
    assigned_agent_id: str | None
    attempt_id: str | None
    retry_count: int
    max_retries: int
    retry_policy: JSON | None
    next_retry_at: datetime | None
    last_error: JSON | None
    error_type: str | None
    timeout_seconds: float | None
    deadline: datetime | None
    visibility: str
    allowed_viewers: list[str]
    metadata: JSON | None
    depends_on: list[str]
    batch_id: str | None
    schedule_id: str | None
    template_id: str | None
    cost: float | None
    quality_score: float | None
    execution_ms: float | None
    progress: JSON | None
    lease_expires_at: datetime | None
    cancel_requested: bool
    cancelled_by: str | None
    cancelled_at: datetime | None
    cancellation_reason: JSON | None
    dead_lettered: bool
    created_at: datetime
    updated_at: datetime | None
    queued_at: datetime | None
    started_at: datetime | None
    completed_at: datetime | None
    encrypt: bool
    input_data: JSON | None
    result_data: JSON | None

    @strawberry.field(description="Its attempts, in order (loaded in one batch per query).")
    async def attempts(self, info: Info) -> list[Attempt]:
        views = await info.context.loaders.attempts.load((self.task_id, self.encrypt))
        return [Attempt.of(v) for v in views]

    @strawberry.field(description="Its transitions, in order (loaded in one batch per query).")
    async def history(self, info: Info) -> list[Transition]:
        entries = await info.context.loaders.histories.load((self.task_id, self.encrypt))
        return [Transition(**e) for e in entries]

    @strawberry.field(
        description="The tasks it depends on that the caller may see (one batch per query)."
    )
    async def dependencies(self, info: Info) -> list[Task]:
        views = await info.context.loaders.tasks.load_many(self.depends_on)
        return [Task.of(view) for view in views if view is not None]

    @classmethod
    def of(cls, view: dict[str, Any]) -> Task:
        values: dict[str, Any] = {name: view.get(name) for name in _TASK_FIELDS}
        values["allowed_viewers"] = list(values["allowed_viewers"] or [])
        values["depends_on"] = list(values["depends_on"] or [])
        values["cancel_requested"] = bool(values["cancel_requested"])
        values["dead_lettered"] = bool(values["dead_lettered"])
        values["encrypt"] = bool(values["encrypt"])
        values["retry_count"] = values["retry_count"] or 0
        return cls(**values)


_TASK_FIELDS = tuple(
    name for name, kind in Task.__annotations__.items() if not name.startswith("_")
)


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type
class TaskEdge:
    cursor: str
    node: Task


@strawberry.type(description="A page of tasks, newest task id first (Relay cursor connection).")
class TaskConnection:
    edges: list[TaskEdge]
    page_info: PageInfo

    @strawberry.field(description="The page's tasks, without their cursors.")
    def nodes(self) -> list[Task]:
        return [edge.node for edge in self.edges]


@strawberry.type
class Count:
    key: str
    count: int


@strawberry.type(description="The PENDING queue as GET /aitp/queue/stats shows it to the caller.")
class QueueStatus:
    depth: int
    by_priority: list[Count]
    by_capability: list[Count]
    by_client: list[Count]
    blocked: int
    retry_scheduled: int
    in_flight: int
    dead_lettered: int
    oldest_queued_at: datetime | None
    oldest_wait_seconds: float

    @classmethod
    def of(cls, stats: dict[str, Any]) -> QueueStatus:
        def counts(by: dict[Any, int]) -> list[Count]:
            return [Count(key=str(k), count=int(v)) for k, v in by.items()]

        return cls(
            depth=stats["depth"],
            by_priority=counts(stats["by_priority"]),
            by_capability=counts(stats["by_capability"]),
            by_client=counts(stats["by_client"]),
            blocked=stats["blocked"],
            retry_scheduled=stats["retry_scheduled"],
            in_flight=stats["in_flight"],
            dead_lettered=stats["dead_lettered"],
            oldest_queued_at=stats["oldest_queued_at"],
            oldest_wait_seconds=stats["oldest_wait_seconds"],
        )


@strawberry.type
class AgentFigure:
    agent_id: str
    completed: int
    success_rate: float | None


@strawberry.type(description="GET /aitp/analytics/summary for the caller's tasks.")
class Statistics:
    period: str
    start: datetime | None
    end: datetime | None
    total_tasks: int
    completed: int
    failed: int
    cancelled: int
    timed_out: int
    pending: int
    success_rate: float | None
    avg_execution_time_ms: float | None
    p50_execution_time_ms: float | None
    p95_execution_time_ms: float | None
    total_cost: float
    avg_quality_score: float | None
    top_agents: list[AgentFigure]

    @classmethod
    def of(cls, summary: dict[str, Any]) -> Statistics:
        values: dict[str, Any] = {name: summary.get(name) for name in _STATISTICS_FIELDS}
        for bound in ("start", "end"):
            if values[bound] is not None:
                values[bound] = datetime.fromisoformat(values[bound])
        values["top_agents"] = [AgentFigure(**a) for a in summary["top_agents"]]
        return cls(**values)


_STATISTICS_FIELDS = tuple(Statistics.__annotations__)


@strawberry.type
class BatchItem:
    index: int
    ok: bool
    task_id: str | None
    status: str | None
    ref: str | None
    error: str | None
    errors: list[FieldProblem]


@strawberry.type(description="A field and what is wrong with it.")
class FieldProblem:
    field: str
    reason: str


@strawberry.type(description="A submitted batch, as POST /aitp/tasks/batch answers.")
class Batch:
    batch_id: str
    client_id: str
    status: str
    total_tasks: int
    submitted: int
    created: int
    failed: int
    task_ids: list[str]
    results: list[BatchItem]
    created_at: datetime
    replayed: bool

    @classmethod
    def of(cls, view: dict[str, Any], replayed: bool) -> Batch:
        results = [
            BatchItem(
                index=r["index"],
                ok=r["ok"],
                task_id=r.get("task_id"),
                status=r.get("status"),
                ref=r.get("ref"),
                error=r.get("error"),
                errors=[FieldProblem(**e) for e in r.get("errors", ())],
            )
            for r in view.get("results", ())
        ]
        return cls(
            batch_id=view["batch_id"],
            client_id=view["client_id"],
            status=view["status"],
            total_tasks=view["total_tasks"],
            submitted=view.get("submitted", view["total_tasks"]),
            created=view.get("created", len(view.get("task_ids", ()))),
            failed=view.get("failed", 0),
            task_ids=list(view.get("task_ids", ())),
            results=results,
            created_at=view["created_at"],
            replayed=replayed,
        )


@strawberry.type(description="A schedule, as GET /aitp/tasks/schedule/{schedule_id} shows it.")
class Schedule:
    schedule_id: str
    client_id: str
    task_type: str
    capability_required: str
    input_data: JSON | None
    priority: int
    cron_expression: str | None
    interval_seconds: int | None
    run_at: datetime | None
    timezone: str
    template_id: str | None
    status: str
    next_run_at: datetime | None
    last_run_at: datetime | None
    total_runs: int
    failed_runs: int
    description: str | None
    missed_run_policy: str
    overlap_policy: str
    task_options: JSON
    created_by: str | None
    created_at: datetime
    updated_at: datetime | None

    @classmethod
    def of(cls, view: dict[str, Any]) -> Schedule:
        values: dict[str, Any] = {name: view.get(name) for name in _SCHEDULE_FIELDS}
        return cls(**values)


_SCHEDULE_FIELDS = tuple(Schedule.__annotations__)


@strawberry.type(description="One event about a task the subscriber may see.")
class TaskUpdate:
    event_id: int | None
    type: str
    timestamp: datetime
    task_id: str | None
    status: str | None
    previous_status: str | None
    data: JSON

    @classmethod
    def of(cls, message: dict[str, Any]) -> TaskUpdate:
        data = message["data"]
        return cls(
            event_id=message.get("event_id"),
            type=message["type"],
            timestamp=datetime.fromisoformat(message["timestamp"].replace("Z", "+00:00")),
            task_id=message.get("task_id"),
            status=message.get("status"),
            previous_status=data.get("previous_status"),
            data=data,
        )
