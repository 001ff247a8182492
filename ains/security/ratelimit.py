"""Request rate limits per principal and route class (`submit`, `claim`, `report`, `read`,
`admin`), counted by the `limits` library: in process memory, or in Redis when
`AINS_REDIS_URL` is set so that replicas share the counters.

The strategy is limits' sliding-window counter: a limit of N per period lets a principal burst
up to N at once and then N per period, as a token bucket of N tokens refilled at N per period
would, for two counters per principal and class. Unauthenticated floods are `throttle.py`'s
business (failed authentications per address); this module counts only known principals."""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Final, Literal, get_args

from limits import RateLimitItem, parse_many
from limits.aio.storage import MemoryStorage, RedisStorage
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from limits.errors import StorageError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from ains import json_output
from ains.exceptions import TooManyRequests
from ains.security.principals import Principal
from ains.security.throttle import MAX_ENTRIES

log = logging.getLogger("ains.ratelimit")

RouteClass = Literal["submit", "claim", "report", "read", "admin"]
ROUTE_CLASSES: Final[tuple[RouteClass, ...]] = get_args(RouteClass)
# Far above what one principal does in normal use or in the benchmarks (one process serves a
# few thousand requests a second here), low enough to stop a runaway client on big hardware.
DEFAULT_RATE_LIMITS: Final[dict[RouteClass, str]] = {
    "submit": "10000/second",
    "claim": "5000/second",
    "report": "10000/second",
    "read": "2000/second",
    "admin": "1000/second",
}
Rules = dict[RouteClass, tuple[RateLimitItem, ...]]

_ADMIN_PREFIXES: Final = (
    "/ains/keys",
    "/ains/audit",
    "/ains/admin",
    "/aitp/dlq",
    "/api/ai/tasks/cleanup/",
)
# seed 004's manual retry is a GET that changes a task: counted as the change it is
_CHANGING_GETS: Final = frozenset({"/api/ai/tasks/{task_id}/retry"})
_CLAIM_PATHS: Final = frozenset({"/aitp/agents/{agent_id}/claim"})
_REPORT_PATHS: Final = frozenset(
    {
        "/aitp/tasks/{task_id}/start",
        "/aitp/tasks/{task_id}/heartbeat",
        "/aitp/tasks/{task_id}/complete",
        "/aitp/tasks/{task_id}/fail",
        "/aitp/agents/{agent_id}/reports",
        "/ains/agents/{agent_id}/heartbeat",
    }
)
_READ_METHODS: Final = frozenset({"GET", "HEAD"})
# Where a route's guard leaves the route class for `admit`.
_CLASS_KEY: Final = "ains.route_class"
# How long the memory fallback serves after Redis failed, before Redis is tried again.
REDIS_RETRY_SECONDS: Final = 5.0
# A refused request is answered when it may retry, but at least REFUSAL_DELAY_MIN and at most
# REFUSAL_DELAY_MAX seconds later: a flood over N connections then costs the server at most
# 2N full answers a second (the rest are answered before their body is read), not its CPU.
REFUSAL_DELAY_MIN: Final = 0.5
REFUSAL_DELAY_MAX: Final = 1.0


def route_class(methods: frozenset[str] | set[str], path: str) -> RouteClass:
    """The class of a route, from its methods and template (`/aitp/tasks/{task_id}/start`)."""
    if path.startswith(_ADMIN_PREFIXES):
        return "admin"
    if methods <= _READ_METHODS and path not in _CHANGING_GETS:
        return "read"
    if path in _CLAIM_PATHS:
        return "claim"
    if path in _REPORT_PATHS:
        return "report"
    return "submit"  # every other change a caller makes: tasks, batches, schedules, webhooks…


def parse_rate_limits(raw: Mapping[str, str | None]) -> Rules:
    """The defaults overridden by `raw` (`{"read": "100/second"}`; null lifts a class's
    limit). Raises ValueError naming AINS_RATE_LIMITS, the class and what is expected."""
    unknown = sorted(set(raw) - set(ROUTE_CLASSES))
    if unknown:
        raise ValueError(
            f"AINS_RATE_LIMITS: unknown route class {unknown[0]!r}; "
            f"expected one of {', '.join(ROUTE_CLASSES)}"
        )
    rules: Rules = {}
    for name in ROUTE_CLASSES:
        text = raw[name] if name in raw else DEFAULT_RATE_LIMITS[name]
        if text is None:
            continue
        try:
            items = tuple(parse_many(text))
        except ValueError:
            items = ()
        if not items or any(item.amount < 1 for item in items):
            raise ValueError(
                f"AINS_RATE_LIMITS: {name}={text!r} is not a rate limit; expected the limits "
                "notation, like '2000/second' or '100/minute;10/second', or null for none"
            )
        rules[name] = items
    return rules


