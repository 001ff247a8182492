"""Resolving the caller from `Authorization: Bearer …` (API key or JWT), and protected mode."""

from __future__ import annotations

import time
from typing import Any

import jwt

from ains.config import Settings
from ains.db.engine import Database
from ains.exceptions import Unauthorized
from ains.security import keys
from ains.security.principals import LOCAL_ADMIN, ROLES, Principal

CACHE_SECONDS = 5.0


class Authenticator:
    def __init__(self, settings: Settings, db: Database) -> None:
        self.settings = settings
        self.db = db
        self._cache: dict[str, tuple[Principal | None, float]] = {}
        self._admin_exists: tuple[bool, float] | None = None

    def forget(self, key_hash: str | None = None) -> None:
        """Drop cached answers (after a key is created or revoked)."""
        if key_hash is None:
            self._cache.clear()
        else:
            self._cache.pop(key_hash, None)
        self._admin_exists = None

    async def admin_key_exists(self) -> bool:
        now = time.monotonic()
        if self._admin_exists is None or self._admin_exists[1] < now:
            async with self.db.read() as conn:
                exists = await keys.admin_key_exists(conn)
            self._admin_exists = (exists, now + CACHE_SECONDS)
        return self._admin_exists[0]

    async def open_access(self) -> bool:
        """Protected mode: loopback-only and no admin key yet → requests act as local admin."""
        return self.settings.listens_on_loopback_only and not await self.admin_key_exists()

    async def principal(self, authorization: str | None) -> Principal:
        if not authorization:
            if await self.open_access():
                return LOCAL_ADMIN
            raise Unauthorized("credentials required: send Authorization: Bearer <api key>")
        scheme, _, token = authorization.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise Unauthorized("Authorization must be 'Bearer <api key or JWT>'")
        if token.count(".") == 2 and (self.settings.jwt_secret or self.settings.jwt_public_key):
            return self._from_jwt(token)
        return await self._from_key(token)

    async def _from_key(self, token: str) -> Principal:
        digest = keys.hash_key(token)
        now = time.monotonic()
        cached = self._cache.get(digest)
        if cached is None or cached[1] < now:
            async with self.db.read() as conn:
                found = await keys.find_principal(conn, token)
            cached = (found, now + CACHE_SECONDS)
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[digest] = cached
        if cached[0] is None:
            raise Unauthorized("unknown or revoked API key")
        return cached[0]

    def _from_jwt(self, token: str) -> Principal:
        key: Any = self.settings.jwt_public_key or self.settings.jwt_secret
        try:
            claims = jwt.decode(
                token, key, algorithms=[self.settings.jwt_algorithm], options={"require": ["sub"]}
            )
        except jwt.PyJWTError as exc:
            raise Unauthorized(f"invalid token: {exc}") from exc
        role = claims.get("role", "client")
        if role not in ROLES:
            raise Unauthorized(f"invalid token: unknown role {role!r}")
        return Principal(role=role, principal_id=str(claims["sub"]), team=claims.get("team"))
