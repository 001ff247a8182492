"""Unit tests for the webhook SSRF guard (ains.webhooks.ssrf). DNS is always injected."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

import pytest

from ains.webhooks.ssrf import (
    AllowList,
    UnsafeURLError,
    blocked_reason,
    check_url,
    is_address_allowed,
)

PUBLIC_V4 = "93.184.215.14"
PUBLIC_V6 = "2606:2800:21f:cb07:6820:80da:af6b:8b2c"


class FakeDNS:
    """A resolver answering from a table and recording every lookup."""

    def __init__(self, table: dict[str, list[str]]) -> None:
        self.table = table
        self.calls: list[tuple[str, int]] = []

    def __call__(self, host: str, port: int) -> Sequence[str]:
        self.calls.append((host, port))
        if host not in self.table:
            raise OSError(f"[Errno -2] Name or service not known: {host}")
        return self.table[host]


def no_dns(host: str, port: int) -> Sequence[str]:
    raise AssertionError(f"unexpected DNS lookup of {host}:{port}")


DNS = FakeDNS(
    {
        "hooks.example.com": [PUBLIC_V4, PUBLIC_V6],
        "internal.example.com": ["10.1.2.3"],
        "mixed.example.com": [PUBLIC_V4, "192.168.1.10"],
        "rebind.example.com": ["127.0.0.1"],
        "v6only.example.com": ["fd00:ec2::254"],
        "scoped.example.com": ["fe80::1%eth0"],
        "garbage.example.com": ["not-an-ip"],
        "empty.example.com": [],
    }
)


# --- accepted -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.example.com/ains",
        "http://hooks.example.com:8080/x?y=1",
        f"https://{PUBLIC_V4}/hook",
        f"https://[{PUBLIC_V6}]/hook",
        "HTTPS://HOOKS.EXAMPLE.COM./ains",
        "https://[::ffff:93.184.215.14]/",
    ],
)
def test_public_urls_are_accepted(url: str) -> None:
    check_url(url, [], resolver=DNS)


def test_resolver_gets_host_and_default_port() -> None:
    dns = FakeDNS({"hooks.example.com": [PUBLIC_V4]})
    check_url("https://hooks.example.com/a", [], resolver=dns)
    check_url("http://hooks.example.com/a", [], resolver=dns)
    check_url("http://hooks.example.com:9000/a", [], resolver=dns)
    assert dns.calls == [("hooks.example.com", 443), ("hooks.example.com", 80),
                         ("hooks.example.com", 9000)]  # fmt: skip


def test_ip_literals_are_checked_without_dns() -> None:
    check_url(f"https://{PUBLIC_V4}/", [], resolver=no_dns)
    with pytest.raises(UnsafeURLError):
        check_url("http://127.0.0.1/", [], resolver=no_dns)


# --- refused addresses ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.1/", "loopback"),
        ("http://127.8.9.10:8000/", "loopback"),
        ("http://10.0.0.5/", "private"),
        ("http://172.16.3.4/", "private"),
        ("http://192.168.0.1/", "private"),
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
        ("http://[::1]/", "loopback"),
        ("http://[::ffff:127.0.0.1]/", r"loopback address \(as 127\.0\.0\.1\)"),
        ("http://[::ffff:a9fe:a9fe]/", "link-local"),
        ("http://[64:ff9b::a00:1]/", r"private address \(as 10\.0\.0\.1\)"),
        ("http://[2002:7f00:1::1]/", "loopback"),
        ("http://[fd00:ec2::254]/", "private"),
        ("http://[fe80::1]/", "link-local"),
        ("http://0.0.0.0/", "unspecified"),
        ("http://[::]/", "unspecified"),
        ("http://100.64.0.1/", "non-globally-routable"),
        ("http://224.0.0.1/", "multicast"),
        ("http://[ff0e::1]/", "multicast"),
        ("http://240.0.0.1/", "private|reserved"),
        ("http://2130706433/", "loopback"),
        ("http://0x7f.1/", "loopback"),
        ("http://017700000001/", "loopback"),
        ("http://0x7f000001/", "loopback"),
        ("http://127.1/", "loopback"),
        ("http://10.1.258/", "private"),
    ],
)
def test_internal_addresses_are_refused(url: str, reason: str) -> None:
    with pytest.raises(UnsafeURLError, match=reason):
        check_url(url, [], resolver=no_dns)


@pytest.mark.parametrize(
    ("host", "reason"),
    [
        ("internal.example.com", "10.1.2.3 is a private address"),
        ("rebind.example.com", "loopback"),
        ("v6only.example.com", "private"),
        ("scoped.example.com", "link-local"),
    ],
)
def test_names_resolving_to_internal_addresses_are_refused(host: str, reason: str) -> None:
    with pytest.raises(UnsafeURLError, match=reason):
        check_url(f"https://{host}/hook", [], resolver=DNS)


def test_any_internal_address_among_several_is_enough_to_refuse() -> None:
    with pytest.raises(UnsafeURLError, match=r"192\.168\.1\.10 is a private"):
        check_url("https://mixed.example.com/", [], resolver=DNS)


@pytest.mark.parametrize("host", ["localhost", "LOCALHOST.", "api.localhost"])
def test_localhost_names_are_refused_without_dns(host: str) -> None:
    with pytest.raises(UnsafeURLError, match="loopback name"):
        check_url(f"http://{host}:8080/", [], resolver=no_dns)


@pytest.mark.parametrize(
    ("host", "reason"),
    [
        ("nowhere.example.com", "does not resolve"),
        ("garbage.example.com", "no usable address"),
        ("empty.example.com", "no usable address"),
    ],
)
def test_unresolvable_names_are_refused(host: str, reason: str) -> None:
    with pytest.raises(UnsafeURLError, match=reason):
        check_url(f"https://{host}/", [], resolver=DNS)


# --- malformed URLs ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("file:///etc/passwd", "scheme 'file' is not allowed"),
        ("gopher://hooks.example.com:70/_x", "scheme 'gopher'"),
        ("ftp://hooks.example.com/", "scheme 'ftp'"),
        ("hooks.example.com/path", "scheme '\\(none\\)'"),
        ("https:///path-only", "no host"),
        ("http://user:pw@hooks.example.com/", "credentials"),
        ("http://user@hooks.example.com/", "credentials"),
        ("http://hooks.example.com:99999/", "invalid port"),
        ("http://1.2.3.4.5/", "not a valid IPv4"),
        ("http://08.0.0.1/", "not a valid IPv4"),
        ("http://256.1.1.1/", "not a valid IPv4"),
    ],
)
def test_malformed_or_dangerous_urls_are_refused(url: str, reason: str) -> None:
    with pytest.raises(UnsafeURLError, match=reason):
        check_url(url, [], resolver=DNS)


def test_ports_outside_the_allowed_set_are_refused() -> None:
    check_url("https://hooks.example.com/", [], resolver=DNS, allowed_ports={443, 80})
    with pytest.raises(UnsafeURLError, match="port 6379 is not allowed"):
        check_url("http://hooks.example.com:6379/", [], resolver=DNS, allowed_ports={443, 80})


# --- allow-list -------------------------------------------------------------------------------


def test_address_allowed_by_cidr() -> None:
    check_url("https://internal.example.com/", ["10.0.0.0/8"], resolver=DNS)
    check_url("http://10.9.8.7:9000/", ["10.0.0.0/8"], resolver=no_dns)
    with pytest.raises(UnsafeURLError):
        check_url("http://192.168.0.1/", ["10.0.0.0/8"], resolver=no_dns)


def test_address_allowed_by_exact_ip() -> None:
    check_url("http://127.0.0.1:8765/hook", ["127.0.0.1"], resolver=no_dns)
    check_url("http://[::1]:8765/hook", ["::1"], resolver=no_dns)
    with pytest.raises(UnsafeURLError):
        check_url("http://127.0.0.2/", ["127.0.0.1"], resolver=no_dns)


def test_cidr_allow_list_also_covers_ipv4_mapped_form() -> None:
    check_url("http://[::ffff:10.0.0.5]/", ["10.0.0.0/8"], resolver=no_dns)


def test_host_allowed_by_name_skips_resolution() -> None:
    check_url("http://Internal.Example.com/hook", ["internal.example.com"], resolver=no_dns)
    check_url("http://localhost:8000/", ["localhost"], resolver=no_dns)


def test_allowed_name_does_not_cover_other_names() -> None:
    with pytest.raises(UnsafeURLError):
        check_url("https://rebind.example.com/", ["internal.example.com"], resolver=DNS)


def test_allow_list_parsing() -> None:
    allow = AllowList.parse([" Hooks.Internal. ", "10.0.0.0/8", "192.168.1.7", "[fd00::1]", ""])
    assert allow.hosts == frozenset({"hooks.internal"})
    assert [str(n) for n in allow.networks] == ["10.0.0.0/8", "192.168.1.7/32", "fd00::1/128"]
    with pytest.raises(ValueError):
        AllowList.parse(["10.0.0.0/33"])
    with pytest.raises(TypeError):
        AllowList.parse("10.0.0.0/8")


def test_prebuilt_allow_list_is_accepted() -> None:
    allow = AllowList.parse(["10.0.0.0/8"])
    check_url("https://internal.example.com/", allow, resolver=DNS)
    assert is_address_allowed("10.3.3.3", allow)


# --- connect-time check ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ip", "allowed", "expected"),
    [
        (PUBLIC_V4, [], True),
        (PUBLIC_V6, [], True),
        ("127.0.0.1", [], False),
        ("::ffff:127.0.0.1", [], False),
        ("169.254.169.254", [], False),
        ("fe80::1%eth0", [], False),
        ("10.0.0.1", ["10.0.0.0/24"], True),
        ("10.0.1.1", ["10.0.0.0/24"], False),
        ("not-an-ip", [], False),
    ],
)
def test_is_address_allowed(ip: str, allowed: list[str], expected: bool) -> None:
    assert is_address_allowed(ip, allowed) is expected


def test_is_address_allowed_accepts_address_objects() -> None:
    assert is_address_allowed(ipaddress.ip_address(PUBLIC_V4)) is True
    assert is_address_allowed(ipaddress.ip_address("192.168.0.1")) is False


def test_blocked_reason_names_the_category() -> None:
    assert blocked_reason(ipaddress.ip_address("127.0.0.1")) == "loopback address"
    assert blocked_reason(ipaddress.ip_address("169.254.169.254")) == "link-local address"
    assert blocked_reason(ipaddress.ip_address(PUBLIC_V4)) is None
    assert blocked_reason(ipaddress.ip_address("64:ff9b::808:808")) is None
