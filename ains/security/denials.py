"""Auditing denied requests without letting a flood of them flood the audit log: the first
denial of a (source, role, principal, status, reason) in a window is written at once, the rest
of the window as one row with their `count` (see throttle.DenialLog)."""

from __future__ import annotations

import logging
import time
from typing import Any

from ains.clock import Clock
from ains.db.engine import Database
from ains.security import audit
from ains.security.principals import Principal
from ains.security.throttle import Aggregate, DenialLog

log = logging.getLogger(__name__)

Row = tuple[Principal, str, dict[str, Any]]


class DenialAuditor:
    def __init__(self, db: Database, clock: Clock, window: float) -> None:
        self.db = db
        self.clock = clock
        self.log = DenialLog(window)

    async def deny(
        self, principal: Principal, source: str, action: str, status: int, reason: str
    ) -> None:
        now = time.monotonic()
        rows = [self._aggregate_row(a) for a in self.log.due(now)]
        key = (source, principal.role, principal.principal_id, status, reason)
        if self.log.note(key, action, now):
            detail = {"status": status, "detail": reason, "source": source, "count": 1}
            rows.append((principal, action, detail))
        await self._write(rows)

    async def flush(self) -> None:
        """Write every window still counting (before the audit log is read, and at stop)."""
        due = self.log.due(time.monotonic(), everything=True)
        await self._write([self._aggregate_row(a) for a in due])

    def _aggregate_row(self, entry: Aggregate) -> Row:
        source, role, principal_id, status, reason = entry.key
        detail = {"status": status, "detail": reason, "source": source, "count": entry.count,
                  "aggregated": True, "window_seconds": self.log.window}  # fmt: skip
        return Principal(role, principal_id), entry.action, detail  # type: ignore[arg-type]

    async def _write(self, rows: list[Row]) -> None:
        if not rows:
            return
        try:
            async with self.db.transaction() as tx:
                for principal, action, detail in rows:
                    await audit.record(
                        tx.conn, principal, action, outcome="denied", detail=detail,
                        now=self.clock(),
                    )  # fmt: skip
        except Exception:
            log.warning("could not write the audit record of %d denied requests", len(rows))
