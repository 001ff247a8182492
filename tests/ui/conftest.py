from __future__ import annotations

from collections.abc import Iterator

import pytest

from ains.security.crypto import generate_key
from tests.support.server import running_server
from tests.ui.world import ConsoleWorld


@pytest.fixture(scope="module")
def console(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConsoleWorld]:
    """A server of its own: the console's tests make admin keys, which end protected mode."""
    # with a key ring, so that the pages show a sealed task
    env = {
        "AINS_ENCRYPTION_KEYS": f"k1:{generate_key()}",
        "AINS_WEBHOOK_ALLOWED_HOSTS": '["127.0.0.1"]',
    }
    with running_server(backend, tmp_path_factory.mktemp("console"), **env) as server:
        yield ConsoleWorld(server).setup()
