"""Request bodies for batches. Tasks stay raw dicts here so each one is validated on its own and
an invalid task is reported by its index instead of failing the whole request."""

from __future__ import annotations

from typing import Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field


def _alias(name: str) -> AliasChoices:
    return AliasChoices(name, name.replace("_", ""))


class BatchOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    atomic: bool = False  # one invalid task → nothing is created
    fail_fast: bool = Field(False, validation_alias=_alias("fail_fast"))  # stop at the first


class BatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    batch_id: str | None = Field(
        None, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$", validation_alias=_alias("batch_id")
    )
    client_id: str | None = Field(
        None, min_length=1, max_length=200, validation_alias=_alias("client_id")
    )
    tasks: list[dict[str, Any]] = Field(min_length=1)
    batch_options: BatchOptions = Field(
        default_factory=BatchOptions, validation_alias=_alias("batch_options")
    )
