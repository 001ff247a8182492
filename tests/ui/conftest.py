from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.server import running_server
from tests.ui.world import ConsoleWorld


@pytest.fixture(scope="module")
def console(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConsoleWorld]:
    """A server of its own: the console's tests make admin keys, which end protected mode."""
    with running_server(backend, tmp_path_factory.mktemp("console")) as server:
        yield ConsoleWorld(server).setup()
