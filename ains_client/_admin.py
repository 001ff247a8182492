"""Operator calls (admin key): queue and server statistics, audit log, maintenance."""

from __future__ import annotations

from typing import Any

from ains_client._base import Call, drop_none
from ains_client._send import JT, PT, Resource

__all__ = ["Admin"]


class Admin(Resource[JT, PT]):
    """`client.admin`."""

    def queue_stats(self) -> JT:
        """Pending tasks by capability and priority, and the agents that serve them."""
        return self._send.json(Call("GET", "/aitp/queue/stats"))

    def stats(self) -> JT:
        """Server-wide counts (tasks by status, agents, webhooks, outbox)."""
        return self._send.json(Call("GET", "/ains/admin/stats"))

    def audit(self, *, cursor: str | None = None, limit: int | None = None, **filters: Any) -> PT:
        """One page of the audit log (`principal_id`, `action`, `target_id`, `outcome`)."""
        params = drop_none(cursor=cursor, limit=limit, **filters)
        return self._send.page(Call("GET", "/ains/audit", params=params))

    def cleanup(self) -> JT:
        """Prune rows past their retention now."""
        return self._send.json(Call("POST", "/ains/admin/cleanup"))
