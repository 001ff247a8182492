"""A statement that fails in the database never carries its parameters (task input, say) into
an error message or the server's log: the engines hide them. Both databases.

Since every request body is checked before it reaches a statement, no request can make an
INSERT fail any more; the failing statement is made directly on the server's own engine."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from ains.db.engine import create_engine
from tests.support.server import drop_pg_database, fresh_database_url


async def _fail_with(url: str, secret: str) -> str:
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(sa.text("CREATE TABLE hygiene (k INTEGER PRIMARY KEY, v TEXT)"))
            await conn.execute(sa.text("INSERT INTO hygiene VALUES (1, :v)"), {"v": secret})
            with pytest.raises(IntegrityError) as failed:
                await conn.execute(sa.text("INSERT INTO hygiene VALUES (1, :v)"), {"v": secret})
        return str(failed.value)
    finally:
        await engine.dispose()


def test_a_failed_statement_does_not_show_its_parameters(
    backend: str, tmp_path: Path, uid: str
) -> None:
    secret = f"zsecret{uid}"
    url = fresh_database_url(backend, tmp_path)
    try:
        message = asyncio.run(_fail_with(url, secret))
    finally:
        if backend == "postgresql":
            drop_pg_database(url)
    assert "INSERT INTO hygiene" in message  # the statement is named…
    assert secret not in message  # …its parameters are not
    assert "hidden" in message
