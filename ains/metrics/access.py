"""Who may scrape `/metrics`: a caller with the configured token (AINS_METRICS_TOKEN), or one
connecting from a configured network (AINS_METRICS_ALLOW, loopback by default)."""

from __future__ import annotations

import hmac

from ains.config import Settings
from ains.security.auth import peer_address


def scrape_refusal(
    settings: Settings, authorization: str | None, peer: str | None
) -> tuple[int, str] | None:
    """None when the scrape is allowed, else (status, reason): 401 for a missing or wrong
    token where a token would do, 403 for a caller outside the allowed networks."""
    token = settings.metrics_token
    if authorization and token:
        scheme, _, given = authorization.partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(given.strip(), token):
            return None
        return 401, "wrong metrics token: send Authorization: Bearer <AINS_METRICS_TOKEN>"
    if _in_networks(settings, peer):
        return None
    if token:
        return 401, "metrics need Authorization: Bearer <AINS_METRICS_TOKEN>"
    return 403, "metrics may be scraped only from AINS_METRICS_ALLOW networks"


def _in_networks(settings: Settings, peer: str | None) -> bool:
    address = peer_address(peer)
    return address is not None and any(address in network for network in settings.metrics_networks)
