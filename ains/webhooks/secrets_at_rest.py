"""Webhook signing secrets at rest: sealed with the server's key ring (AES-GCM, the webhook id
as associated data, so a sealed secret cannot be moved to another webhook) when
`AINS_ENCRYPTION_KEYS` is configured; kept as given otherwise. Secrets stored before a ring
was configured stay readable and are sealed when next changed."""

from __future__ import annotations

from ains.security.crypto import DecryptionError, KeyRing

SEALED_PREFIX = "ains-sealed:"

__all__ = ["SEALED_PREFIX", "DecryptionError", "seal", "unseal"]


def _aad(webhook_id: str) -> bytes:
    return f"webhook-secret:{webhook_id}".encode()


def seal(keyring: KeyRing | None, webhook_id: str, secret: str) -> str:
    if keyring is None or keyring.ephemeral:  # an ephemeral key would not survive a restart
        return secret
    return SEALED_PREFIX + keyring.encrypt_json(secret, _aad(webhook_id))


def unseal(keyring: KeyRing | None, webhook_id: str, stored: str) -> str:
    """The secret as given; DecryptionError when it is sealed and the ring cannot open it."""
    if not stored.startswith(SEALED_PREFIX):
        return stored
    if keyring is None:
        raise DecryptionError("webhook secret is sealed but AINS_ENCRYPTION_KEYS is not set")
    secret = keyring.decrypt_json(stored[len(SEALED_PREFIX) :], _aad(webhook_id))
    if not isinstance(secret, str):
        raise DecryptionError("sealed webhook secret is not a string")
    return secret
