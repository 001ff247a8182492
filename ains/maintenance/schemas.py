from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class CleanupIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    dry_run: bool = False
    # overrides every kind's AINS_RETENTION_*_DAYS for this call; 0 keeps everything (but
    # expired idempotency keys)
    older_than_days: float | None = Field(None, ge=0, le=36_500)


# --- answers ----------------------------------------------------------------------------------


class CleanupOut(BaseModel):
    dry_run: bool
    counts: dict[str, int]
    total: int
    cutoffs: dict[str, datetime | None]
    archive_files: dict[str, str]


class SweepOut(BaseModel):
    timed_out: int
    leases_expired: int
    total: int


class StatsOut(BaseModel):
    database: str
    database_size_bytes: int | None
    rows: dict[str, int]
    oldest_finished_task: dict[str, Any] | None
    measured_at: datetime
