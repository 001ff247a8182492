"""Opaque page cursors shared by every list endpoint: base64url of `kind:value`, so a cursor
from one list is refused (422) by another rather than silently misread."""

from __future__ import annotations

import base64
from datetime import datetime

from ains.exceptions import Unprocessable
from ains.types import storable_time

INVALID = "not a cursor this list issued"
# the largest row id either database stores (a signed 64-bit integer)
MAX_ROW_ID = 2**63 - 1


def encode_cursor(kind: str, value: str) -> str:
    return base64.urlsafe_b64encode(f"{kind}:{value}".encode()).decode().rstrip("=")


def decode_cursor(kind: str, cursor: str) -> str:
    try:
        decoded = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        decoded = ""
    if not decoded.startswith(f"{kind}:") or "\x00" in decoded:
        raise Unprocessable.field("cursor", INVALID)
    return decoded[len(kind) + 1 :]


def encode_time_cursor(kind: str, at: datetime, item_id: str) -> str:
    """A cursor for lists in (time, id) order."""
    return encode_cursor(kind, f"{at.isoformat()}|{item_id}")


def decode_time_cursor(kind: str, cursor: str) -> tuple[datetime, str]:
    at, _, item_id = decode_cursor(kind, cursor).partition("|")
    try:
        return storable_time(datetime.fromisoformat(at)), item_id
    except ValueError as exc:
        raise Unprocessable.field("cursor", INVALID) from exc
