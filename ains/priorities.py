"""Task priorities: an integer 1–10 (10 highest), or one of seed 004's names."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, Field
from pydantic_core import PydanticCustomError

__all__ = ["PRIORITY_NAMES", "Priority", "priority_name", "to_priority"]

PRIORITY_NAMES: dict[str, int] = {"URGENT": 10, "HIGH": 8, "NORMAL": 5, "LOW": 2}
_NAMES_TEXT = ", ".join(PRIORITY_NAMES)


def to_priority(value: Any) -> Any:
    """A name (any case) becomes its number; anything else is left for the integer check."""
    if isinstance(value, str) and not value.strip().lstrip("+-").isdigit():
        number = PRIORITY_NAMES.get(value.strip().upper())
        if number is None:
            raise PydanticCustomError(
                "priority_name", f"must be an integer from 1 to 10 or one of {_NAMES_TEXT}"
            )
        return number
    return value


def priority_name(priority: int) -> str:
    """The name of the band a number falls in: 9–10 URGENT, 7–8 HIGH, 4–6 NORMAL, 1–3 LOW."""
    if priority >= 9:
        return "URGENT"
    if priority >= 7:
        return "HIGH"
    if priority >= 4:
        return "NORMAL"
    return "LOW"


Priority = Annotated[int, BeforeValidator(to_priority), Field(ge=1, le=10)]
