"""Webhook subscriptions: create, change, test and inspect deliveries (`/aitp/webhooks`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ains_client._base import Call, drop_none
from ains_client._send import JT, PT, Resource

__all__ = ["Webhooks"]


class Webhooks(Resource[JT, PT]):
    """`client.webhooks`. Verify what arrives with `ains_client.webhooks.verify`."""

    def create(
        self,
        url: str,
        events: Sequence[str] = (),
        *,
        secret: str | None = None,
        enabled: bool = True,
        description: str | None = None,
        client_id: str | None = None,
    ) -> JT:
        """Subscribe `url` to `events` (e.g. `task.completed`; empty: every event). The answer
        holds the signing `secret` (generated unless given), shown this once."""
        body: dict[str, Any] = {"url": url, "events": list(events), "enabled": enabled}
        body.update(drop_none(secret=secret, description=description, client_id=client_id))
        return self._send.json(Call("POST", "/aitp/webhooks", json=body))

    def list(self, *, limit: int | None = None) -> PT:
        """The caller's subscriptions."""
        return self._send.page(Call("GET", "/aitp/webhooks", params=drop_none(limit=limit)))

    def get(self, webhook_id: str) -> JT:
        """One subscription with its delivery counters."""
        return self._send.json(Call("GET", f"/aitp/webhooks/{webhook_id}"))

    def update(self, webhook_id: str, **fields: Any) -> JT:
        """Change `url`, `events`, `secret`, `enabled` or `description`."""
        return self._send.json(Call("PATCH", f"/aitp/webhooks/{webhook_id}", json=fields))

    def delete(self, webhook_id: str) -> JT:
        """Delete a subscription."""
        return self._send.json(Call("DELETE", f"/aitp/webhooks/{webhook_id}"))

    def enable(self, webhook_id: str) -> JT:
        """Enable again a subscription the sender disabled after repeated failures."""
        return self._send.json(Call("POST", f"/aitp/webhooks/{webhook_id}/enable"))

    def test(self, webhook_id: str) -> JT:
        """Send a signed `webhook.test` event now."""
        return self._send.json(Call("POST", f"/aitp/webhooks/{webhook_id}/test"))

    def deliveries(self, webhook_id: str, *, limit: int | None = None) -> PT:
        """The latest delivery attempts (status code, error, timing)."""
        call = Call("GET", f"/aitp/webhooks/{webhook_id}/deliveries", params=drop_none(limit=limit))
        return self._send.page(call)
