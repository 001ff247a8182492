"""Unit tests for Standard Webhooks signing (ains.webhooks.signing)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from datetime import UTC, datetime

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from ains.webhooks.signing import build_headers, generate_secret, secret_key_bytes, sign

BODY = b'{"type":"task.completed","data":{"task_id":"t_1","result":"h\xc3\xa9"}}'
MSG_ID = "msg_2a9f0c"


def now() -> int:
    return int(time.time())


def test_generated_secret_is_whsec_base64_of_32_bytes() -> None:
    secret = generate_secret()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"), validate=True)) == 32
    assert generate_secret() != secret


def test_whsec_secret_key_is_the_decoded_base64() -> None:
    raw = bytes(range(24))
    assert secret_key_bytes("whsec_" + base64.b64encode(raw).decode()) == raw


def test_unpadded_whsec_secret_is_accepted() -> None:
    raw = bytes(range(25))
    encoded = base64.b64encode(raw).decode().rstrip("=")
    assert secret_key_bytes("whsec_" + encoded) == raw


def test_plain_secret_key_is_its_utf8_bytes() -> None:
    assert secret_key_bytes("s3cr\u00e9t") == "s3cr\u00e9t".encode()


@pytest.mark.parametrize("secret", ["", "whsec_", "whsec_not*base64!"])
def test_invalid_secrets_are_rejected(secret: str) -> None:
    with pytest.raises(ValueError):
        secret_key_bytes(secret)


def test_signature_verifies_with_the_standardwebhooks_library() -> None:
    secret = generate_secret()
    headers = build_headers(secret, MSG_ID, now(), BODY)
    assert Webhook(secret).verify(BODY, headers) == {
        "type": "task.completed",
        "data": {"task_id": "t_1", "result": "h\u00e9"},
    }


def test_headers_have_the_standard_names_and_format() -> None:
    ts = now()
    headers = build_headers(generate_secret(), MSG_ID, ts, BODY)
    assert set(headers) == {"webhook-id", "webhook-timestamp", "webhook-signature"}
    assert headers["webhook-id"] == MSG_ID
    assert headers["webhook-timestamp"] == str(ts)
    version, encoded = headers["webhook-signature"].split(",")
    assert version == "v1"
    assert len(base64.b64decode(encoded, validate=True)) == 32


def test_plain_secret_signature_matches_an_independent_hmac() -> None:
    expected = hmac.new(b"plain-secret", f"{MSG_ID}.1700000000.".encode() + BODY, hashlib.sha256)
    assert (
        sign("plain-secret", MSG_ID, 1700000000, BODY)
        == "v1," + base64.b64encode(expected.digest()).decode()
    )


def test_signature_equals_the_library_signature() -> None:
    secret = generate_secret()
    ts = 1614265330
    expected = Webhook(secret).sign(MSG_ID, datetime.fromtimestamp(ts, UTC), BODY.decode())
    assert sign(secret, MSG_ID, ts, BODY) == expected


@pytest.mark.parametrize(
    ("field", "value"),
    [("body", b'{"type":"task.failed"}'), ("timestamp", 1), ("msg_id", "msg_other")],
)
def test_tampered_delivery_is_rejected_by_the_library(field: str, value: object) -> None:
    secret = generate_secret()
    headers = build_headers(secret, MSG_ID, now(), BODY)
    body = BODY
    if field == "body":
        body = value  # type: ignore[assignment]
    elif field == "timestamp":
        headers["webhook-timestamp"] = str(int(headers["webhook-timestamp"]) - 1)
    else:
        headers["webhook-id"] = str(value)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body, headers)


def test_signature_with_another_secret_is_rejected() -> None:
    headers = build_headers(generate_secret(), MSG_ID, now(), BODY)
    with pytest.raises(WebhookVerificationError):
        Webhook(generate_secret()).verify(BODY, headers)


def test_old_timestamp_is_rejected_by_the_library() -> None:
    secret = generate_secret()
    headers = build_headers(secret, MSG_ID, now() - 600, BODY)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(BODY, headers)


def test_rotation_signs_with_every_secret() -> None:
    old, new = generate_secret(), generate_secret()
    headers = build_headers(new, MSG_ID, now(), BODY, extra_secrets=[old])
    assert len(headers["webhook-signature"].split(" ")) == 2
    Webhook(new).verify(BODY, headers)
    Webhook(old).verify(BODY, headers)


def test_retry_keeps_the_id_and_changes_the_signature() -> None:
    secret = generate_secret()
    first = build_headers(secret, MSG_ID, 1700000000, BODY)
    retry = build_headers(secret, MSG_ID, 1700000005, BODY)
    assert first["webhook-id"] == retry["webhook-id"]
    assert first["webhook-signature"] != retry["webhook-signature"]


def test_message_id_with_a_dot_is_refused() -> None:
    with pytest.raises(ValueError, match="may not contain"):
        sign(generate_secret(), "msg.1", 1, BODY)
