"""HTTP: /aitp/webhooks, with the seed's /ains/webhooks paths as aliases."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Response

from ains.audit import trail
from ains.http import CurrentPrincipal, ServicesDep, ValidatedRoute, page_limit
from ains.openapi import returns
from ains.webhooks.schemas import (
    CreatedWebhookOut,
    WebhookDeliveries,
    WebhookIn,
    WebhookList,
    WebhookLogs,
    WebhookOut,
    WebhookPatch,
    WebhookTestOut,
)

router = APIRouter(route_class=ValidatedRoute, tags=["webhooks"])
PREFIXES = ("/aitp/webhooks", "/ains/webhooks")


Endpoint = Callable[..., Awaitable[Any]]


def _route(method: str, path: str, **kwargs: Any) -> Callable[[Endpoint], Endpoint]:
    def register(fn: Endpoint) -> Endpoint:
        for prefix in PREFIXES:
            router.add_api_route(prefix + path, fn, methods=[method], **kwargs)
        return fn

    return register


@_route("POST", "", status_code=201, responses=returns(CreatedWebhookOut, 201))
async def register_webhook(
    body: WebhookIn, services: ServicesDep, principal: CurrentPrincipal
) -> dict[str, Any]:
    async with services.db.transaction() as tx:
        created = await services.webhooks.create(tx, principal, body)
        await trail.record(
            tx.conn,
            principal,
            "webhook.create",
            now=services.clock(),
            target_type="webhook",
            target_id=created["webhook_id"],
        )
    services.bus.publish("webhooks", created["webhook_id"])
    return created


@_route("GET", "", responses=returns(WebhookList))
async def list_webhooks(
    services: ServicesDep, principal: CurrentPrincipal, limit: int | None = None
) -> dict[str, Any]:
    async with services.db.read() as conn:
        return await services.webhooks.list_for(conn, principal, page_limit(limit, services))


@_route("GET", "/{webhook_id}", responses=returns(WebhookOut))
async def get_webhook(
    webhook_id: str, services: ServicesDep, principal: CurrentPrincipal
) -> dict[str, Any]:
    from ains.webhooks.service import webhook_view

    async with services.db.read() as conn:
        return webhook_view(await services.webhooks.visible(conn, principal, webhook_id))


async def _update(
    webhook_id: str, body: WebhookPatch, services: ServicesDep, principal: CurrentPrincipal
) -> dict[str, Any]:
    async with services.db.transaction() as tx:
        changed = await services.webhooks.update(tx, principal, webhook_id, body)
        await trail.record(
            tx.conn,
            principal,
            "webhook.update",
            now=services.clock(),
            target_type="webhook",
            target_id=webhook_id,
        )
    services.bus.publish("webhooks", webhook_id)
    return changed


_route("PATCH", "/{webhook_id}", responses=returns(WebhookOut))(_update)
_route("PUT", "/{webhook_id}", responses=returns(WebhookOut))(_update)


@_route("POST", "/{webhook_id}/enable", responses=returns(WebhookOut))
async def enable_webhook(
    webhook_id: str, services: ServicesDep, principal: CurrentPrincipal
) -> dict[str, Any]:
    async with services.db.transaction() as tx:
        changed = await services.webhooks.enable(tx, principal, webhook_id)
        await trail.record(
            tx.conn,
            principal,
            "webhook.enable",
            now=services.clock(),
            target_type="webhook",
            target_id=webhook_id,
        )
    services.bus.publish("webhooks", webhook_id)
    return changed


@_route("DELETE", "/{webhook_id}", status_code=204)
async def delete_webhook(
    webhook_id: str, services: ServicesDep, principal: CurrentPrincipal
) -> Response:
    async with services.db.transaction() as tx:
        await services.webhooks.delete(tx, principal, webhook_id)
        await trail.record(
            tx.conn,
            principal,
            "webhook.delete",
            now=services.clock(),
            target_type="webhook",
            target_id=webhook_id,
        )
    return Response(status_code=204)


@_route("GET", "/{webhook_id}/logs", responses=returns(WebhookLogs))
async def webhook_logs(
    webhook_id: str, services: ServicesDep, principal: CurrentPrincipal, limit: int | None = None
) -> dict[str, Any]:
    async with services.db.read() as conn:
        return await services.webhooks.logs(
            conn, principal, webhook_id, page_limit(limit, services)
        )


@_route("GET", "/{webhook_id}/deliveries", responses=returns(WebhookDeliveries))
async def webhook_deliveries(
    webhook_id: str, services: ServicesDep, principal: CurrentPrincipal, limit: int | None = None
) -> dict[str, Any]:
    async with services.db.read() as conn:
        return await services.webhooks.deliveries(
            conn, principal, webhook_id, page_limit(limit, services)
        )


@_route("POST", "/{webhook_id}/test", responses=returns(WebhookTestOut))
async def test_webhook(
    webhook_id: str, services: ServicesDep, principal: CurrentPrincipal
) -> dict[str, Any]:
    hooks = services.webhooks
    async with services.db.transaction() as tx:
        prepared = await hooks.prepare_test(tx, principal, webhook_id)
    result = await hooks.send_test(prepared)  # outside any transaction: it may take seconds
    async with services.db.transaction() as tx:
        recorded = await hooks.record_test(tx, prepared, result)
        await trail.record(
            tx.conn,
            principal,
            "webhook.test",
            now=services.clock(),
            target_type="webhook",
            target_id=webhook_id,
        )
    return recorded
