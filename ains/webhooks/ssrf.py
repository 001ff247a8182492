"""SSRF guard for user-supplied webhook URLs. Pure except DNS, which is injectable.

A URL is accepted when its scheme is http or https, it carries no credentials, its port is
allowed, and every address its host resolves to is publicly routable. Refused: loopback,
private (RFC 1918, ULA), link-local (cloud metadata 169.254.169.254), shared (CGNAT),
multicast, reserved, unspecified and other non-global addresses, including IPv4 addresses
hidden in IPv6 (IPv4-mapped ``::ffff:a.b.c.d``, NAT64 ``64:ff9b::/96``, 6to4 ``2002::/16``).
Legacy numeric hosts (``2130706433``, ``0x7f.1``, ``017700000001``) are parsed the way
browsers and ``inet_aton`` read them, so they cannot slip past as "names".

An entry of ``allowed`` (host name, IP address or CIDR) exempts a host name, or an address,
from the check: the administrator's escape hatch for internal receivers.

Checking at registration is not enough (DNS rebinding): the sender must check again at
delivery and connect to the address it checked, with :func:`is_address_allowed`.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

__all__ = [
    "AllowList",
    "IPAddress",
    "Resolver",
    "UnsafeURLError",
    "blocked_reason",
    "check_url",
    "is_address_allowed",
    "resolve_host",
]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], Sequence[str]]
"""``(host, port) -> addresses``; may raise ``OSError`` when the name does not resolve."""

_SCHEMES = {"http": 80, "https": 443}
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_NUMERIC_LABEL = re.compile(r"^(0x[0-9a-f]*|[0-9]+)$", re.IGNORECASE)


class UnsafeURLError(ValueError):
    """A URL the server refuses to call; the message says why."""


@dataclass(frozen=True, slots=True)
class AllowList:
    """Parsed ``allowed`` entries: exact host names and IP networks."""

    hosts: frozenset[str]
    networks: tuple[IPNetwork, ...]

    @classmethod
    def parse(cls, entries: Sequence[str]) -> AllowList:
        """Parse host names, IP addresses and CIDRs; raise ``ValueError`` on a bad CIDR."""
        if isinstance(entries, str):
            raise TypeError("allowed must be a sequence of entries, not a string")
        hosts: set[str] = set()
        networks: list[IPNetwork] = []
        for raw in entries:
            entry = raw.strip()
            if not entry:
                continue
            network = _parse_network(entry)
            if network is None:
                hosts.add(_normalise_host(entry))
            else:
                networks.append(network)
        return cls(frozenset(hosts), tuple(networks))

    def allows_host(self, host: str) -> bool:
        """Whether the host name is allow-listed (exact, case-insensitive)."""
        return _normalise_host(host) in self.hosts

    def allows_address(self, ip: IPAddress) -> bool:
        """Whether the address, or the IPv4 address it embeds, is in an allowed network."""
        candidates = [ip] + ([embedded] if (embedded := _embedded_ipv4(ip)) else [])
        return any(
            c in net for c in candidates for net in self.networks if c.version == net.version
        )


def resolve_host(host: str, port: int) -> list[str]:
    """Resolve ``host`` with ``socket.getaddrinfo``; the default resolver."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def check_url(
    url: str,
    allowed: Sequence[str] | AllowList = (),
    *,
    resolver: Resolver | None = None,
    allowed_ports: Collection[int] | None = None,
) -> None:
    """Raise :class:`UnsafeURLError` unless ``url`` is safe to deliver webhooks to.

    ``allowed_ports`` of ``None`` accepts any port.
    """
    allow = allowed if isinstance(allowed, AllowList) else AllowList.parse(allowed)
    host, port = _split_url(url, allowed_ports)
    if allow.allows_host(host):
        return
    literal = _parse_ip_literal(host)
    if literal is not None:
        _check_address(literal, allow)
        return
    if host == "localhost" or host.endswith(".localhost"):
        raise UnsafeURLError(f"host {host!r} is a loopback name")
    for address in _resolve(host, port, resolver or resolve_host):
        _check_address(address, allow)


def is_address_allowed(ip: str | IPAddress, allowed: Sequence[str] | AllowList = ()) -> bool:
    """Connect-time check: whether ``ip`` is public or allow-listed."""
    address = ip if not isinstance(ip, str) else _parse_address(ip)
    if address is None:
        return False
    allow = allowed if isinstance(allowed, AllowList) else AllowList.parse(allowed)
    return allow.allows_address(address) or blocked_reason(address) is None


