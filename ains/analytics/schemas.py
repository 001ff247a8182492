"""The analytics vocabulary: periods, windows, buckets, reports, and the aggregate of a group.

Definitions (docs/analytics.md repeats them for users):
- A task belongs to a window when `start <= created_at < end` (either bound may be open).
- `success_rate` = completed / (completed + failed + cancelled + timed_out) × 100, rounded to two
  decimals; `null` when no task in the group has finished.
- Execution-time figures (average, p50, p95) are over COMPLETED tasks with a recorded
  `execution_ms`; percentiles interpolate linearly between the two nearest ranks (PostgreSQL's
  `percentile_cont`), computed the same way on SQLite.
- `total_cost` sums `cost` over every task in the group; `avg_quality_score` averages the
  reported `quality_score`s.
- A task counts for the agent it was last assigned to.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from ains.json_output import utc_text
from ains.tasks.states import TERMINAL, TaskStatus

Period = Literal["last_24_hours", "last_7_days", "last_30_days", "all", "custom"]
Bucket = Literal["hour", "day"]
ExportFormat = Literal["csv", "json"]
Report = Literal["summary", "agents", "tasks", "trends", "tasks_raw"]

DEFAULT_PERIOD: Period = "last_7_days"
PERIOD_LENGTHS: dict[str, timedelta | None] = {
    "last_24_hours": timedelta(hours=24),
    "last_7_days": timedelta(days=7),
    "last_30_days": timedelta(days=30),
    "all": None,
}
FINISHED = tuple(s.value for s in TaskStatus if s in TERMINAL)  # in lifecycle order
TOP_AGENTS = 10


@dataclass(frozen=True)
class Window:
    """A half-open range of `created_at`: [start, end)."""

    period: Period
    start: datetime | None
    end: datetime | None

    def view(self) -> dict[str, Any]:
        return {
            "period": self.period,
            "start": utc_text(self.start) if self.start else None,
            "end": utc_text(self.end) if self.end else None,
        }


@dataclass(frozen=True)
class Scope:
    """Whose tasks a caller may aggregate: all (admin), a client's, or an agent's."""

    client_id: str | None = None
    agent_id: str | None = None


@dataclass
class Stats:
    """Running totals of a group of tasks (one status group at a time is added)."""

    by_status: dict[str, int] = field(default_factory=dict)
    exec_sum: float = 0.0
    exec_n: int = 0
    cost_sum: float = 0.0
    quality_sum: float = 0.0
    quality_n: int = 0

    def add(self, row: Any) -> None:
        self.by_status[row.status] = self.by_status.get(row.status, 0) + int(row.n)
        if row.status == "COMPLETED":
            self.exec_sum += float(row.exec_sum or 0.0)
            self.exec_n += int(row.exec_n or 0)
        self.cost_sum += float(row.cost_sum or 0.0)
        self.quality_sum += float(row.quality_sum or 0.0)
        self.quality_n += int(row.quality_n or 0)

    def count(self, status: str) -> int:
        return self.by_status.get(status, 0)

    @property
    def total(self) -> int:
        return sum(self.by_status.values())

    @property
    def success_rate(self) -> float | None:
        finished = sum(self.count(s) for s in FINISHED)
        return round(100.0 * self.count("COMPLETED") / finished, 2) if finished else None

    def figures(self) -> dict[str, Any]:
        """The columns every analytics table shares."""
        finished = sum(self.count(s) for s in FINISHED)
        return {
            "total_tasks": self.total,
            "completed": self.count("COMPLETED"),
            "failed": self.count("FAILED"),
            "cancelled": self.count("CANCELLED"),
            "timed_out": self.count("TIMED_OUT"),
            "pending": self.total - finished,
            "success_rate": self.success_rate,
            "avg_execution_time_ms": (
                round(self.exec_sum / self.exec_n, 3) if self.exec_n else None
            ),
            "total_cost": round(self.cost_sum, 6),
            "avg_quality_score": (
                round(self.quality_sum / self.quality_n, 6) if self.quality_n else None
            ),
        }


# --- answers ----------------------------------------------------------------------------------


class WindowOut(BaseModel):
    period: str
    start: datetime | None
    end: datetime | None


class Figures(BaseModel):
    """The columns every analytics table shares."""

    total_tasks: int
    completed: int
    failed: int
    cancelled: int
    timed_out: int
    pending: int
    success_rate: float | None
    avg_execution_time_ms: float | None
    total_cost: float
    avg_quality_score: float | None


class TopAgent(BaseModel):
    agent_id: str
    completed: int
    success_rate: float | None


class SummaryOut(WindowOut, Figures):
    p50_execution_time_ms: float | None
    p95_execution_time_ms: float | None
    top_agents: list[TopAgent]


class AgentFigures(Figures):
    agent_id: str


class TaskTypeFigures(Figures):
    task_type: str


class TrendFigures(Figures):
    bucket_start: datetime


class AgentsReportOut(WindowOut):
    items: list[AgentFigures]


class TaskTypesReportOut(WindowOut):
    items: list[TaskTypeFigures]


class TrendsOut(WindowOut):
    bucket: str
    items: list[TrendFigures]


class ExportOut(WindowOut):
    """A JSON export: the report's name and window, and its rows (the summary's figures)."""

    model_config = ConfigDict(extra="allow")

    report: str
    items: list[dict[str, Any]] | None = None
