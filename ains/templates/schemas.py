"""Request bodies for task templates: the defaults a template holds are TaskIn's fields."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from ains.tasks.schemas import LATER_TASK_FIELDS, TaskToMakeLater

# the task fields a template may hold; everything else is given when a task is created
DEFAULT_FIELDS = LATER_TASK_FIELDS


class TemplateFields(TaskToMakeLater):
    description: str | None = Field(None, max_length=2000)
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
