"""Answers of /ains/keys and /ains/audit."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel


class KeyOut(BaseModel):
    key_id: str
    role: str
    principal_id: str
    name: str
    team: str | None
    key_prefix: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None


class CreatedKeyOut(KeyOut):
    """A new key, with the key itself shown this once."""

    api_key: str


class KeyPage(BaseModel):
    items: list[KeyOut]
    next_cursor: str | None


class AuditEntryOut(BaseModel):
    id: int
    occurred_at: datetime
    principal_id: str
    role: str
    key_id: str | None = None
    action: str
    target_type: str | None
    target_id: str | None
    outcome: str
    status: int | None = None
    request_id: str | None = None
    detail: Any


class AuditPage(BaseModel):
    items: list[AuditEntryOut]
    next_cursor: str | None
