"""Protected mode looks at the caller's address, not only the listen address. A loopback-only
server cannot be reached from another address over real TCP, so the app itself is driven here
through an ASGI transport that sets the peer (the real-process flow is in
tests/security/test_auth_hardening.py)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from ains.app import create_app
from ains.config import Settings
from ains.db.migrate import upgrade


async def _status_from(app: object, peer: str) -> int:
    transport = httpx.ASGITransport(app=app, client=(peer, 40000))  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        return (await client.get("/ains/keys")).status_code


def test_a_non_loopback_peer_is_not_the_local_admin(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'peer.db'}"
    upgrade(url)
    app = create_app(Settings(database_url=url, host="127.0.0.1", migrate_on_start=False))

    async def run() -> tuple[int, int, int]:
        try:
            return (
                await _status_from(app, "127.0.0.1"),
                await _status_from(app, "203.0.113.9"),
                await _status_from(app, "10.0.0.7"),
            )
        finally:
            await app.state.services.db.dispose()

    local, remote, lan = asyncio.run(run())
    assert local == 200
    assert remote == 401
    assert lan == 401
