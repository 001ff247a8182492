"""Schedules: tasks submitted by cron, interval or at one time (`/aitp/tasks/schedule`)."""

from __future__ import annotations

from typing import Any

from ains_client._base import Call, drop_none
from ains_client._send import JT, PT, Resource

__all__ = ["Schedules"]

PATH = "/aitp/tasks/schedule"


class Schedules(Resource[JT, PT]):
    """`client.schedules`."""

    def create(
        self,
        task_type: str | None = None,
        capability_required: str | None = None,
        input_data: Any = None,
        *,
        cron_expression: str | None = None,
        interval_seconds: int | None = None,
        run_at: str | None = None,
        **fields: Any,
    ) -> JT:
        """Create a schedule: exactly one of `cron_expression`, `interval_seconds` or `run_at`
        (ISO 8601). Other fields as the API takes them: `timezone`, `priority`, `template_id`,
        `missed_run_policy`, `overlap_policy`, `retry_policy`, `timeout_seconds`, `metadata`,
        `schedule_id`, `client_id`, `description`."""
        body = drop_none(
            task_type=task_type, capability_required=capability_required, input_data=input_data,
            cron_expression=cron_expression, interval_seconds=interval_seconds, run_at=run_at,
            **fields,
        )  # fmt: skip
        return self._send.json(Call("POST", PATH, json=body))

    def list(
        self,
        *,
        status: str | None = None,
        client_id: str | None = None,
        cursor: str | None = None,
        limit: int | None = None,
    ) -> PT:
        """One page of schedules."""
        params = drop_none(status=status, client_id=client_id, cursor=cursor, limit=limit)
        return self._send.page(Call("GET", PATH, params=params))

    def get(self, schedule_id: str) -> JT:
        """One schedule with its next run."""
        return self._send.json(Call("GET", f"{PATH}/{schedule_id}"))

    def update(self, schedule_id: str, **fields: Any) -> JT:
        """Change fields of a schedule (`PUT`; only the fields given change)."""
        return self._send.json(Call("PUT", f"{PATH}/{schedule_id}", json=fields))

    def delete(self, schedule_id: str) -> JT:
        """Delete a schedule (its past tasks stay)."""
        return self._send.json(Call("DELETE", f"{PATH}/{schedule_id}"))

    def pause(self, schedule_id: str) -> JT:
        """Stop submitting until `resume`."""
        return self._send.json(Call("POST", f"{PATH}/{schedule_id}/pause"))

    def resume(self, schedule_id: str) -> JT:
        """Submit again from the next run time."""
        return self._send.json(Call("POST", f"{PATH}/{schedule_id}/resume"))

    def execute(self, schedule_id: str) -> JT:
        """Submit one task now, outside the timetable."""
        return self._send.json(Call("POST", f"{PATH}/{schedule_id}/execute"))

    def executions(
        self, schedule_id: str, *, cursor: str | None = None, limit: int | None = None
    ) -> PT:
        """One page of the schedule's runs (the tasks it submitted, or why it skipped)."""
        params = drop_none(cursor=cursor, limit=limit)
        return self._send.page(Call("GET", f"{PATH}/{schedule_id}/executions", params=params))

    def preview(self, schedule_id: str, count: int = 5) -> JT:
        """The next `count` run times of a schedule."""
        call = Call("GET", f"{PATH}/{schedule_id}/preview", params={"count": count})
        return self._send.json(call)

    def preview_timing(
        self,
        *,
        cron_expression: str | None = None,
        interval_seconds: int | None = None,
        run_at: str | None = None,
        timezone: str | None = None,
        count: int = 5,
    ) -> JT:
        """The next run times of a timing, before creating anything."""
        params = drop_none(
            cron_expression=cron_expression, interval_seconds=interval_seconds, run_at=run_at,
            timezone=timezone, count=count,
        )  # fmt: skip
        return self._send.json(Call("GET", f"{PATH}/preview", params=params))
