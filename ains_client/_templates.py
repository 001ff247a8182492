"""Templates: named task defaults that tasks and schedules start from (`/aitp/templates`)."""

from __future__ import annotations

from typing import Any

from ains_client._base import Call, drop_none
from ains_client._send import JT, PT, Resource
from ains_client._types import JSONObject

__all__ = ["Templates"]


class Templates(Resource[JT, PT]):
    """`client.templates`."""

    def create(self, name: str, **fields: Any) -> JT:
        """Create a template: `task_type`, `capability_required`, `input_data`, `priority`,
        `retry_policy`, `max_retries`, `timeout_seconds`, `visibility`, `metadata`, `team`,
        `description`."""
        body = {"name": name, **drop_none(**fields)}
        return self._send.json(Call("POST", "/aitp/templates", json=body))

    def list(self, *, limit: int | None = None) -> PT:
        """The templates visible to the caller."""
        return self._send.page(Call("GET", "/aitp/templates", params=drop_none(limit=limit)))

    def get(self, template_id: str) -> JT:
        """One template (its current version)."""
        return self._send.json(Call("GET", f"/aitp/templates/{template_id}"))

    def update(self, template_id: str, **fields: Any) -> JT:
        """Change fields; a new version is recorded."""
        return self._send.json(Call("PATCH", f"/aitp/templates/{template_id}", json=fields))

    def delete(self, template_id: str) -> JT:
        """Delete a template."""
        return self._send.json(Call("DELETE", f"/aitp/templates/{template_id}"))

    def submit(self, template_id: str, overrides: JSONObject | None = None) -> JT:
        """Submit a task (or, with `tasks`, a batch) from the template; `overrides` are merged
        over its defaults (`input_data` merges key by key)."""
        call = Call("POST", f"/aitp/templates/{template_id}/tasks", json=overrides or {})
        return self._send.json(call)
