from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class CleanupIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    dry_run: bool = False
    # overrides every kind's AINS_RETENTION_*_DAYS for this call; 0 keeps everything (but
    # expired idempotency keys)
    older_than_days: float | None = Field(None, ge=0, le=36_500)
