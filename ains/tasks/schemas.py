"""Request bodies for tasks. Inputs are snake_case; the seeds' underscore-less spellings are
accepted as aliases."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field

from ains.priorities import Priority
from ains.retries.policy import RetryPolicy
from ains.types import Timestamp

Visibility = Literal["private", "team", "public"]
NAME = Field(min_length=1, max_length=200)
# far beyond any real cost, and small enough that analytics' sums over billions stay finite
MAX_COST = 1e15


def _alias(name: str) -> AliasChoices:
    return AliasChoices(name, name.replace("_", ""))


class TaskIn(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    task_id: str | None = Field(
        None, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$", validation_alias=_alias("task_id")
    )
    client_id: str | None = Field(
        None, min_length=1, max_length=200, validation_alias=_alias("client_id")
    )
    task_type: str = Field(min_length=1, max_length=200, validation_alias=_alias("task_type"))
    capability_required: str = Field(
        min_length=1, max_length=200, validation_alias=_alias("capability_required")
    )
    input_data: Any = Field(default_factory=dict, validation_alias=_alias("input_data"))
    priority: Priority = 5
    depends_on: list[str] = Field(
        default_factory=list, max_length=100, validation_alias=_alias("depends_on")
    )
    retry_policy: RetryPolicy | None = Field(None, validation_alias=_alias("retry_policy"))
    max_retries: int | None = Field(None, ge=0, le=100, validation_alias=_alias("max_retries"))
    timeout_seconds: float | None = Field(
        None, gt=0, le=7 * 86400, validation_alias=_alias("timeout_seconds")
    )
    deadline: Timestamp | None = None
    visibility: Visibility = "private"
    allowed_viewers: list[str] = Field(
        default_factory=list, max_length=100, validation_alias=_alias("allowed_viewers")
    )
    encrypt: bool = False
    metadata: dict[str, Any] = Field(default_factory=dict)
    # inside a batch: a client-side name other tasks of the batch may list in depends_on
    ref: str | None = Field(None, min_length=1, max_length=100)

    def effective_retry_policy(self) -> RetryPolicy:
        policy = self.retry_policy or RetryPolicy()
        if self.max_retries is not None:
            policy = policy.model_copy(update={"max_retries": self.max_retries})
        return policy


class TaskToMakeLater(BaseModel):
    """The fields of a task that will be made later — by a schedule each time it fires, or
    from a template — each optional (what is missing comes from elsewhere or TaskIn's default),
    with TaskIn's limits and aliases."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    task_type: str | None = Field(
        None, min_length=1, max_length=200, validation_alias=_alias("task_type")
    )
    capability_required: str | None = Field(
        None, min_length=1, max_length=200, validation_alias=_alias("capability_required")
    )
    input_data: Any = Field(None, validation_alias=_alias("input_data"))
    priority: Priority | None = None
    retry_policy: RetryPolicy | None = Field(None, validation_alias=_alias("retry_policy"))
    max_retries: int | None = Field(None, ge=0, le=100, validation_alias=_alias("max_retries"))
    timeout_seconds: float | None = Field(
        None, gt=0, le=7 * 86400, validation_alias=_alias("timeout_seconds")
    )
    visibility: Visibility | None = None
    metadata: dict[str, Any] | None = None


LATER_TASK_FIELDS = tuple(TaskToMakeLater.model_fields)


class CancelIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str | None = Field(None, max_length=2000)


class ClaimIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    max_tasks: int = Field(1, ge=1, le=100)
    wait_seconds: float = Field(0.0, ge=0, le=30)


