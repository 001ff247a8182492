"""Shared types: JSON aliases, pages and the report items of the agent protocol."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Required, TypedDict

__all__ = [
    "TERMINAL_STATUSES",
    "JSONObject",
    "Page",
    "Report",
    "ReportResult",
]

JSONObject = dict[str, Any]
"""A decoded JSON object: a task, an agent, a key, …"""

TERMINAL_STATUSES = frozenset({"COMPLETED", "FAILED", "CANCELLED", "TIMED_OUT"})


@dataclass(frozen=True)
class Page:
    """One page of a list answer: `items` and the opaque cursor of the next page (or None)."""

    items: list[JSONObject] = field(default_factory=list)
    next_cursor: str | None = None

    @classmethod
    def from_json(cls, data: Any) -> Page:
        """Read `{"items": [...], "next_cursor": ...}`; a bare JSON list is one final page."""
        if isinstance(data, list):
            return cls(items=[i for i in data if isinstance(i, dict)])
        if isinstance(data, dict):
            items = data.get("items") or []
            cursor = data.get("next_cursor")
            return cls(
                items=[i for i in items if isinstance(i, dict)],
                next_cursor=cursor if isinstance(cursor, str) and cursor else None,
            )
        return cls()


class Report(TypedDict, total=False):
    """One item of `POST /aitp/agents/{agent_id}/reports`."""

    task_id: Required[str]
    attempt_id: Required[str]
    outcome: Required[Literal["complete", "fail"]]
    result_data: Any
    cost: float
    quality_score: float
    error: str
    error_type: str
    retryable: bool


class ReportResult(TypedDict, total=False):
    """The answer for one report: `ok` with the new `status`, or `error` (a problem object)."""

    task_id: Required[str]
    ok: Required[bool]
    status: str
    error: JSONObject
