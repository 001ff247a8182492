from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.support.server import ServerProcess, running_server

LOOPBACK_ALLOWED = '["127.0.0.1"]'


@pytest.fixture(scope="module")
def hook_server(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A server that may call receivers on 127.0.0.1 (AINS_WEBHOOK_ALLOWED_HOSTS)."""
    with running_server(
        backend, tmp_path_factory.mktemp("hooks"), AINS_WEBHOOK_ALLOWED_HOSTS=LOOPBACK_ALLOWED
    ) as server:
        yield server


@pytest.fixture
def hapi(hook_server: ServerProcess) -> Iterator[httpx.Client]:
    with hook_server.client() as client:
        yield client