def _memory_storage() -> MemoryStorage:
    """limits' memory storage starts a task sweeping every expired key on each hit; sweeping at
    most once a second keeps a hit's cost flat (expired counters are also dropped when read,
    so the sweep only frees memory). Patched on the instance: a subclass would register itself
    as limits' `async+memory` storage and wrap every method a second time."""
    storage = MemoryStorage()
    sweep = getattr(storage, "_MemoryStorage__schedule_expiry")  # noqa: B009
    next_sweep = 0.0

    async def schedule_expiry() -> None:
        nonlocal next_sweep
        now = time.monotonic()
        if now >= next_sweep:
            next_sweep = now + 1.0
            await sweep()

    setattr(storage, "_MemoryStorage__schedule_expiry", schedule_expiry)  # noqa: B010
    return storage


class RefusedCredentials:
    """Credentials refused for a route class, until a request may pass again: their next
    requests are answered 429 before their body is read or their key checked, so a flooding
    client costs the server as little as possible. Keyed by the exact Authorization header, so
    only a caller holding the credential can meet the entry."""

    def __init__(self) -> None:
        self._until: dict[tuple[bytes, RouteClass], tuple[float, RateLimitItem, Principal]] = {}

    def __bool__(self) -> bool:
        return bool(self._until)

    def add(
        self, credential: bytes, cls: RouteClass, until: float, why: tuple[RateLimitItem, Principal]
    ) -> None:
        if len(self._until) >= MAX_ENTRIES:
            self._prune(time.monotonic())
        self._until[credential, cls] = (until, *why)

    def refused(
        self, credential: bytes, cls: RouteClass, now: float
    ) -> tuple[RateLimitItem, Principal, float] | None:
        """The limit, the principal and the seconds left, while the credential is refused."""
        entry = self._until.get((credential, cls))
        if entry is None:
            return None
        until, item, principal = entry
        if now >= until:
            del self._until[credential, cls]
            return None
        return item, principal, until - now

    def _prune(self, now: float) -> None:
        for key, (until, *_) in list(self._until.items()):
            if now >= until:
                del self._until[key]
        while len(self._until) >= MAX_ENTRIES:
            del self._until[next(iter(self._until))]


OnRefused = Callable[[Principal, Scope, str, TooManyRequests], Awaitable[None]]


