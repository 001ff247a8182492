"""Analytics: summaries, per-agent and per-type figures and trends (`/aitp/analytics`)."""

from __future__ import annotations

from ains_client._base import Call, drop_none
from ains_client._send import JT, PT, Resource

__all__ = ["Analytics"]


class Analytics(Resource[JT, PT]):
    """`client.analytics`. The window is a `period`: `last_24_hours`, `last_7_days`,
    `last_30_days`, `all`, or `custom` with `start`/`end` (ISO 8601)."""

    def _get(self, report: str, **params: object) -> JT:
        return self._send.json(Call("GET", f"/aitp/analytics/{report}", params=drop_none(**params)))

    def summary(
        self, *, period: str | None = None, start: str | None = None, end: str | None = None
    ) -> JT:
        """Counts by status, success rate, latency percentiles and cost over the window."""
        return self._get("summary", period=period, start=start, end=end)

    def agents(self, *, period: str | None = None, limit: int | None = None) -> JT:
        """Per-agent throughput, success rate, latency and trust over the window."""
        return self._get("agents", period=period, limit=limit)

    def tasks(self, *, period: str | None = None, limit: int | None = None) -> JT:
        """Per-task-type figures over the window."""
        return self._get("tasks", period=period, limit=limit)

    def trends(self, *, period: str | None = None, bucket: str | None = None) -> JT:
        """Time series by `bucket` (`hour` or `day`)."""
        return self._get("trends", period=period, bucket=bucket)
