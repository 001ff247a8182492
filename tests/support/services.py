"""What a test does when a service or tool it needs is missing: skip with the reason locally,
fail under AINS_TEST_REQUIRE_SERVICES=1 (CI), where nothing may be skipped for want of it."""

from __future__ import annotations

import shutil
from typing import NoReturn

import pytest

from tests.support.server import REQUIRE_SERVICES

# Debian installs prometheus and promtool in /usr/bin; sbin is searched too for minimal PATHs.
EXTRA_BIN_DIRS = ("/usr/bin", "/usr/local/bin", "/usr/sbin", "/usr/local/sbin")


def unavailable(reason: str) -> NoReturn:
    if REQUIRE_SERVICES:
        pytest.fail(f"{reason} (AINS_TEST_REQUIRE_SERVICES is set)")
    pytest.skip(reason)


def find_executable(name: str) -> str | None:
    found = shutil.which(name)
    if found is None:
        found = shutil.which(name, path=":".join(EXTRA_BIN_DIRS))
    return found


def require_executable(name: str, install: str) -> str:
    """The path of `name`, or skip/fail saying how to install it."""
    found = find_executable(name)
    if found is None:
        unavailable(f"{name} is not installed ({install})")
    return found
