"""One webhook HTTP call: connect-time SSRF check, Standard Webhooks signature, no redirects,
a per-request timeout. Also the retry schedule (pure)."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import httpx

from ains.retries.policy import backoff
from ains.webhooks.signing import build_headers
from ains.webhooks.ssrf import AllowList, is_address_allowed

MAX_ATTEMPTS = 8
BACKOFF_BASE_SECONDS = 1.0
BACKOFF_CAP_SECONDS = 60.0
BACKOFF_JITTER = (0.8, 1.2)
ERROR_BODY_CHARS = 300


@dataclass(frozen=True, slots=True)
class AttemptResult:
    success: bool
    outcome: str  # success | failure | timeout | refused (ains_webhook_deliveries_total)
    status_code: int | None
    latency_ms: float
    error: str | None
    retry_after: float | None = None

    @property
    def gone(self) -> bool:
        """410 Gone: the receiver asks us to stop (Standard Webhooks)."""
        return self.status_code == 410


def backoff_seconds(
    attempt: int, retry_after: float | None = None, base_seconds: float = BACKOFF_BASE_SECONDS
) -> float:
    """Delay before attempt ``attempt + 1``: 1 s, 2 s, 4 s … (``base_seconds`` doubled) capped
    at 60 s, ±20 % jitter; at least the receiver's ``Retry-After`` (capped at 10 minutes)."""
    delay = backoff(
        max(1, attempt), base=base_seconds, cap=BACKOFF_CAP_SECONDS, jitter=BACKOFF_JITTER
    )
    if retry_after is not None:
        delay = max(delay, min(retry_after, 600.0))
    return delay


class Deliverer:
    def __init__(
        self,
        allowed_hosts: list[str],
        timeout: float,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.allow = AllowList.parse(allowed_hosts)
        self.client = httpx.AsyncClient(
            timeout=timeout,
            follow_redirects=False,
            transport=transport,
            limits=httpx.Limits(max_connections=200, max_keepalive_connections=50),
            headers={"user-agent": "DukeNet-AINS-Webhooks/1"},
        )

    async def close(self) -> None:
        await self.client.aclose()

    async def send(self, url: str, secret: str, msg_id: str, body: bytes) -> AttemptResult:
        started = time.perf_counter()
        try:
            target, host_header, sni = await self._pin(url)
        except _Refused as exc:
            return AttemptResult(False, "refused", None, _ms(started), str(exc))
        headers = build_headers(secret, msg_id, int(time.time()), body)
        headers["content-type"] = "application/json"
        headers["host"] = host_header
        extensions = {"sni_hostname": sni} if sni else {}
        try:
            response = await self.client.post(
                target, content=body, headers=headers, extensions=extensions
            )
        except httpx.TimeoutException as exc:
            return AttemptResult(False, "timeout", None, _ms(started), f"timeout: {exc!r}")
        except httpx.HTTPError as exc:
            return AttemptResult(
                False, "failure", None, _ms(started), f"{type(exc).__name__}: {exc}"
            )
        latency = _ms(started)
        code = response.status_code
        if 200 <= code < 300:
            return AttemptResult(True, "success", code, latency, None)
        error = f"HTTP {code}"
        if 300 <= code < 400:
            error += " (redirects are not followed)"
        elif response.text:
            error += ": " + response.text[:ERROR_BODY_CHARS]
        return AttemptResult(False, "failure", code, latency, error, _retry_after(response.headers))

    async def _pin(self, url: str) -> tuple[str, str, str | None]:
        """Resolve the host, check every address, and return the URL rewritten to the
        address checked (so DNS cannot change between check and connect), the Host header
        and the TLS server name."""
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port or (443 if parts.scheme == "https" else 80)
        host_header = parts.netloc.rpartition("@")[2]
        if self.allow.allows_host(host):
            return url, host_header, None
        try:
            literal = ipaddress.ip_address(host)
            addresses = [str(literal)]
        except ValueError:
            try:
                infos = await asyncio.get_running_loop().getaddrinfo(
                    host, port, type=socket.SOCK_STREAM
                )
            except OSError as exc:
                raise _Refused(f"host {host!r} does not resolve: {exc}") from exc
            addresses = list(dict.fromkeys(str(i[4][0]) for i in infos))
        if not addresses:
            raise _Refused(f"host {host!r} resolved to no address")
        blocked = [a for a in addresses if not is_address_allowed(a, self.allow)]
        if blocked:
            raise _Refused(
                f"refused by the SSRF guard: {host!r} resolves to non-public {blocked} "
                "(allow-list it with AINS_WEBHOOK_ALLOWED_HOSTS)"
            )
        address = addresses[0]
        netloc = f"[{address}]:{port}" if ":" in address else f"{address}:{port}"
        target = urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))
        return target, host_header, (host if parts.scheme == "https" else None)


class _Refused(Exception):
    pass


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)


def _retry_after(headers: httpx.Headers) -> float | None:
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None
