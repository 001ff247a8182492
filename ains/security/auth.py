"""Resolving the caller from `Authorization: Bearer …` (API key or JWT), and protected mode."""

from __future__ import annotations

import ipaddress
import time
from typing import Any

import httpx
import jwt
from jwt.algorithms import get_default_algorithms

from ains.clock import Clock, utcnow
from ains.config import Settings
from ains.db.engine import Database
from ains.exceptions import TooManyRequests, Unauthorized
from ains.metrics.registry import record_cache
from ains.security import keys, repository
from ains.security.denials import DenialAuditor
from ains.security.jwks import JwksKeys
from ains.security.principals import LOCAL_ADMIN, ROLES, Principal
from ains.security.throttle import FailureLimiter

CACHE_SECONDS = 5.0
KEYS_CREATED_TOPIC = "keys.created"
KEY_CACHE = "api_keys"
UNKNOWN_PEER = "unknown"


class TooManyFailures(TooManyRequests):
    """Too many failed authentications from one address; audited like a denial."""


def peer_address(host: str | None) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The TCP peer's address (an IPv4-mapped IPv6 one as IPv4, no zone), None if not an IP."""
    if not host:
        return None
    try:
        address = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def is_loopback_peer(host: str | None) -> bool:
    """Whether the TCP peer is this machine (the whole of 127/8, ::1, IPv4-mapped loopback)."""
    address = peer_address(host)
    return address is not None and address.is_loopback


def failure_bucket(peer: str | None) -> str:
    """The unit failed authentications are counted by: the address, or its /64 for IPv6 (one
    host usually holds a whole /64, so counting single addresses would let it rotate)."""
    try:
        address = ipaddress.ip_address((peer or "").split("%", 1)[0])
    except ValueError:
        return peer or UNKNOWN_PEER
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is None:
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address.ipv4_mapped if isinstance(address, ipaddress.IPv6Address) else address)


def jwt_settings_error(settings: Settings) -> str | None:
    """Why the JWT settings cannot verify any token, or None when they can (or JWT is off)."""
    algorithm = settings.jwt_algorithm
    if not jwt_enabled(settings):
        return None
    if algorithm not in get_default_algorithms() or algorithm == "none":
        return f"AINS_JWT_ALGORITHM={algorithm} is not a supported JWT algorithm"
    symmetric = algorithm.startswith("HS")
    if settings.jwt_jwks_url:
        return _jwks_settings_error(settings, symmetric)
    if symmetric and settings.jwt_public_key:
        return (
            f"AINS_JWT_PUBLIC_KEY is set but AINS_JWT_ALGORITHM is {algorithm}, a symmetric "
            "algorithm: set AINS_JWT_ALGORITHM to the key's algorithm (e.g. RS256, ES256), or "
            "use AINS_JWT_SECRET for HMAC"
        )
    if not symmetric and not settings.jwt_public_key:
        return f"AINS_JWT_ALGORITHM={algorithm} needs AINS_JWT_PUBLIC_KEY (a PEM public key)"
    if not symmetric:
        try:
            get_default_algorithms()[algorithm].prepare_key(settings.jwt_public_key)
        except Exception as exc:
            return f"AINS_JWT_PUBLIC_KEY is not a usable {algorithm} public key: {exc}"
    return None


def jwt_enabled(settings: Settings) -> bool:
    return bool(settings.jwt_secret or settings.jwt_public_key or settings.jwt_jwks_url)


def _jwks_settings_error(settings: Settings, symmetric: bool) -> str | None:
    if settings.jwt_public_key or settings.jwt_secret:
        return (
            "AINS_JWT_JWKS_URL is set together with AINS_JWT_PUBLIC_KEY or AINS_JWT_SECRET: "
            "set only one source of signing keys"
        )
    if symmetric:
        return (
            f"AINS_JWT_JWKS_URL needs an asymmetric AINS_JWT_ALGORITHM (RS256, ES256, …), "
            f"not {settings.jwt_algorithm}"
        )
    return None


