"""Fixtures: every end-to-end test runs against a real server process on SQLite and on
PostgreSQL. Without PostgreSQL the PostgreSQL half skips with the reason — unless
AINS_TEST_REQUIRE_SERVICES=1 (CI), where it fails."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.server import (
    REQUIRE_SERVICES,
    ServerProcess,
    drop_pg_database,
    fresh_database_url,
    postgres_available,
)

BACKENDS = ["sqlite", "postgresql"]


def require_postgres() -> None:
    reason = postgres_available()
    if reason is None:
        return
    if REQUIRE_SERVICES:
        pytest.fail(f"{reason} (AINS_TEST_REQUIRE_SERVICES is set)")
    pytest.skip(reason)


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    if request.param == "postgresql":
        require_postgres()
    return str(request.param)


@pytest.fixture(scope="session")
def server(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One shared server per backend; tests isolate themselves with unique ids."""
    url = fresh_database_url(backend, tmp_path_factory.mktemp("db"))
    proc = ServerProcess(url).start()
    yield proc
    proc.stop()
    if backend == "postgresql":
        drop_pg_database(url)


@pytest.fixture
def api(server: ServerProcess) -> Iterator[httpx.Client]:
    with server.client() as client:
        yield client


@pytest.fixture
def uid() -> str:
    """A unique suffix for capabilities and client ids, so tests sharing a server never meet."""
    return uuid.uuid4().hex[:8]


@pytest.fixture
def tmp_dir(tmp_path: Path) -> Path:
    return tmp_path
