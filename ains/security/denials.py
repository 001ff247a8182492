"""Auditing denied requests without letting a flood of them flood the audit log: the first
denial of a (source, role, principal, status, reason) in a window is written at once, the rest
of the window as one row with their `count` (see throttle.DenialLog)."""

from __future__ import annotations

import logging
import time
from typing import Any

from starlette.types import Scope

from ains.audit import trail
from ains.audit.actions import action_of, target_of
from ains.audit.repository import insert_entries
from ains.clock import Clock
from ains.db.engine import Database
from ains.exceptions import TooManyRequests
from ains.security.principals import Principal
from ains.security.throttle import Aggregate, DenialLog

log = logging.getLogger(__name__)

DENIED_STATUSES = (401, 403, 429)


class DenialAuditor:
    def __init__(self, db: Database, clock: Clock, window: float) -> None:
        self.db = db
        self.clock = clock
        self.log = DenialLog(window)

    async def deny(
        self,
        principal: Principal,
        source: str,
        action: str,
        status: int,
        reason: str,
        target: tuple[str, str] | None = None,
    ) -> None:
        """Audit a refused request: `denied` for 401/403/429, `refused` for any other status
        (a change the service refused: 404, 409, 422...)."""
        now = time.monotonic()
        # a 429's "retry in N s" changes by the second: one reason for the window
        reason = reason.partition("; retry in")[0]
        rows = [self._aggregate_row(a) for a in self.log.due(now)]
        key = (source, principal.role, principal.principal_id, status, reason)
        if self.log.note(key, action, now):
            detail = {"detail": reason, "source": source, "count": 1}
            target_type, target_id = target or (None, None)
            rows.append(
                trail.entry(
                    principal,
                    action,
                    now=self.clock(),
                    target_type=target_type,
                    target_id=target_id,
                    outcome=_outcome(status),
                    status=status,
                    detail=detail,
                )
            )
        await self._write(rows)

    async def rate_limited(
        self, principal: Principal, scope: Scope, template: str, refusal: TooManyRequests
    ) -> None:
        """A 429 answered before authentication, for a credential already refused."""
        client = scope.get("client")
        method = scope["method"]
        action = action_of(method, template) if template else f"{method} {scope['path']}"
        target = target_of(scope.get("path_params", {}))
        source = client[0] if client else "unknown"
        await self.deny(principal, source, action, 429, refusal.detail, target)

    async def flush(self) -> None:
        """Write every window still counting (before the audit log is read, and at stop)."""
        due = self.log.due(time.monotonic(), everything=True)
        await self._write([self._aggregate_row(a) for a in due])

    def _aggregate_row(self, entry: Aggregate) -> dict[str, Any]:
        source, role, principal_id, status, reason = entry.key
        detail = {"detail": reason, "source": source, "count": entry.count,
                  "aggregated": True, "window_seconds": self.log.window}  # fmt: skip
        principal = Principal(role, principal_id)  # type: ignore[arg-type]
        # many requests: no single request id
        return trail.entry(
            principal,
            entry.action,
            now=self.clock(),
            outcome=_outcome(status),
            status=status,
            detail=detail,
            of_request=False,
        )

    async def _write(self, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        try:
            async with self.db.transaction() as tx:
                await insert_entries(tx.conn, rows)
        except Exception:
            log.warning("could not write the audit record of %d denied requests", len(rows))


def _outcome(status: int) -> trail.Outcome:
    return "denied" if status in DENIED_STATUSES else "refused"