class Authenticator:
    def __init__(
        self,
        settings: Settings,
        db: Database,
        clock: Clock = utcnow,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.settings = settings
        self.db = db
        self.clock = clock
        # key hash → (holder or None for an unknown key, monotonic time the answer expires)
        self._cache: dict[str, tuple[keys.KeyHolder | None, float]] = {}
        self.key_ttl = settings.key_cache_seconds
        self.jwks = (
            JwksKeys(
                settings.jwt_jwks_url,
                settings.jwt_algorithm,
                settings.jwt_jwks_cache_seconds,
                transport,
            )
            if settings.jwt_jwks_url
            else None
        )
        self._secured: tuple[bool, float] | None = None
        self.failures = FailureLimiter(
            settings.auth_failure_limit, settings.auth_failure_window_seconds
        )
        self.denials = DenialAuditor(db, clock, settings.audit_denial_window_seconds)

    def forget(self, key_hash: str | None = None) -> None:
        """Drop cached answers (after a key is created or revoked); creating a key clears the
        negative answers too."""
        if key_hash is None:
            self._cache.clear()
        else:
            self._cache.pop(key_hash, None)
        if self._secured is not None and not self._secured[0]:
            self._secured = None

    def forget_all(self, _payload: str = "") -> None:
        """Drop every cached answer: the handler of `keys.created` (a replica's negative
        answers and "never secured" must not outlive a new key) and of `cache.reset` (after
        Redis was away, its messages may have been missed)."""
        self.forget()

    def forget_key_id(self, key_id: str) -> None:
        """Drop the cached answer for one key by its id: the handler of the bus's
        `keys.revoked` message, so a key revoked on any replica stops working here at once."""
        for digest, (holder, _until) in list(self._cache.items()):
            if holder is not None and holder.principal.key_id == key_id:
                self._cache.pop(digest, None)

    async def secured(self) -> bool:
        """Whether an admin key has ever existed; once true it stays true."""
        now = time.monotonic()
        if self._secured is None or not (self._secured[0] or self._secured[1] >= now):
            async with self.db.read() as conn:
                self._secured = (await repository.is_secured(conn), now + CACHE_SECONDS)
        return self._secured[0]

    async def open_access(self, peer: str | None) -> bool:
        """Protected mode: a loopback caller of a loopback-only server that has never had an
        admin key acts as the local admin. The peer is the TCP peer (the server does not read
        X-Forwarded-For), so a same-host reverse proxy makes every caller loopback: protected
        mode is for the first run only."""
        return (
            self.settings.listens_on_loopback_only
            and is_loopback_peer(peer)
            and not await self.secured()
        )

    async def principal(self, authorization: str | None, peer: str | None = None) -> Principal:
        try:
            return await self._resolve(authorization, peer)
        except Unauthorized:
            address = failure_bucket(peer)
            now = time.monotonic()
            self.failures.add(address, now)
            wait = self.failures.retry_after(address, now)
            if wait is not None:
                raise TooManyFailures(
                    "too many failed authentications from this address; retry later",
                    headers={"Retry-After": str(wait)},
                ) from None
            raise

    async def _resolve(self, authorization: str | None, peer: str | None) -> Principal:
        if not authorization:
            if await self.open_access(peer):
                return LOCAL_ADMIN
            raise Unauthorized("credentials required: send Authorization: Bearer <api key>")
        scheme, _, token = authorization.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise Unauthorized("Authorization must be 'Bearer <api key or JWT>'")
        if token.count(".") == 2 and jwt_enabled(self.settings):
            return await self._from_jwt(token)
        return await self._from_key(token)

    async def _from_key(self, token: str) -> Principal:
        digest = keys.hash_key(token)
        now = time.monotonic()
        cached = self._cache.get(digest)
        if cached is None or cached[1] < now:
            record_cache(KEY_CACHE, hit=False)
            async with self.db.read() as conn:
                found = await keys.find_holder(conn, token)
            cached = (found, now + self.key_ttl)
            if self.key_ttl > 0:
                if len(self._cache) > 10_000:
                    self._cache.clear()
                self._cache[digest] = cached
        else:
            record_cache(KEY_CACHE, hit=True)
        holder = cached[0]
        if holder is None:
            raise Unauthorized("unknown or revoked API key")
        if holder.expired(self.clock()):
            raise Unauthorized("API key expired")
        return holder.principal

    async def _signing_key(self, token: str) -> Any:
        """The key to verify ``token`` with; its header must name the pinned algorithm."""
        algorithm = self.settings.jwt_algorithm
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise Unauthorized(f"invalid token: {exc}") from exc
        if header.get("alg") != algorithm:
            raise Unauthorized(
                f"invalid token: signed with {header.get('alg')!r}, only {algorithm} is accepted"
            )
        if self.jwks is None:
            symmetric = algorithm.startswith("HS")
            return self.settings.jwt_secret if symmetric else self.settings.jwt_public_key
        kid = header.get("kid")
        key = await self.jwks.key_for(None if kid is None else str(kid))
        if key is None:
            raise Unauthorized(f"invalid token: no {algorithm} signing key {kid!r} in the JWKS")
        return key

    async def _from_jwt(self, token: str) -> Principal:
        key = await self._signing_key(token)
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[self.settings.jwt_algorithm],
                audience=self.settings.jwt_audience,
                issuer=self.settings.jwt_issuer,
                options={"require": self._required_claims(), "verify_nbf": True},
            )
        except jwt.PyJWTError as exc:
            raise Unauthorized(f"invalid token: {exc}") from exc
        role = claims.get("role", "client")
        if role not in ROLES:
            raise Unauthorized(f"invalid token: unknown role {role!r}")
        return Principal(role=role, principal_id=str(claims["sub"]), team=claims.get("team"))

    def _required_claims(self) -> list[str]:
        required = ["sub", "exp"]
        if self.settings.jwt_audience:
            required.append("aud")
        if self.settings.jwt_issuer:
            required.append("iss")
        return required
