"""Sealing what an `encrypt: true` task says besides its input and result: error text (the
task's, its attempts' and its events'), progress, metadata and the cancellation reason. The
same key ring and task-bound AAD as input and result; stored as the token in the same column.

Rows written before sealing (plaintext in an encrypted task) read back unchanged."""

from __future__ import annotations

from typing import Any

from ains.security.crypto import DecryptionError, KeyRing

# what an encrypted task's text reads as when the server has lost its keys
UNREADABLE = "[encrypted]"


def seal(keyring: KeyRing | None, encrypted: bool, task_id: str, value: Any) -> Any:
    """`value` as stored for the task: a token when the task is encrypted."""
    if not encrypted or value is None:
        return value
    if keyring is None:  # keys removed since the task was created: never store the plaintext
        return UNREADABLE
    return keyring.encrypt_json(value, task_id.encode())


def unseal(keyring: KeyRing | None, encrypted: bool, task_id: str, value: Any) -> Any:
    """The value `seal` was given (for an authorised reader)."""
    if not encrypted or not isinstance(value, str) or value == UNREADABLE:
        return value
    if keyring is None:
        return UNREADABLE
    try:
        return keyring.decrypt_json(value, task_id.encode())
    except DecryptionError:
        return value  # written before sealing


def unseal_row(keyring: KeyRing | None, row: Any, name: str) -> Any:
    return unseal(keyring, bool(row.encrypted), row.task_id, getattr(row, name))
