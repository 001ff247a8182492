"""Shared by the seed 004 tests: the seed's text, a JWT made from AINS_JWT_SECRET, a server."""

from __future__ import annotations

import re
import time

import jwt

from tests.support.server import ROOT
from tests.support.services import unavailable

SEED = ROOT.parent / "shared" / "seeds" / "004_de8cacdd8de8d881.txt"
JWT_SECRET = "seed-004-jwt-secret-0123456789abcdef"
SERVER_ENV = {"AINS_JWT_SECRET": JWT_SECRET}


def token(sub: str = "seed004-user", role: str = "client") -> str:
    claims = {"sub": sub, "role": role, "exp": int(time.time()) + 3600}
    return jwt.encode(claims, JWT_SECRET, algorithm="HS256")


def seed_text() -> str:
    if not SEED.exists():
        unavailable(f"seed 004 not found at {SEED} (the seeds belong in ../shared/seeds)")
    return SEED.read_text()


def curl_examples(text: str) -> list[str]:
    """Every `curl …` command of the seed's fenced bash blocks, continuation lines joined as
    the shell would read them (the commands themselves are left as written)."""
    commands: list[str] = []
    for block in re.findall(r"```bash\n(.*?)```", text, flags=re.DOTALL):
        current: list[str] = []
        for line in block.splitlines():
            if not current and not line.startswith("curl "):
                continue
            current.append(line)
            if not line.endswith("\\"):
                commands.append("\n".join(current))
                current = []
    return commands


def example_path(command: str) -> str:
    found = re.search(r"http://localhost:4000(\S*)", command)
    assert found, command
    return found.group(1)
