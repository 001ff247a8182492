"""Answers of /aitp/queue."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class QueueStatsOut(BaseModel):
    depth: int
    by_priority: dict[str, int]
    by_capability: dict[str, int]
    by_client: dict[str, int]
    blocked: int
    retry_scheduled: int
    in_flight: int
    dead_lettered: int
    oldest_queued_at: datetime | None
    oldest_wait_seconds: float
    aging_interval_seconds: float
    deadline_escalation_seconds: float
