"""Encryption at rest for task payloads: an AES-256-GCM key ring with key ids.

Configuration (``AINS_ENCRYPTION_KEYS``) is ``"kid1:<key>,kid2:<key>"``, each key 32 bytes in
URL-safe base64. The first key encrypts; every key decrypts, chosen by the key id stored in
the token, so keys rotate by prepending a new one and keeping the old ones until no data
uses them.

A token is ``v1.<kid>.<nonce>.<ciphertext>`` (URL-safe base64 without padding), the
ciphertext being the orjson-serialised value plus the GCM tag. The associated data (the
task id) binds a token to its row: moved to another row it fails to decrypt.

:meth:`KeyRing.generate` makes an ephemeral ring; anything it encrypts is unreadable after
a restart, so the server requires configured keys before accepting ``encrypt: true``.
"""

from __future__ import annotations

import base64
import binascii
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

__all__ = ["DecryptionError", "KeyConfigError", "KeyRing", "generate_key"]

_VERSION = "v1"
_KEY_BYTES = 32
_NONCE_BYTES = 12
_KID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class KeyConfigError(ValueError):
    """The key ring configuration is malformed; the message says why (never the key)."""


class DecryptionError(Exception):
    """A token cannot be decrypted: malformed, unknown key id, wrong AAD or tampered."""


def generate_key() -> str:
    """Return a new random 32-byte key in URL-safe base64, for the configuration."""
    return _b64encode(secrets.token_bytes(_KEY_BYTES))


@dataclass(frozen=True)
class KeyRing:
    """AES-GCM keys by id; ``active_kid`` encrypts, all decrypt."""

    active_kid: str
    keys: Mapping[str, bytes] = field(repr=False)
    ephemeral: bool = False

    def __post_init__(self) -> None:
        if self.active_kid not in self.keys:
            raise KeyConfigError(f"active key id {self.active_kid!r} is not in the ring")
        for kid, key in self.keys.items():
            _check_key(kid, key)
        object.__setattr__(self, "keys", MappingProxyType(dict(self.keys)))

    @classmethod
    def from_config(cls, spec: str | None) -> KeyRing | None:
        """Parse ``"kid1:<key>,kid2:<key>"``; ``None`` when no keys are configured."""
        if spec is None or not spec.strip():
            return None
        keys: dict[str, bytes] = {}
        for entry in (e.strip() for e in spec.split(",")):
            if not entry:
                continue
            kid, key = _parse_entry(entry)
            if kid in keys:
                raise KeyConfigError(f"duplicate key id {kid!r}")
            keys[kid] = key
        if not keys:
            raise KeyConfigError("no keys in the key ring configuration")
        return cls(active_kid=next(iter(keys)), keys=keys)

    @classmethod
    def generate(cls, kid: str = "ephemeral") -> KeyRing:
        """Return a ring with one random key, marked ``ephemeral`` (lost on restart)."""
        return cls(active_kid=kid, keys={kid: secrets.token_bytes(_KEY_BYTES)}, ephemeral=True)

    def rotated(self, kid: str, key: bytes) -> KeyRing:
        """Return a ring where ``kid`` encrypts and every current key still decrypts."""
        if kid in self.keys:
            raise KeyConfigError(f"duplicate key id {kid!r}")
        return KeyRing(active_kid=kid, keys={kid: key, **self.keys}, ephemeral=self.ephemeral)

    def encrypt_json(self, value: Any, aad: bytes) -> str:
        """Serialise ``value`` with orjson and encrypt it with the active key.

        Raises ``TypeError`` (``orjson.JSONEncodeError``) for a value JSON cannot hold.
        """
        nonce = secrets.token_bytes(_NONCE_BYTES)
        sealed = AESGCM(self.keys[self.active_kid]).encrypt(nonce, orjson.dumps(value), aad)
        return ".".join((_VERSION, self.active_kid, _b64encode(nonce), _b64encode(sealed)))

    def decrypt_json(self, token: str, aad: bytes) -> Any:
        """Decrypt a token made by :meth:`encrypt_json` with the same ``aad``."""
        kid, nonce, sealed = _split_token(token)
        key = self.keys.get(kid)
        if key is None:
            raise DecryptionError(f"unknown key id {kid!r}")
        try:
            plaintext = AESGCM(key).decrypt(nonce, sealed, aad)
        except InvalidTag as exc:
            raise DecryptionError("token failed authentication (tampered or wrong aad)") from exc
        return orjson.loads(plaintext)


def _parse_entry(entry: str) -> tuple[str, bytes]:
    kid, sep, encoded = entry.partition(":")
    kid = kid.strip()
    if not sep:
        raise KeyConfigError(f"key entry for {kid!r} must be '<kid>:<base64 key>'")
    try:
        key = _b64decode(encoded.strip())
    except (binascii.Error, ValueError) as exc:
        raise KeyConfigError(f"key {kid!r} is not valid URL-safe base64") from exc
    _check_key(kid, key)
    return kid, key


def _check_key(kid: str, key: bytes) -> None:
    if not _KID.match(kid):
        raise KeyConfigError(f"key id {kid!r} must be 1-64 characters of [A-Za-z0-9_-]")
    if len(key) != _KEY_BYTES:
        raise KeyConfigError(f"key {kid!r} must be {_KEY_BYTES} bytes, got {len(key)}")


def _split_token(token: str) -> tuple[str, bytes, bytes]:
    parts = token.split(".")
    if len(parts) != 4 or parts[0] != _VERSION:
        raise DecryptionError("malformed token")
    try:
        nonce, sealed = _b64decode(parts[2]), _b64decode(parts[3])
    except (binascii.Error, ValueError) as exc:
        raise DecryptionError("malformed token") from exc
    if len(nonce) != _NONCE_BYTES:
        raise DecryptionError("malformed token")
    return parts[1], nonce, sealed


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    # Strict alphabet check: urlsafe_b64decode alone silently drops stray characters.
    if not re.fullmatch(r"[A-Za-z0-9_-]*={0,2}", text):
        raise ValueError("not URL-safe base64")
    stripped = text.rstrip("=")
    return base64.urlsafe_b64decode(stripped + "=" * (-len(stripped) % 4))
