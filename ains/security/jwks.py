"""JWT signing keys from a JWKS URL (`AINS_JWT_JWKS_URL`): fetched on first use and cached for
`AINS_JWT_JWKS_CACHE_SECONDS`; a token naming a `kid` the cache does not hold refetches at once
(the identity provider rotated its keys), at most once per `MIN_REFRESH_SECONDS` so that tokens
with made-up key ids cannot turn the server into a JWKS flooder. Keys whose `alg` differs from
the pinned `AINS_JWT_ALGORITHM`, or that do not fit it, are ignored."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import httpx
import jwt

log = logging.getLogger(__name__)

MIN_REFRESH_SECONDS = 1.0
FETCH_TIMEOUT_SECONDS = 5.0


class JwksKeys:
    def __init__(
        self,
        url: str,
        algorithm: str,
        cache_seconds: float,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.url = url
        self.algorithm = algorithm
        self.cache_seconds = cache_seconds
        self._transport = transport
        self._keys: dict[str, Any] = {}
        self._fetched = float("-inf")
        self._lock = asyncio.Lock()

    async def key_for(self, kid: str | None) -> Any | None:
        """The verification key for ``kid`` (None when no fitting key is published)."""
        if time.monotonic() - self._fetched > self.cache_seconds:
            await self._refresh()
        key = self._find(kid)
        if key is None and time.monotonic() - self._fetched >= MIN_REFRESH_SECONDS:
            await self._refresh()
            key = self._find(kid)
        return key

    def _find(self, kid: str | None) -> Any | None:
        if kid is None:  # a token without a kid is verifiable only against a one-key set
            return next(iter(self._keys.values())) if len(self._keys) == 1 else None
        return self._keys.get(kid)

    async def _refresh(self) -> None:
        started = time.monotonic()
        async with self._lock:
            if self._fetched >= started:  # another request refreshed while this one waited
                return
            try:
                document = await self._fetch()
            except (httpx.HTTPError, ValueError) as exc:
                log.warning("could not fetch the JWKS at %s: %s", self.url, exc)
                self._fetched = time.monotonic()  # keep the old keys; retry after the pause
                return
            self._keys = self._parse(document)
            self._fetched = time.monotonic()

    async def _fetch(self) -> Any:
        async with httpx.AsyncClient(
            transport=self._transport, timeout=FETCH_TIMEOUT_SECONDS
        ) as client:
            response = await client.get(self.url)
            response.raise_for_status()
            return response.json()

    def _parse(self, document: Any) -> dict[str, Any]:
        entries = document.get("keys", []) if isinstance(document, dict) else []
        keys: dict[str, Any] = {}
        for entry in entries:
            if not isinstance(entry, dict) or entry.get("use", "sig") != "sig":
                continue
            if entry.get("alg", self.algorithm) != self.algorithm:
                continue
            try:
                keys[str(entry.get("kid", ""))] = jwt.PyJWK(entry, algorithm=self.algorithm).key
            except (jwt.PyJWTError, ValueError, TypeError, KeyError):
                log.warning("JWKS key %r does not fit %s", entry.get("kid"), self.algorithm)
        return keys
