from __future__ import annotations

from pydantic import AliasChoices, BaseModel, ConfigDict, Field

from ains.types import Timestamp


class DlqFilters(BaseModel):
    """Which dead-lettered tasks a bulk operation applies to (all of them when empty)."""

    model_config = ConfigDict(extra="forbid")

    capability: str | None = Field(None, max_length=200)
    task_type: str | None = Field(None, max_length=200)
    client_id: str | None = Field(None, max_length=200)
    error_type: str | None = Field(None, max_length=200)
    since: Timestamp | None = None


class BulkRequeueIn(BaseModel):
    """Either `task_ids`, or `filters` (every dead-lettered task matching them, up to `limit`)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    task_ids: list[str] | None = Field(
        None, max_length=1000, validation_alias=AliasChoices("task_ids", "taskids")
    )
    filters: DlqFilters | None = None
    limit: int = Field(1000, ge=1, le=1000)
    reason: str | None = Field(None, max_length=2000)


class RequeueIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str | None = Field(None, max_length=2000)


# --- answers ----------------------------------------------------------------------------------


class RequeueError(BaseModel):
    task_id: str
    status: int
    detail: str


class RequeuedOut(BaseModel):
    requeued: list[str]
    errors: list[RequeueError]


class PurgedOut(BaseModel):
    purged: int
