"""Standard Webhooks 1.0 signing (symmetric, HMAC-SHA256). Pure.

A delivery carries ``webhook-id`` (the same on every retry, the receiver's idempotency key),
``webhook-timestamp`` (Unix seconds of this attempt) and ``webhook-signature``: a
space-separated list of ``v1,<base64 HMAC-SHA256>`` over ``{id}.{timestamp}.{body}``, one per
secret, so that a secret can be rotated without downtime.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from collections.abc import Sequence

__all__ = ["SECRET_PREFIX", "build_headers", "generate_secret", "secret_key_bytes", "sign"]

SECRET_PREFIX = "whsec_"
_SECRET_BYTES = 32


def generate_secret() -> str:
    """Return a new random secret: ``whsec_`` + base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(_SECRET_BYTES)).decode("ascii")


def secret_key_bytes(secret: str) -> bytes:
    """Return the HMAC key of ``secret``.

    A ``whsec_`` secret is base64 after the prefix (as the Standard Webhooks libraries read
    it); any other string is used as its UTF-8 bytes.
    """
    if not secret:
        raise ValueError("webhook secret may not be empty")
    if not secret.startswith(SECRET_PREFIX):
        return secret.encode("utf-8")
    encoded = secret.removeprefix(SECRET_PREFIX)
    try:
        key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except binascii.Error as exc:
        raise ValueError("a whsec_ secret must be base64 after the prefix") from exc
    if not key:
        raise ValueError("webhook secret may not be empty")
    return key


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """Return ``v1,<base64 HMAC-SHA256>`` of ``{msg_id}.{timestamp}.{body}``."""
    if "." in msg_id:
        # The signed content is dot-delimited; a dot in the id would make it ambiguous.
        raise ValueError("webhook message id may not contain '.'")
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_key_bytes(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def build_headers(
    secret: str,
    msg_id: str,
    timestamp: int,
    body: bytes,
    *,
    extra_secrets: Sequence[str] = (),
) -> dict[str, str]:
    """Return the Standard Webhooks headers for one delivery attempt.

    ``extra_secrets`` (e.g. the previous secret during a rotation) add more signatures to
    ``webhook-signature``; a receiver accepts the delivery if any of them verifies.
    """
    signatures = [sign(s, msg_id, timestamp, body) for s in (secret, *extra_secrets)]
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(signatures),
    }
