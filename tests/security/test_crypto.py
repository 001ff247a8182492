"""Unit tests for the AES-GCM key ring (ains.security.crypto)."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from ains.security.crypto import DecryptionError, KeyConfigError, KeyRing, generate_key

AAD = b"task_01HZX"
VALUE: dict[str, Any] = {"text": "h\u00e9llo", "n": [1, 2.5, None, True], "nested": {"k": "v"}}


def key_b64(byte: int) -> str:
    return base64.urlsafe_b64encode(bytes([byte]) * 32).decode()


def ring(spec: str) -> KeyRing:
    parsed = KeyRing.from_config(spec)
    assert parsed is not None
    return parsed


def replace_part(token: str, index: int, new: str) -> str:
    parts = token.split(".")
    parts[index] = new
    return ".".join(parts)


def flip_byte(part: str) -> str:
    """Flip one bit of a base64 token part at the byte level (a last-char swap may not)."""
    raw = bytearray(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    raw[0] ^= 0x01
    return base64.urlsafe_b64encode(bytes(raw)).decode().rstrip("=")


# --- configuration --------------------------------------------------------------------------


def test_from_config_first_key_is_active() -> None:
    keys = ring(f"k2:{key_b64(2)}, k1:{key_b64(1)}")
    assert keys.active_kid == "k2"
    assert set(keys.keys) == {"k1", "k2"}
    assert keys.keys["k1"] == b"\x01" * 32
    assert keys.ephemeral is False


def test_from_config_accepts_unpadded_keys() -> None:
    assert ring(f"a:{key_b64(7).rstrip('=')}").keys["a"] == b"\x07" * 32


@pytest.mark.parametrize("spec", [None, "", "   "])
def test_no_configuration_means_no_ring(spec: str | None) -> None:
    assert KeyRing.from_config(spec) is None


@pytest.mark.parametrize(
    ("spec", "reason"),
    [
        ("k1", "must be '<kid>:<base64 key>'"),
        (f":{key_b64(1)}", "key id '' must be"),
        (f"bad.kid:{key_b64(1)}", "key id 'bad.kid' must be"),
        ("k1:c2hvcnQ", "must be 32 bytes, got 5"),
        ("k1:not*base64!", "not valid URL-safe base64"),
        (f"k1:{key_b64(1)},k1:{key_b64(2)}", "duplicate key id 'k1'"),
        (" , ", "no keys"),
    ],
)
def test_bad_configuration_is_rejected(spec: str, reason: str) -> None:
    with pytest.raises(KeyConfigError, match=reason):
        KeyRing.from_config(spec)


def test_repr_does_not_leak_keys() -> None:
    keys = ring(f"k1:{key_b64(1)}")
    assert key_b64(1) not in repr(keys)
    assert "\\x01" not in repr(keys)


def test_generated_ring_is_ephemeral_and_works() -> None:
    keys = KeyRing.generate()
    assert keys.ephemeral is True
    assert len(keys.keys[keys.active_kid]) == 32
    assert keys.decrypt_json(keys.encrypt_json(VALUE, AAD), AAD) == VALUE
    assert KeyRing.generate().keys[keys.active_kid] != keys.keys[keys.active_kid]


def test_generate_key_is_a_valid_config_key() -> None:
    keys = ring(f"new:{generate_key()}")
    assert len(keys.keys["new"]) == 32


# --- round trip and token format ---------------------------------------------------------------


@pytest.mark.parametrize("value", [VALUE, "text", 42, 1.5, None, [], {"a": []}])
def test_round_trip(value: Any) -> None:
    keys = ring(f"k1:{key_b64(1)}")
    assert keys.decrypt_json(keys.encrypt_json(value, AAD), AAD) == value


def test_token_format_and_no_plaintext() -> None:
    token = ring(f"k1:{key_b64(1)}").encrypt_json({"secret": "hunter2"}, AAD)
    version, kid, nonce, sealed = token.split(".")
    assert (version, kid) == ("v1", "k1")
    assert len(base64.urlsafe_b64decode(nonce + "==")) == 12
    # ciphertext of b'{"secret":"hunter2"}' (20 bytes) plus the 16-byte GCM tag
    assert len(base64.urlsafe_b64decode(sealed + "==")) == 36
    assert "hunter2" not in token
    assert "aHVudGVyMg" not in token  # base64 of the plaintext


def test_same_value_encrypts_differently_each_time() -> None:
    keys = ring(f"k1:{key_b64(1)}")
    assert keys.encrypt_json(VALUE, AAD) != keys.encrypt_json(VALUE, AAD)


# --- failures ----------------------------------------------------------------------------------


def test_tampered_ciphertext_is_rejected() -> None:
    keys = ring(f"k1:{key_b64(1)}")
    token = keys.encrypt_json(VALUE, AAD)
    tampered = replace_part(token, 3, flip_byte(token.split(".")[3]))
    with pytest.raises(DecryptionError, match="failed authentication"):
        keys.decrypt_json(tampered, AAD)


def test_tampered_nonce_is_rejected() -> None:
    keys = ring(f"k1:{key_b64(1)}")
    token = keys.encrypt_json(VALUE, AAD)
    with pytest.raises(DecryptionError):
        keys.decrypt_json(replace_part(token, 2, flip_byte(token.split(".")[2])), AAD)


def test_wrong_aad_is_rejected() -> None:
    keys = ring(f"k1:{key_b64(1)}")
    token = keys.encrypt_json(VALUE, b"task_A")
    with pytest.raises(DecryptionError):
        keys.decrypt_json(token, b"task_B")


def test_unknown_kid_is_rejected() -> None:
    token = ring(f"gone:{key_b64(1)}").encrypt_json(VALUE, AAD)
    with pytest.raises(DecryptionError, match="unknown key id 'gone'"):
        ring(f"k1:{key_b64(1)}").decrypt_json(token, AAD)


def test_kid_swapped_to_another_key_is_rejected() -> None:
    keys = ring(f"k1:{key_b64(1)},k2:{key_b64(2)}")
    token = keys.encrypt_json(VALUE, AAD)
    with pytest.raises(DecryptionError):
        keys.decrypt_json(replace_part(token, 1, "k2"), AAD)


@pytest.mark.parametrize(
    "token", ["", "v1.k1.AAAA", "v2.k1.AAAAAAAAAAAAAAAA.AAAA", "v1.k1.short.AAAA", "v1.k1.***.AAAA"]
)
def test_malformed_tokens_are_rejected(token: str) -> None:
    with pytest.raises(DecryptionError):
        ring(f"k1:{key_b64(1)}").decrypt_json(token, AAD)


def test_unserialisable_value_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        ring(f"k1:{key_b64(1)}").encrypt_json({1, 2}, AAD)


# --- rotation ------------------------------------------------------------------------------------


def test_rotation_old_kid_still_decrypts_new_kid_encrypts() -> None:
    old_ring = ring(f"k1:{key_b64(1)}")
    old_token = old_ring.encrypt_json(VALUE, AAD)

    new_ring = ring(f"k2:{key_b64(2)},k1:{key_b64(1)}")
    assert new_ring.decrypt_json(old_token, AAD) == VALUE
    new_token = new_ring.encrypt_json(VALUE, AAD)
    assert new_token.split(".")[1] == "k2"
    with pytest.raises(DecryptionError, match="unknown key id 'k2'"):
        old_ring.decrypt_json(new_token, AAD)


def test_rotated_returns_a_new_ring_with_the_new_key_active() -> None:
    old_ring = ring(f"k1:{key_b64(1)}")
    old_token = old_ring.encrypt_json(VALUE, AAD)
    new_ring = old_ring.rotated("k2", b"\x02" * 32)
    assert new_ring.active_kid == "k2"
    assert old_ring.active_kid == "k1"
    assert new_ring.decrypt_json(old_token, AAD) == VALUE
    assert new_ring.encrypt_json(VALUE, AAD).split(".")[1] == "k2"
    with pytest.raises(KeyConfigError, match="duplicate"):
        new_ring.rotated("k1", b"\x03" * 32)
    with pytest.raises(KeyConfigError, match="32 bytes"):
        new_ring.rotated("k3", b"short")


def test_ring_keys_cannot_be_mutated() -> None:
    keys = ring(f"k1:{key_b64(1)}")
    with pytest.raises(TypeError):
        keys.keys["k9"] = b"\x09" * 32  # type: ignore[index]
