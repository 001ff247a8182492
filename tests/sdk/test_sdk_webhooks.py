"""`ains_client.webhooks.verify` against the Standard Webhooks reference library."""

from __future__ import annotations

import base64
import time
from datetime import UTC, datetime

import pytest
import standardwebhooks

from ains_client.webhooks import WebhookVerificationError, sign, verify

WHSEC = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()
RAW = "my plain secret"
BODY = b'{"type":"task.completed","data":{"task_id":"task_1"}}'


def reference_headers(
    webhook: standardwebhooks.Webhook, body: bytes, ts: int | None = None
) -> dict[str, str]:
    ts = int(time.time()) if ts is None else ts
    signature = webhook.sign("msg_1", datetime.fromtimestamp(ts, tz=UTC), body.decode())
    return {"webhook-id": "msg_1", "webhook-timestamp": str(ts), "webhook-signature": signature}


def our_headers(secret: str, body: bytes, ts: int | None = None) -> dict[str, str]:
    ts = int(time.time()) if ts is None else ts
    return {
        "webhook-id": "msg_1",
        "webhook-timestamp": str(ts),
        "webhook-signature": sign(body, "msg_1", ts, secret),
    }


def test_verifies_what_the_reference_library_signs_with_a_whsec_secret() -> None:
    headers = reference_headers(standardwebhooks.Webhook(WHSEC), BODY)
    verify(BODY, headers, WHSEC)


def test_a_plain_secret_is_used_as_its_utf8_bytes() -> None:
    headers = reference_headers(standardwebhooks.Webhook(RAW.encode()), BODY)
    verify(BODY, headers, RAW)
    with pytest.raises(WebhookVerificationError):
        verify(BODY, reference_headers(standardwebhooks.Webhook(WHSEC), BODY), RAW)


def test_the_reference_library_verifies_our_signatures() -> None:
    assert standardwebhooks.Webhook(WHSEC).verify(BODY, our_headers(WHSEC, BODY))["data"] == {
        "task_id": "task_1"
    }
    standardwebhooks.Webhook(RAW.encode()).verify(BODY, our_headers(RAW, BODY))


def test_a_tampered_body_is_rejected() -> None:
    headers = reference_headers(standardwebhooks.Webhook(WHSEC), BODY)
    with pytest.raises(WebhookVerificationError, match="signature"):
        verify(BODY.replace(b"task_1", b"task_2"), headers, WHSEC)


def test_a_changed_id_or_wrong_secret_is_rejected() -> None:
    headers = reference_headers(standardwebhooks.Webhook(WHSEC), BODY)
    with pytest.raises(WebhookVerificationError):
        verify(BODY, {**headers, "webhook-id": "msg_2"}, WHSEC)
    with pytest.raises(WebhookVerificationError):
        verify(BODY, headers, "whsec_" + base64.b64encode(b"other key").decode())


def test_old_and_future_timestamps_are_rejected() -> None:
    now = int(time.time())
    webhook = standardwebhooks.Webhook(WHSEC)
    with pytest.raises(WebhookVerificationError, match="too old"):
        verify(BODY, reference_headers(webhook, BODY, now - 301), WHSEC)
    with pytest.raises(WebhookVerificationError, match="too new"):
        verify(BODY, reference_headers(webhook, BODY, now + 301), WHSEC)
    verify(BODY, reference_headers(webhook, BODY, now - 200), WHSEC)
    verify(BODY, reference_headers(webhook, BODY, now - 200), WHSEC, tolerance_seconds=60,
           now=now - 190)  # fmt: skip
    with pytest.raises(WebhookVerificationError, match="too old"):
        verify(BODY, reference_headers(webhook, BODY, now - 200), WHSEC, tolerance_seconds=60)


def test_one_valid_signature_among_several_is_enough() -> None:
    headers = our_headers(WHSEC, BODY)
    stale = sign(BODY, "msg_1", headers["webhook-timestamp"], "old secret")
    rotated = {**headers, "webhook-signature": f"v2,abc {stale} {headers['webhook-signature']}"}
    verify(BODY, rotated, WHSEC)
    with pytest.raises(WebhookVerificationError):
        verify(BODY, {**headers, "webhook-signature": f"v2,abc {stale}"}, WHSEC)


def test_headers_are_case_insensitive_and_required() -> None:
    headers = {k.title(): v for k, v in our_headers(WHSEC, BODY).items()}
    verify(BODY, headers, WHSEC)
    for missing in ("Webhook-Id", "Webhook-Timestamp", "Webhook-Signature"):
        partial = {k: v for k, v in headers.items() if k != missing}
        with pytest.raises(WebhookVerificationError, match="missing"):
            verify(BODY, partial, WHSEC)


def test_malformed_timestamp_and_secret_are_rejected() -> None:
    headers = our_headers(WHSEC, BODY)
    with pytest.raises(WebhookVerificationError, match="timestamp"):
        verify(BODY, {**headers, "webhook-timestamp": "yesterday"}, WHSEC)
    with pytest.raises(WebhookVerificationError, match="secret"):
        verify(BODY, headers, "whsec_***not base64***")
