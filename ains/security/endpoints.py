"""HTTP: /ains/keys (admins only)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field, field_validator

from ains.audit import trail
from ains.exceptions import Forbidden, Unprocessable
from ains.http import CurrentPrincipal, ServicesDep, ValidatedRoute, page_limit
from ains.json_output import utc_text
from ains.openapi import CONFLICT, returns
from ains.security import keys
from ains.security.auth import KEYS_CREATED_TOPIC
from ains.security.principals import Principal, Role
from ains.security.schemas import CreatedKeyOut, KeyPage

router = APIRouter(route_class=ValidatedRoute, tags=["security"])


class KeyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Role
    principal_id: str | None = Field(None, min_length=1, max_length=200)
    name: str = Field("key", min_length=1, max_length=200)
    team: str | None = Field(None, max_length=100)
    # after this instant the key is refused (401 "API key expired"); none: never expires
    expires_at: datetime | None = None

    @field_validator("expires_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("must include a timezone")
        return value


def _admin(principal: Principal) -> None:
    if not principal.is_admin:
        raise Forbidden("only an admin may manage keys")


@router.post("/ains/keys", status_code=201, responses=returns(CreatedKeyOut, 201))
async def create_key(
    body: KeyIn, services: ServicesDep, principal: CurrentPrincipal
) -> dict[str, Any]:
    _admin(principal)
    now = services.clock()
    if body.expires_at is not None and body.expires_at <= now:
        raise Unprocessable.field("expires_at", "must be in the future")
    async with services.db.transaction() as tx:
        created = await keys.create_key(
            tx.conn,
            role=body.role,
            principal_id=body.principal_id or body.name,
            name=body.name,
            team=body.team,
            now=now,
            expires_at=body.expires_at,
        )
        await trail.record(
            tx.conn,
            principal,
            "key.create",
            target_type="api_key",
            target_id=created["key_id"],
            detail={
                "role": body.role,
                "principal_id": created["principal_id"],
                "expires_at": utc_text(body.expires_at) if body.expires_at else None,
            },
            now=now,
        )
    services.auth.forget()
    services.bus.publish(KEYS_CREATED_TOPIC, str(created["key_id"]))  # the other replicas
    return created


@router.get("/ains/keys", responses=returns(KeyPage))
async def list_keys(
    services: ServicesDep,
    principal: CurrentPrincipal,
    limit: int | None = None,
    cursor: str | None = None,
) -> dict[str, Any]:
    _admin(principal)
    page = page_limit(limit, services)
    async with services.db.read() as conn:
        return await keys.list_keys(conn, limit=page, cursor=cursor)


@router.delete("/ains/keys/{key_id}", status_code=204, responses=CONFLICT)
async def revoke_key(key_id: str, services: ServicesDep, principal: CurrentPrincipal) -> Response:
    _admin(principal)
    now = services.clock()
    async with services.db.transaction() as tx:
        key_hash = await keys.revoke_key(tx.conn, key_id, now)
        await trail.record(
            tx.conn, principal, "key.revoke", target_type="api_key", target_id=key_id, now=now
        )
    services.auth.forget(key_hash)
    # through the bus: every replica drops the key from its cache and ends its open streams
    services.streams.key_revoked(key_id)
    return Response(status_code=204)