class RateLimits:
    """Admits or refuses an authenticated request by its principal and its route's class."""

    def __init__(
        self,
        rules: Rules,
        redis_url: str | None = None,
        key_prefix: str = "ains:ratelimit",
        on_refused: OnRefused | None = None,
    ) -> None:
        self.rules = rules
        self.refused = RefusedCredentials()
        # audits the 429s answered before authentication (ains.services passes the audit's)
        self.on_refused = on_refused
        self._local = SlidingWindowCounterRateLimiter(_memory_storage())
        self._shared: SlidingWindowCounterRateLimiter | None = None
        if redis_url:
            storage = RedisStorage(
                "async+" + redis_url,
                wrap_exceptions=True,
                implementation="redispy",
                key_prefix=key_prefix,
                socket_connect_timeout=1.0,
                socket_timeout=1.0,
            )
            self._shared = SlidingWindowCounterRateLimiter(storage)
        self._redis_down = False
        self._retry_redis_at = 0.0

    async def start(self) -> None:
        if self._shared is not None and not await self._shared.storage.check():
            self._redis_failed("not reachable at start")

    async def stop(self) -> None:
        if self._shared is not None:
            connection = self._shared.storage.bridge.get_connection()  # type: ignore[attr-defined]
            await connection.aclose()

    def guard(self, app: ASGIApp, cls: RouteClass, template: str = "") -> ASGIApp:
        """Wraps one route's ASGI app (once, at start): marks its requests with the route's
        class and answers a credential refused for that class at once. A plain function
        handing back the app's coroutine, so no coroutine frame is added to the request's
        chain."""
        refused = self.refused

        def guarded(scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
            scope[_CLASS_KEY] = cls
            if refused:
                credential = _authorization(scope)
                found = credential and refused.refused(credential, cls, time.monotonic())
                if found:
                    return self._answer_refused(*found, cls, template, scope, receive, send)
            return app(scope, receive, send)

        return guarded

    async def _answer_refused(
        self,
        item: RateLimitItem,
        principal: Principal,
        left: float,
        cls: RouteClass,
        template: str,
        scope: Scope,
        receive: Receive,
        send: Send,
    ) -> None:
        """A credential still refused, answered before authentication: audited like the 429
        that started its refusal."""
        refusal = await _after_delay(item, cls, principal, left)
        if self.on_refused is not None:
            await self.on_refused(principal, scope, template, refusal)
        await _problem(refusal)(scope, receive, send)

    async def admit(
        self, request: Request, principal: Principal, route_class: RouteClass | None = None
    ) -> None:
        """Count the request in its route's class (or `route_class`, for a route whose
        requests differ in kind, like /graphql's queries and mutations); raise 429 past the
        limit. (Admitted answers carry no RateLimit-* headers: reading the window back costs
        about 5% of a submission's CPU, measured.)"""
        scope = request.scope
        cls: RouteClass | None = route_class or scope.get(_CLASS_KEY)
        items = self.rules.get(cls) if cls else None
        if not items or cls is None:
            return
        try:
            await self._hit(items, cls, principal)
        except _Refused as refused:
            credential = _authorization(scope)
            if credential:
                until = time.monotonic() + refused.seconds
                self.refused.add(credential, cls, until, (refused.item, principal))
            raise await _after_delay(refused.item, cls, principal, refused.seconds) from None

    async def _hit(
        self, items: tuple[RateLimitItem, ...], cls: RouteClass, principal: Principal
    ) -> None:
        limiter = self._limiter()
        try:
            await self._hit_with(limiter, items, cls, principal)
        except StorageError as exc:
            self._redis_failed(str(exc))
            await self._hit_with(self._local, items, cls, principal)
            return
        if self._redis_down and limiter is self._shared:
            self._redis_down = False
            log.warning("rate limits: Redis answers again; counters are shared again")

    async def _hit_with(
        self,
        limiter: SlidingWindowCounterRateLimiter,
        items: tuple[RateLimitItem, ...],
        cls: RouteClass,
        principal: Principal,
    ) -> None:
        for item in items:
            if not await limiter.hit(item, cls, principal.actor):
                stats = await limiter.get_window_stats(item, cls, principal.actor)
                raise _Refused(item, max(0.0, stats.reset_time - time.time()))

    def _limiter(self) -> SlidingWindowCounterRateLimiter:
        if self._shared is None or time.monotonic() < self._retry_redis_at:
            return self._local
        return self._shared

    def _redis_failed(self, reason: str) -> None:
        self._retry_redis_at = time.monotonic() + REDIS_RETRY_SECONDS
        if not self._redis_down:  # once per outage, not once per request or retry
            self._redis_down = True
            log.warning(
                "rate limits: Redis (AINS_REDIS_URL) failed (%s); counting in this process's "
                "memory, not shared with other replicas, and trying Redis again every %.0f s",
                reason,
                REDIS_RETRY_SECONDS,
            )


def install_rate_limits(routes: Iterable[BaseRoute], limits: RateLimits) -> None:
    """Guards every HTTP route; its class is computed here, once, from its template."""
    for route in routes:
        methods = getattr(route, "methods", None)
        if isinstance(route, Route) and methods:
            cls = route_class(frozenset(methods), route.path)
            route.app = limits.guard(route.app, cls, route.path)


class _Refused(Exception):
    def __init__(self, item: RateLimitItem, seconds: float) -> None:
        self.item = item
        self.seconds = seconds


def _authorization(scope: Scope) -> bytes:
    for name, value in scope["headers"]:
        if name == b"authorization":
            return bytes(value)
    return b""


async def _after_delay(
    item: RateLimitItem, cls: RouteClass, principal: Principal, seconds: float
) -> TooManyRequests:
    delay = min(max(seconds, REFUSAL_DELAY_MIN), REFUSAL_DELAY_MAX)
    await asyncio.sleep(delay)
    return _refusal(item, cls, principal, seconds - delay)


def _refusal(
    item: RateLimitItem, cls: RouteClass, principal: Principal, seconds: float
) -> TooManyRequests:
    retry_after = max(1, math.ceil(seconds))
    return TooManyRequests(
        f"rate limit exceeded: {principal.actor} may make {item} '{cls}' requests "
        f"(AINS_RATE_LIMITS); retry in {retry_after} s",
        extra={"route_class": cls, "limit": str(item), "retry_after": retry_after},
        headers={
            "Retry-After": str(retry_after),
            "RateLimit-Limit": str(item.amount),
            "RateLimit-Remaining": "0",
            "RateLimit-Reset": str(retry_after),
        },
    )


def _problem(exc: TooManyRequests) -> Response:
    # as ains.http.problem renders it (importing it here would be an import cycle via config)
    body = {"type": "about:blank", "title": exc.title, "status": 429, "detail": exc.detail}
    return Response(
        json_output.dumps({**body, **exc.extra}),
        status_code=429,
        media_type="application/problem+json",
        headers=exc.headers,
    )