def blocked_reason(ip: IPAddress) -> str | None:
    """Why ``ip`` must not be called (e.g. ``"loopback address"``), or ``None`` if public."""
    embedded = _embedded_ipv4(ip)
    if embedded is not None:
        reason = blocked_reason(embedded)
        if reason is not None:
            return f"{reason} (as {embedded})"
        if _is_ipv4_translation(ip):
            # Reaching a public IPv4 address through its IPv6 form is as safe as the IPv4 one.
            return None
    for flag, reason in _CATEGORIES:
        if getattr(ip, flag, False):
            return reason
    return None if ip.is_global else "non-globally-routable address"


_CATEGORIES = (
    ("is_unspecified", "unspecified address"),
    ("is_loopback", "loopback address"),
    ("is_link_local", "link-local address"),
    ("is_multicast", "multicast address"),
    ("is_site_local", "site-local address"),
    ("is_private", "private address"),
    ("is_reserved", "reserved address"),
)


def _split_url(url: str, allowed_ports: Collection[int] | None) -> tuple[str, int]:
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme not in _SCHEMES:
        raise UnsafeURLError(f"scheme {scheme or '(none)'!r} is not allowed: use http or https")
    if parts.username is not None or parts.password is not None:
        raise UnsafeURLError("credentials in the URL are not allowed")
    host = _normalise_host(parts.hostname or "")
    if not host:
        raise UnsafeURLError("the URL has no host")
    try:
        port = parts.port or _SCHEMES[scheme]
    except ValueError as exc:
        raise UnsafeURLError(f"invalid port: {exc}") from exc
    if allowed_ports is not None and port not in allowed_ports:
        raise UnsafeURLError(f"port {port} is not allowed")
    return host, port


def _resolve(host: str, port: int, resolver: Resolver) -> list[IPAddress]:
    try:
        raw = resolver(host, port)
    except (OSError, UnicodeError) as exc:
        raise UnsafeURLError(f"host {host!r} does not resolve: {exc}") from exc
    addresses = [_parse_address(a) for a in raw]
    if not addresses or any(a is None for a in addresses):
        raise UnsafeURLError(f"host {host!r} resolved to no usable address: {list(raw)}")
    return [a for a in addresses if a is not None]


def _check_address(ip: IPAddress, allow: AllowList) -> None:
    if allow.allows_address(ip):
        return
    reason = blocked_reason(ip)
    if reason is not None:
        raise UnsafeURLError(f"{ip} is a {reason}; not allowed as a webhook target")


def _parse_ip_literal(host: str) -> IPAddress | None:
    """Parse a host that is an IP address in any spelling; ``None`` for a real name."""
    address = _parse_address(host)
    if address is not None:
        return address
    labels = host.split(".")
    if not _NUMERIC_LABEL.match(labels[-1]):
        return None
    # As in the WHATWG URL parser: a host ending in a number is an IPv4 address or invalid.
    legacy = _parse_legacy_ipv4(labels)
    if legacy is None:
        raise UnsafeURLError(f"host {host!r} is not a valid IPv4 address")
    return legacy


def _parse_legacy_ipv4(labels: list[str]) -> ipaddress.IPv4Address | None:
    """``inet_aton`` forms: 1-4 parts, each decimal, 0x-hex or 0-octal; the last fills the rest."""
    if len(labels) > 4:
        return None
    try:
        values = [_parse_number(label) for label in labels]
    except ValueError:
        return None
    *head, last = values
    if any(v > 255 for v in head) or last >= 256 ** (5 - len(values)):
        return None
    number = last
    for index, value in enumerate(head):
        number += value << (8 * (3 - index))
    return ipaddress.IPv4Address(number)


def _parse_number(label: str) -> int:
    lowered = label.lower()
    if lowered.startswith("0x"):
        return int(lowered[2:] or "0", 16)
    if len(label) > 1 and label.startswith("0"):
        return int(label, 8)
    return int(label, 10)


def _parse_address(text: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return None


def _parse_network(entry: str) -> IPNetwork | None:
    if "/" in entry:
        return ipaddress.ip_network(entry, strict=False)
    address = _parse_address(entry.strip("[]"))
    return None if address is None else ipaddress.ip_network(address)


def _embedded_ipv4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    if isinstance(ip, ipaddress.IPv4Address):
        return None
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip.sixtofour


def _is_ipv4_translation(ip: IPAddress) -> bool:
    return isinstance(ip, ipaddress.IPv6Address) and (ip.ipv4_mapped is not None or ip in _NAT64)


def _normalise_host(host: str) -> str:
    return host.strip().lower().rstrip(".").strip("[]")
