"""The dead-letter queue: failed tasks that used up their retries (`/aitp/dlq`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ains_client._base import Call, drop_none
from ains_client._send import JT, PT, Resource

__all__ = ["DeadLetters"]


class DeadLetters(Resource[JT, PT]):
    """`client.dlq`. Filters: `capability`, `task_type`, `client_id`, `error_type`, `since`."""

    def list(self, *, cursor: str | None = None, limit: int | None = None, **filters: Any) -> PT:
        """One page of dead-lettered tasks, newest first."""
        params = drop_none(cursor=cursor, limit=limit, **filters)
        return self._send.page(Call("GET", "/aitp/dlq", params=params))

    def requeue(self, task_id: str) -> JT:
        """Put one task back to PENDING with fresh retries."""
        return self._send.json(Call("POST", f"/aitp/dlq/{task_id}/requeue"))

    def requeue_many(
        self,
        task_ids: Sequence[str] | None = None,
        *,
        filters: dict[str, Any] | None = None,
        limit: int | None = None,
        reason: str | None = None,
    ) -> JT:
        """Requeue the given tasks, or those matching `filters` (at most `limit`)."""
        body = drop_none(
            task_ids=None if task_ids is None else list(task_ids),
            filters=filters, limit=limit, reason=reason,
        )  # fmt: skip
        return self._send.json(Call("POST", "/aitp/dlq/requeue", json=body))

    def purge(self, **filters: Any) -> JT:
        """Delete the dead-lettered tasks matching the filters (all of them without filters)."""
        return self._send.json(Call("DELETE", "/aitp/dlq", params=drop_none(**filters)))
