"""Webhook registration, fan-out of events into deliveries, and recording delivery attempts.

Delivery rows are the durable work list: an event is fanned out (one row per matching, enabled
webhook whose owner may see it) in the transaction that advances the fan-out cursor, and a
delivery is leased before it is sent, so a crash at any point is followed by a (re)delivery.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncConnection

from ains.clock import Clock, new_id
from ains.config import Settings
from ains.db.engine import Tx
from ains.events import feed
from ains.events.payloads import event_payload
from ains.exceptions import NotFound, Unprocessable
from ains.metrics.registry import record_webhook_delivery
from ains.security.crypto import KeyRing
from ains.security.principals import Principal
from ains.webhooks import repository as repo
from ains.webhooks.delivery import AttemptResult, Deliverer, backoff_seconds
from ains.webhooks.schemas import WebhookIn, WebhookPatch, matches
from ains.webhooks.secrets_at_rest import SEALED_PREFIX, DecryptionError, seal, unseal
from ains.webhooks.signing import generate_secret, secret_key_bytes
from ains.webhooks.ssrf import UnsafeURLError, check_url, resolve_host

log = logging.getLogger(__name__)

DISABLE_AFTER_FAILURES = 10
FAN_OUT_BATCH = 500
CLAIM_BATCH = 200


class _Unresolved(Exception):
    pass


def _resolver(host: str, port: int) -> list[str]:
    try:
        return resolve_host(host, port)
    except (OSError, UnicodeError) as exc:
        raise _Unresolved(str(exc)) from exc


def webhook_view(row: Any) -> dict[str, Any]:
    return {
        "webhook_id": row.webhook_id,
        "url": row.url,
        "events": row.events,
        "enabled": row.enabled,
        "description": row.description,
        "owner_id": row.owner_id,
        "owner_role": row.owner_role,
        "consecutive_failures": row.consecutive_failures,
        "disabled_reason": row.disabled_reason,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    }


def _attempt_view(row: Any) -> dict[str, Any]:
    return {
        "attempt_id": row.id,
        "delivery_id": row.delivery_id,
        "attempted_at": row.attempted_at,
        "status_code": row.status_code,
        "latency_ms": row.latency_ms,
        "success": row.success,
        "error": row.error,
    }


class WebhookService:
    def __init__(
        self,
        settings: Settings,
        clock: Clock,
        deliverer: Deliverer,
        keyring: KeyRing | None = None,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.deliverer = deliverer
        self.keyring = keyring  # seals signing secrets at rest when configured
        self.holes = feed.HoleWatcher()

    # --- registration -----------------------------------------------------------------

    async def check_destination(self, url: str) -> None:
        """Refuse private, loopback and link-local destinations. A name that does not
        resolve now is accepted: it may exist later, and delivery checks again (and logs
        the failure) on every attempt."""
        try:
            await asyncio.to_thread(
                check_url, url, self.settings.webhook_allowed_hosts, resolver=_resolver
            )
        except _Unresolved:
            return
        except UnsafeURLError as exc:
            raise Unprocessable.field("url", str(exc)) from exc

    def _owner(self, principal: Principal, body: WebhookIn) -> tuple[str, str, str | None]:
        if principal.is_admin and body.agent_id:
            return body.agent_id, "agent", None
        if principal.is_admin and body.client_id:
            return body.client_id, "client", None
        return principal.principal_id, principal.role, principal.team

    async def create(
        self, tx: Tx, principal: Principal, body: WebhookIn, task_id: str | None = None
    ) -> dict[str, Any]:
        """A webhook; with ``task_id``, about that task's events only (A2A push configs)."""
        await self.check_destination(body.url)
        secret = body.secret or generate_secret()
        _check_secret(secret)
        owner_id, owner_role, team = self._owner(principal, body)
        now = self.clock()
        webhook_id = new_id("wh")
        row: dict[str, Any] = {
            "webhook_id": webhook_id,
            "owner_id": owner_id,
            "owner_role": owner_role,
            "team": team,
            "url": body.url,
            "events": body.events,
            "secret": seal(self.keyring, webhook_id, secret),
            "enabled": body.enabled,
            "description": body.description,
            "consecutive_failures": 0,
            "disabled_reason": None,
            "created_at": now,
            "updated_at": now,
            "task_id": task_id,
        }
        await repo.insert(tx.conn, row)
        view = webhook_view(await repo.get(tx.conn, webhook_id))
        view["secret"] = secret  # shown once
        return view

    async def for_task(
        self, conn: AsyncConnection, principal: Principal, task_id: str
    ) -> list[Any]:
        """The caller's webhooks about one task (its A2A push configs); an admin sees all."""
        rows = await repo.for_task(conn, task_id)
        return [r for r in rows if principal.is_admin or r.owner_id == principal.principal_id]

    async def visible(self, conn: AsyncConnection, principal: Principal, webhook_id: str) -> Any:
        row = await repo.get(conn, webhook_id)
        if row is None or not (principal.is_admin or row.owner_id == principal.principal_id):
            raise NotFound(f"webhook {webhook_id} not found")
        return row

    async def list_for(
        self, conn: AsyncConnection, principal: Principal, limit: int
    ) -> dict[str, Any]:
        owner = None if principal.is_admin else principal.principal_id
        rows = await repo.list_for(conn, owner, limit)
        return {"items": [webhook_view(r) for r in rows], "count": len(rows)}

    async def update(
        self, tx: Tx, principal: Principal, webhook_id: str, patch: WebhookPatch
    ) -> dict[str, Any]:
        await self.visible(tx.conn, principal, webhook_id)
        values = patch.model_dump(exclude_unset=True)
        if values.get("url"):
            await self.check_destination(values["url"])
        if values.get("secret"):
            _check_secret(values["secret"])
            values["secret"] = seal(self.keyring, webhook_id, values["secret"])
        if values.get("enabled") is True:
            values.update(consecutive_failures=0, disabled_reason=None)
        values = {
            k: v
            for k, v in values.items()
            if v is not None or k in ("description", "disabled_reason")
        }
        values["updated_at"] = self.clock()
        await repo.update(tx.conn, webhook_id, values)
        return webhook_view(await repo.get(tx.conn, webhook_id))

    async def enable(self, tx: Tx, principal: Principal, webhook_id: str) -> dict[str, Any]:
        return await self.update(tx, principal, webhook_id, WebhookPatch(enabled=True))

    async def delete(self, tx: Tx, principal: Principal, webhook_id: str) -> None:
        await self.visible(tx.conn, principal, webhook_id)
        await repo.delete(tx.conn, webhook_id)

    async def logs(
        self, conn: AsyncConnection, principal: Principal, webhook_id: str, limit: int
    ) -> dict[str, Any]:
        await self.visible(conn, principal, webhook_id)
        rows = await repo.attempts(conn, webhook_id, limit)
        items = [
            {**_attempt_view(r), "event_id": r.event_id, "event_type": r.event_type} for r in rows
        ]
        return {"webhook_id": webhook_id, "items": items, "count": len(items)}

    async def deliveries(
        self, conn: AsyncConnection, principal: Principal, webhook_id: str, limit: int
    ) -> dict[str, Any]:
        await self.visible(conn, principal, webhook_id)
        rows = await repo.deliveries(conn, webhook_id, limit)
        attempts: dict[str, list[dict[str, Any]]] = {}
        for a in await repo.attempts_of(conn, [r.delivery_id for r in rows]):
            attempts.setdefault(a.delivery_id, []).append(_attempt_view(a))
        items = [
            {
                "delivery_id": r.delivery_id,
                "event_id": r.event_id,
                "event_type": r.event_type,
                "status": r.status,
                "attempts": r.attempts,
                "last_status_code": r.last_status_code,
                "last_error": r.last_error,
                "next_attempt_at": r.next_attempt_at if r.status == "pending" else None,
                "created_at": r.created_at,
                "delivered_at": r.delivered_at,
                "payload": r.payload,
                "attempt_log": attempts.get(r.delivery_id, []),
            }
            for r in rows
        ]
        return {"webhook_id": webhook_id, "items": items, "count": len(items)}

    async def prepare_test(self, tx: Tx, principal: Principal, webhook_id: str) -> dict[str, Any]:
        """Log a ``webhook.test`` delivery (sent even to a disabled webhook); the caller sends
        it with :meth:`send_test` outside the transaction and records it with
        :meth:`record_test`."""
        row = await self.visible(tx.conn, principal, webhook_id)
        now = self.clock()
        payload = {
            "type": "webhook.test",
            "timestamp": now.isoformat().replace("+00:00", "Z"),
            "data": {"webhook_id": webhook_id, "message": "test delivery from DukeNet AINS"},
            "event": "webhook.test",
            "event_id": None,
            "task_id": None,
            "status": None,
        }
        delivery = {
            "delivery_id": new_id("msg"),
            "webhook_id": webhook_id,
            # test deliveries have no event row; a negative id keeps (webhook, event) unique
            "event_id": -secrets.randbelow(2**52) - 1,
            "event_type": "webhook.test",
            "payload": payload,
            "status": "sending",
            "attempts": 0,
            "next_attempt_at": None,
            "created_at": now,
        }
        await repo.add_deliveries(tx.conn, [delivery])
        return {**delivery, "url": row.url, "secret": row.secret}  # sealed until sent

    async def send_test(self, prepared: dict[str, Any]) -> AttemptResult:
        body = orjson.dumps(prepared["payload"])
        result = await self._send(
            prepared["webhook_id"],
            prepared["url"],
            prepared["secret"],
            prepared["delivery_id"],
            body,
        )
        record_webhook_delivery(result.outcome, result.latency_ms / 1000)
        return result

    async def record_test(
        self, tx: Tx, prepared: dict[str, Any], result: AttemptResult
    ) -> dict[str, Any]:
        now = self.clock()
        webhook_id = prepared["webhook_id"]
        await repo.add_attempt(tx.conn, _attempt_row(prepared, webhook_id, result, now))
        await repo.update_delivery(
            tx.conn,
            prepared["delivery_id"],
            {
                "status": "delivered" if result.success else "failed",
                "attempts": 1,
                "last_status_code": result.status_code,
                "last_error": result.error,
                "delivered_at": now if result.success else None,
            },
        )
        return {
            "webhook_id": webhook_id,
            "delivery_id": prepared["delivery_id"],
            "success": result.success,
            "status_code": result.status_code,
            "latency_ms": result.latency_ms,
            "error": result.error,
        }

    # --- the engine's side ------------------------------------------------------------

    async def fan_out(self, tx: Tx) -> tuple[int, float | None]:
        """Turn the next events into deliveries; return (events consumed, seconds to wait
        for a hole in the event ids to fill, or None)."""
        now = self.clock()
        cursor = await repo.lock_cursor(tx.conn, now)
        rows = await feed.events_after(tx.conn, cursor, FAN_OUT_BATCH)
        ready, wait = self.holes.take(rows, cursor, time.monotonic())
        if not ready:
            return 0, wait
        hooks = await repo.enabled(tx.conn)
        deliveries: list[dict[str, Any]] = []
        if hooks:
            task_ids = [str(e["task_id"]) for e in ready if e.get("task_id")]
            tasks = await feed.task_rows(tx.conn, task_ids)
            for ev in ready:
                task = tasks.get(str(ev.get("task_id") or ""))
                deliveries += self._deliveries_for(ev, task, hooks, now)
        await repo.add_deliveries(tx.conn, deliveries)
        await repo.advance_cursor(tx.conn, int(ready[-1]["event_id"]), now)
        return len(ready), wait

    def _deliveries_for(
        self, ev: dict[str, Any], task: dict[str, Any] | None, hooks: list[Any], now: datetime
    ) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        payload: dict[str, Any] | None = None
        for hook in hooks:
            if not matches(hook.events, ev["event_type"]) or ev["occurred_at"] < hook.created_at:
                continue
            if hook.task_id is not None and hook.task_id != ev.get("task_id"):
                continue
            owner = Principal(hook.owner_role, hook.owner_id, hook.team)
            if not feed.may_see(owner, ev, task):
                continue
            payload = payload or event_payload(ev, task)
            out.append(
                {
                    "delivery_id": new_id("msg"),
                    "webhook_id": hook.webhook_id,
                    "event_id": ev["event_id"],
                    "event_type": ev["event_type"],
                    "payload": payload,
                    "status": "pending",
                    "attempts": 0,
                    "next_attempt_at": now,
                    "created_at": now,
                }
            )
        return out

    async def claim(self, tx: Tx) -> list[Any]:
        now = self.clock()
        lease = timedelta(seconds=self.settings.webhook_timeout_seconds + 5)
        return await repo.claim_due(tx.conn, now, now + lease, CLAIM_BATCH)

    async def _send(
        self, webhook_id: str, url: str, stored_secret: str, delivery_id: str, body: bytes
    ) -> AttemptResult:
        try:
            secret = unseal(self.keyring, webhook_id, stored_secret)
        except DecryptionError as exc:  # a configuration error: logged as a failed attempt
            return AttemptResult(False, "failure", None, 0.0, f"cannot open the secret: {exc}")
        return await self.deliverer.send(url, secret, delivery_id, body)

    async def send(self, delivery: Any) -> AttemptResult:
        body = orjson.dumps(delivery.payload)
        result = await self._send(
            delivery.webhook_id, delivery.url, delivery.secret, delivery.delivery_id, body
        )
        seconds = None
        if result.status_code is not None:
            seconds = (self.clock() - delivery.created_at).total_seconds()
        record_webhook_delivery(result.outcome, seconds)
        return result

    async def record(self, tx: Tx, delivery: Any, result: AttemptResult) -> None:
        now = self.clock()
        attempt = delivery.attempts + 1
        await repo.add_attempt(
            tx.conn, _attempt_row(delivery._mapping, delivery.webhook_id, result, now)
        )
        values: dict[str, Any] = {
            "attempts": attempt,
            "last_status_code": result.status_code,
            "last_error": result.error,
        }
        exhausted = attempt >= self.settings.webhook_max_attempts or result.gone
        if result.success:
            values.update(status="delivered", delivered_at=now, next_attempt_at=None)
        elif exhausted:
            values.update(status="failed", next_attempt_at=None)
        else:
            delay = backoff_seconds(
                attempt, result.retry_after, self.settings.webhook_retry_base_seconds
            )
            values.update(status="pending", next_attempt_at=now + timedelta(seconds=delay))
        await repo.update_delivery(tx.conn, delivery.delivery_id, values)
        if result.success or exhausted:
            await self._count_delivery(tx, delivery.webhook_id, result, attempt, now)

    async def _count_delivery(
        self, tx: Tx, webhook_id: str, result: AttemptResult, attempts: int, now: datetime
    ) -> None:
        """A delivery has ended (delivered, or failed after its last attempt): the webhook's
        count of consecutive failed deliveries is reset or bumped. A failed attempt that will
        be retried counts for nothing yet, so one burst of errors cannot disable a webhook."""
        failures = await repo.record_outcome(tx.conn, webhook_id, success=result.success, now=now)
        if result.gone:
            await repo.disable(tx.conn, webhook_id, "receiver answered 410 Gone", now)
        elif failures >= DISABLE_AFTER_FAILURES:
            reason = (
                f"{failures} consecutive failed deliveries (the last after {attempts} "
                f"attempts: {result.error})"
            )
            await repo.disable(tx.conn, webhook_id, reason, now)
            log.warning("webhook %s disabled: %s", webhook_id, reason)

    async def next_due(self, conn: AsyncConnection) -> datetime | None:
        return await repo.next_due(conn)


def _check_secret(secret: str) -> None:
    if secret.startswith(SEALED_PREFIX):
        raise Unprocessable.field("secret", f"must not start with {SEALED_PREFIX!r}")
    try:
        secret_key_bytes(secret)
    except ValueError as exc:
        raise Unprocessable.field("secret", str(exc)) from exc


def _attempt_row(
    delivery: Any, webhook_id: str, result: AttemptResult, now: datetime
) -> dict[str, Any]:
    return {
        "delivery_id": delivery["delivery_id"],
        "webhook_id": webhook_id,
        "attempted_at": now,
        "status_code": result.status_code,
        "latency_ms": result.latency_ms,
        "success": result.success,
        "error": result.error,
    }
