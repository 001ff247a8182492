"""The pure checks behind protected mode, /metrics access and the denial throttles: who counts
as a loopback caller, who may scrape, when failures turn into 429 and denials into one row."""

from __future__ import annotations

import pytest

from ains.config import Settings
from ains.metrics.access import scrape_refusal
from ains.security.auth import failure_bucket, is_loopback_peer, jwt_settings_error
from ains.security.throttle import DenialLog, FailureLimiter

_401_NO_TOKEN = "metrics need Authorization: Bearer <AINS_METRICS_TOKEN>"


@pytest.mark.parametrize(
    ("peer", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("::ffff:127.0.0.1", True),
        ("10.0.0.5", False),
        ("203.0.113.9", False),
        ("::ffff:203.0.113.9", False),
        ("2001:db8::1", False),
        ("localhost", False),  # a name is never trusted, only an address
        ("testclient", False),
        ("", False),
        (None, False),
    ],
)
def test_only_a_loopback_tcp_peer_counts_as_local(peer: str | None, loopback: bool) -> None:
    assert is_loopback_peer(peer) is loopback


def test_metrics_scrape_is_allowed_by_network_or_token() -> None:
    default = Settings(metrics_token=None)
    assert scrape_refusal(default, None, "127.0.0.1") is None
    assert scrape_refusal(default, None, "::1") is None
    refused = scrape_refusal(default, None, "10.0.0.5")
    assert refused is not None and refused[0] == 403 and "AINS_METRICS_ALLOW" in refused[1]
    assert scrape_refusal(default, None, None) is not None

    guarded = Settings(metrics_token="s3cret", metrics_allow="10.0.0.0/8")
    assert scrape_refusal(guarded, None, "10.1.2.3") is None
    assert scrape_refusal(guarded, "Bearer s3cret", "203.0.113.9") is None
    assert scrape_refusal(guarded, None, "127.0.0.1") == (401, _401_NO_TOKEN)
    wrong = scrape_refusal(guarded, "Bearer nope", "10.1.2.3")
    assert wrong is not None and wrong[0] == 401  # a wrong token is never waved through


def test_metrics_allow_must_be_cidr_networks() -> None:
    with pytest.raises(ValueError, match="not a CIDR network"):
        Settings(metrics_allow="10.0.0.0/8,intranet")


def test_jwt_public_key_with_a_symmetric_algorithm_is_a_settings_error() -> None:
    error = jwt_settings_error(Settings(jwt_public_key="-----BEGIN PUBLIC KEY-----"))
    assert error is not None and "HS256" in error and "symmetric" in error
    assert jwt_settings_error(Settings(jwt_secret="s")) is None
    assert "AINS_JWT_PUBLIC_KEY" in str(
        jwt_settings_error(Settings(jwt_algorithm="RS256", jwt_secret="s"))
    )


def test_failures_past_the_limit_wait_for_the_window() -> None:
    limiter = FailureLimiter(limit=3, window=60)
    for _ in range(3):
        limiter.add("203.0.113.9", 100.0)
        assert limiter.retry_after("203.0.113.9", 100.0) is None
    limiter.add("203.0.113.9", 110.0)
    assert limiter.retry_after("203.0.113.9", 110.0) == 50
    assert limiter.retry_after("198.51.100.1", 110.0) is None  # per address
    assert limiter.retry_after("203.0.113.9", 160.0) is None  # a new window


def test_repeated_denials_become_one_row_with_their_count() -> None:
    log = DenialLog(window=10)
    key = ("203.0.113.9", "client", "anonymous", 401, "unknown or revoked API key")
    assert log.note(key, "GET /a", 0.0) is True
    for i in range(99):
        assert log.note(key, f"GET /b{i}", 1.0) is False
    assert log.due(5.0) == []
    (aggregate,) = log.due(10.0)
    assert aggregate.count == 99 and aggregate.action == "GET /b98"
    assert log.note(key, "GET /a", 11.0) is True  # the next window opens with a row again


def test_failures_are_counted_per_ipv4_address_and_per_ipv6_64() -> None:
    assert failure_bucket("203.0.113.9") == "203.0.113.9"
    assert failure_bucket("::ffff:203.0.113.9") == "203.0.113.9"
    assert failure_bucket("2001:db8:1:2:aaaa::1") == failure_bucket("2001:db8:1:2:bbbb::7")
    assert failure_bucket("2001:db8:1:2::1") == "2001:db8:1:2::/64"
    assert failure_bucket("2001:db8:1:3::1") != failure_bucket("2001:db8:1:2::1")
    assert failure_bucket(None) == "unknown"
