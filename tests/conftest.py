"""Fixtures: every end-to-end test runs against a real server process on SQLite and on
PostgreSQL. Without PostgreSQL the PostgreSQL half skips with the reason — unless
AINS_TEST_REQUIRE_SERVICES=1 (CI), where it fails.

Under AINS_TEST_REQUIRE_SERVICES=1 no test may skip at all, whatever the reason, except the other
backend's variant of a `pg_only`/`sqlite_only` test: any other skip is turned into a failure in the
test's own report, so it holds under xdist too (each worker builds its reports with this file)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from _pytest.reports import CollectReport, TestReport

from tests.support.server import (
    REQUIRE_SERVICES,
    ServerProcess,
    drop_pg_database,
    migrated_database_url,
    postgres_available,
)
from tests.support.services import unavailable

BACKENDS = ["sqlite", "postgresql"]
BACKEND_ONLY = {"pg_only": "postgresql", "sqlite_only": "sqlite"}


def require_postgres() -> None:
    reason = postgres_available()
    if reason is not None:
        unavailable(reason)


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    if request.param == "postgresql":
        require_postgres()
    return str(request.param)


@pytest.fixture(scope="session")
def server(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One shared server per backend; tests isolate themselves with unique ids."""
    url = migrated_database_url(backend, tmp_path_factory.mktemp("db"))
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


def _backend_of(item: pytest.Item) -> str | None:
    callspec = getattr(item, "callspec", None)
    return None if callspec is None else callspec.params.get("backend")


def _other_backend_variant(item: pytest.Item) -> str | None:
    """The marker whose backend this item is not on (`pg_only` on SQLite…), else None."""
    backend = _backend_of(item)
    for marker, wanted in BACKEND_ONLY.items():
        if item.get_closest_marker(marker) is not None and backend not in (None, wanted):
            return marker
    return None


def pytest_runtest_setup(item: pytest.Item) -> None:
    marker = _other_backend_variant(item)
    if marker is not None:
        pytest.skip(f"{marker}: runs only on {BACKEND_ONLY[marker]}")


def _forbidden_skip(report: TestReport | CollectReport, what: str) -> None:
    reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
    report.outcome = "failed"
    report.longrepr = (
        f"{what} was skipped ({reason}), but AINS_TEST_REQUIRE_SERVICES is set: nothing may be "
        "skipped except the other backend's variant of a pg_only/sqlite_only test"
    )


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report: TestReport = outcome.get_result()
    if (
        REQUIRE_SERVICES
        and report.skipped
        and not hasattr(report, "wasxfail")
        and _other_backend_variant(item) is None
    ):
        _forbidden_skip(report, item.nodeid)


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Iterator[None]:
    outcome = yield
    report: CollectReport = outcome.get_result()
    if REQUIRE_SERVICES and report.skipped:
        _forbidden_skip(report, collector.nodeid)
