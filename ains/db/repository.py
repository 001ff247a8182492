"""The statements run on a raw driver connection, outside SQLAlchemy: the bus's NOTIFY batch
(an asyncpg connection of its own, see ains/events/bus.py) and the start-up check that a SQLite
file can be written (a sqlite3 connection, see ains/preflight.py)."""

from __future__ import annotations

import sqlite3
from typing import Any


async def notify_many(conn: Any, channel: str, messages: list[str]) -> None:
    """NOTIFY ``channel`` once per message, in one round trip (``conn``: an asyncpg
    connection)."""
    await conn.execute("SELECT pg_notify($1, m) FROM unnest($2::text[]) AS m", channel, messages)


def probe_write_lock(conn: sqlite3.Connection) -> None:
    """Take SQLite's write lock and let it go at once: raises when the file cannot be
    written."""
    conn.execute("BEGIN IMMEDIATE")
    conn.rollback()
