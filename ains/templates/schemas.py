"""Request bodies for task templates: the defaults a template holds are TaskIn's fields."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field

from ains.priorities import Priority
from ains.retries.policy import RetryPolicy
from ains.tasks.schemas import Visibility

# the task fields a template may hold; everything else is given when a task is created
DEFAULT_FIELDS = (
    "task_type",
    "capability_required",
    "input_data",
    "priority",
    "retry_policy",
    "max_retries",
    "timeout_seconds",
    "visibility",
    "metadata",
)


def _alias(name: str) -> AliasChoices:
    return AliasChoices(name, name.replace("_", ""))


class TemplateFields(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    description: str | None = Field(None, max_length=2000)
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
    # not a task default: the team the template is shared with (the creator's own)
    team: str | None = Field(None, min_length=1, max_length=100)

    def defaults(self) -> dict[str, Any]:
        data = self.model_dump(mode="json", exclude_unset=True, exclude_none=True)
        return {k: v for k, v in data.items() if k in DEFAULT_FIELDS}


class TemplateIn(TemplateFields):
    name: str = Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")


class TemplatePatch(TemplateFields):
    name: str | None = Field(
        None, min_length=1, max_length=200, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$"
    )


# --- answers ----------------------------------------------------------------------------------


class TemplateOut(BaseModel):
    template_id: str
    name: str
    owner_id: str
    team: str | None
    description: str | None
    defaults: dict[str, Any]
    created_at: datetime
    updated_at: datetime


class TemplatePage(BaseModel):
    items: list[TemplateOut]
    next_cursor: str | None
