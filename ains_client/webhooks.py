"""Verify webhook deliveries signed per the Standard Webhooks spec.

The signed content is `"{webhook-id}.{webhook-timestamp}.{body}"`, signed with HMAC-SHA256 and
sent as `webhook-signature: v1,<base64>` (several space-separated signatures during key rotation).
A secret starting with `whsec_` is base64 after the prefix; any other secret is its UTF-8 bytes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from collections.abc import Mapping

__all__ = ["WebhookVerificationError", "secret_bytes", "sign", "verify"]

_PREFIX = "whsec_"


class WebhookVerificationError(Exception):
    """The delivery is not authentic: missing headers, bad signature or stale timestamp."""


def secret_bytes(secret: str | bytes) -> bytes:
    """The HMAC key for `secret` (base64 after `whsec_`, else the UTF-8 bytes)."""
    if isinstance(secret, bytes):
        return secret
    if secret.startswith(_PREFIX):
        encoded = secret[len(_PREFIX) :]
        try:
            return base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise WebhookVerificationError("invalid whsec_ secret") from exc
    return secret.encode("utf-8")


def sign(payload: bytes, msg_id: str, timestamp: int | str, secret: str | bytes) -> str:
    """The `webhook-signature` header value (`v1,<base64>`) for one delivery."""
    to_sign = f"{msg_id}.{timestamp}.".encode() + payload
    digest = hmac.new(secret_bytes(secret), to_sign, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def _check_timestamp(value: str, tolerance_seconds: float, now: float) -> None:
    try:
        timestamp = int(value)
    except ValueError as exc:
        raise WebhookVerificationError("invalid webhook-timestamp") from exc
    if timestamp < now - tolerance_seconds:
        raise WebhookVerificationError("message timestamp too old")
    if timestamp > now + tolerance_seconds:
        raise WebhookVerificationError("message timestamp too new")


def verify(
    payload: bytes,
    headers: Mapping[str, str],
    secret: str | bytes,
    tolerance_seconds: float = 300,
    *,
    now: float | None = None,
) -> None:
    """Raise `WebhookVerificationError` unless `payload` is authentic and recent.

    `headers` may use any case; `now` (Unix seconds) is for tests.
    """
    lowered = {k.lower(): v for k, v in headers.items()}
    msg_id = lowered.get("webhook-id")
    timestamp = lowered.get("webhook-timestamp")
    signatures = lowered.get("webhook-signature")
    if not (msg_id and timestamp and signatures):
        raise WebhookVerificationError("missing webhook-id, webhook-timestamp or signature")
    current = time.time() if now is None else now
    _check_timestamp(timestamp, tolerance_seconds, current)
    expected = sign(payload, msg_id, timestamp, secret).split(",", 1)[1].encode("ascii")
    for candidate in signatures.split():
        version, _, value = candidate.partition(",")
        if version == "v1" and hmac.compare_digest(expected, value.encode("ascii", "replace")):
            return
    raise WebhookVerificationError("no matching signature")
