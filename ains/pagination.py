"""Opaque page cursors shared by every list endpoint: base64url of `kind:value`, so a cursor
from one list is refused (422) by another rather than silently misread."""

from __future__ import annotations

import base64

from ains.exceptions import Unprocessable


def encode_cursor(kind: str, value: str) -> str:
    return base64.urlsafe_b64encode(f"{kind}:{value}".encode()).decode().rstrip("=")


def decode_cursor(kind: str, cursor: str) -> str:
    try:
        decoded = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        decoded = ""
    if not decoded.startswith(f"{kind}:"):
        raise Unprocessable.field("cursor", "not a cursor this list issued")
    return decoded[len(kind) + 1 :]
