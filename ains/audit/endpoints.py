"""HTTP: GET /ains/audit (admins only)."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Any

from fastapi import APIRouter, Query

from ains.audit.repository import AuditFilter, query
from ains.audit.trail import OUTCOMES
from ains.exceptions import Forbidden, Unprocessable
from ains.http import CurrentPrincipal, ServicesDep, ValidatedRoute, page_limit
from ains.openapi import returns
from ains.pagination import INVALID, MAX_ROW_ID, decode_cursor, encode_cursor
from ains.security.schemas import AuditPage
from ains.types import Timestamp

router = APIRouter(route_class=ValidatedRoute, tags=["security"])
CURSOR_KIND = "audit"
Filter = Annotated[str | None, Query(min_length=1, max_length=200)]


@router.get("/ains/audit", responses=returns(AuditPage))
async def audit_log(
    services: ServicesDep,
    principal: CurrentPrincipal,
    actor: Filter = None,
    action: Filter = None,
    target: Filter = None,
    outcome: Filter = None,
    since: Timestamp | None = None,
    until: Timestamp | None = None,
    request_id: Filter = None,
    principal_id: Annotated[Filter, Query(include_in_schema=False)] = None,
    target_id: Annotated[Filter, Query(include_in_schema=False)] = None,
    cursor: str | None = None,
    limit: int | None = None,
) -> dict[str, Any]:
    """Newest first. `actor`: a principal id or key id; `action`: exact, or `task.*` for a
    prefix; `target`: a target id; `since` inclusive, `until` exclusive; `request_id`: the
    X-Request-ID of the request that wrote the row."""
    if not principal.is_admin:
        raise Forbidden("only an admin may read the audit log")
    size = page_limit(limit, services)
    where = _filter(actor or principal_id, action, target or target_id, outcome, since, until)
    where = replace(where, request_id=request_id)
    before = _decode(cursor) if cursor is not None else None
    # denials still being counted are written first, so the log shows them
    await services.auth.denials.flush()
    async with services.db.read() as conn:
        items = await query(conn, where, before_id=before, limit=size)
    more = len(items) == size
    return {
        "items": items,
        "next_cursor": encode_cursor(CURSOR_KIND, str(items[-1]["id"])) if more else None,
    }


def _filter(
    actor: str | None,
    action: str | None,
    target: str | None,
    outcome: str | None,
    since: Any,
    until: Any,
) -> AuditFilter:
    if outcome is not None and outcome not in OUTCOMES:
        raise Unprocessable.field("outcome", f"must be one of {', '.join(OUTCOMES)}")
    if action is not None and "*" in action.removesuffix(".*"):
        raise Unprocessable.field("action", "a dotted name, or a prefix ending in .* (task.*)")
    if since is not None and until is not None and since >= until:
        raise Unprocessable.field("until", "must be after since")
    return AuditFilter(actor, action, target, outcome, since, until)


def _decode(cursor: str) -> int:
    value = decode_cursor(CURSOR_KIND, cursor)
    if not (value.isascii() and value.isdigit()) or not 0 < int(value) <= MAX_ROW_ID:
        raise Unprocessable.field("cursor", INVALID)
    return int(value)