class AttemptIn(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    attempt_id: str = Field(min_length=1, max_length=64, validation_alias=_alias("attempt_id"))


class ProgressIn(AttemptIn):
    progress: Any = None


class CompleteIn(AttemptIn):
    result_data: Any = Field(None, validation_alias=_alias("result_data"))
    cost: float | None = Field(None, ge=0, le=MAX_COST)
    quality_score: float | None = Field(None, ge=0, le=1, validation_alias=_alias("quality_score"))


class FailIn(AttemptIn):
    error: str = Field(min_length=1, max_length=10_000)
    error_type: str | None = Field(None, max_length=200, validation_alias=_alias("error_type"))
    retryable: bool = True


class ReportIn(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    task_id: str = Field(min_length=1, max_length=64, validation_alias=_alias("task_id"))
    attempt_id: str = Field(min_length=1, max_length=64, validation_alias=_alias("attempt_id"))
    outcome: Literal["complete", "fail"]
    result_data: Any = Field(None, validation_alias=_alias("result_data"))
    cost: float | None = Field(None, ge=0, le=MAX_COST)
    quality_score: float | None = Field(None, ge=0, le=1, validation_alias=_alias("quality_score"))
    error: str | None = Field(None, max_length=10_000)
    error_type: str | None = Field(None, max_length=200, validation_alias=_alias("error_type"))
    retryable: bool = True


class ReportsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reports: list[ReportIn] = Field(min_length=1, max_length=1000)


class PriorityIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    priority: Priority


class TimeoutIn(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    timeout_seconds: float = Field(gt=0, le=7 * 86400, validation_alias=_alias("timeout_seconds"))


class RetryIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str | None = Field(None, max_length=2000)


# --- answers ----------------------------------------------------------------------------------


class HistoryEntry(BaseModel):
    event: str
    from_status: str | None
    to_status: str | None
    at: datetime
    actor: str | None
    reason: Any
    attempt_id: str | None


class AttemptOut(BaseModel):
    attempt_id: str
    agent_id: str | None
    number: int
    status: str
    claimed_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    error: Any
    error_type: str | None


class TaskOut(BaseModel):
    """A task as clients see it."""

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
    retry_policy: dict[str, Any]
    next_retry_at: datetime | None
    last_error: Any
    error_type: str | None
    timeout_seconds: float | None
    deadline: datetime | None
    visibility: Visibility
    allowed_viewers: list[str]
    metadata: Any
    depends_on: list[str]
    batch_id: str | None
    schedule_id: str | None
    template_id: str | None
    cost: float | None
    quality_score: float | None
    execution_ms: float | None
    progress: Any
    lease_expires_at: datetime | None
    cancel_requested: bool
    cancelled_by: str | None
    cancelled_at: datetime | None
    cancellation_reason: Any
    dead_lettered: bool
    created_at: datetime
    updated_at: datetime
    queued_at: datetime | None
    started_at: datetime | None
    completed_at: datetime | None
    encrypt: bool
    input_data: Any
    result_data: Any


class TaskDetailsOut(TaskOut):
    """A task with its history (every transition) and its attempts."""

    history: list[HistoryEntry]
    attempts: list[AttemptOut]


RoutingRule = Literal[
    "chosen",
    "canary",
    "own_share",
    "lower_score",
    "over_80_percent",
    "at_capacity",
    "not_asking",
    "offline",
    "quarantined",
]


class RoutingCandidateOut(BaseModel):
    """One agent offering the capability, as the router saw it at that routing."""

    agent_id: str
    in_flight: int
    max_concurrency: int
    load: float  # in_flight / max_concurrency before the routing
    trust: float  # its trust for this capability (decayed while idle)
    score: float | None  # 1 + trust within 80% after one more task, 1 − load past it; null: refused
    rank: int | None  # its place in the policy's order; null: refused before ranking
    share: int  # tasks of this routing's waiting work the policy gave it
    rule: RoutingRule


class RoutingOut(BaseModel):
    """One routing of the task: the attempt it created and every candidate considered."""

    attempt_id: str
    number: int
    agent_id: str
    status: str  # the attempt's status now
    routed_at: datetime
    routing_id: str | None  # null: routed before decisions were recorded, or pruned
    capability: str | None
    tier: Literal["preferred", "overflow", "canary"] | None
    candidates: list[RoutingCandidateOut]


class TaskRoutingOut(BaseModel):
    task_id: str
    capability_required: str
    routings: list[RoutingOut]


class TaskPage(BaseModel):
    items: list[TaskOut]
    next_cursor: str | None


class TaskResultOut(BaseModel):
    task_id: str
    status: str
    result_data: Any
    cost: float | None
    quality_score: float | None
    completed_at: datetime | None
    last_error: Any


class ClaimedTask(BaseModel):
    """A task handed to an agent by a claim."""

    task_id: str
    attempt_id: str
    task_type: str
    capability_required: str
    input_data: Any
    priority: int
    lease_expires_at: datetime
    timeout_seconds: float | None
    timeout_at: datetime | None
    deadline: datetime | None
    retry_count: int
    client_id: str
    metadata: Any
    dependency_results: dict[str, Any]


class ClaimOut(BaseModel):
    tasks: list[ClaimedTask]


class LeaseOut(BaseModel):
    """The answer to a task heartbeat."""

    lease_expires_at: datetime | None
    cancel_requested: bool
    status: str


class ReportError(BaseModel):
    status: int
    title: str
    detail: str


class ReportResultOut(BaseModel):
    task_id: str
    ok: bool
    status: str | None = None
    error: ReportError | None = None


class ReportsOut(BaseModel):
    results: list[ReportResultOut]
