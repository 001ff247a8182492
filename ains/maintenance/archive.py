"""Archive before delete: JSON Lines under AINS_ARCHIVE_DIR, one file per kind per run, each
batch written and fsynced before the transaction deleting it commits."""

from __future__ import annotations

import asyncio
import os
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import orjson


def _default(value: Any) -> Any:
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    raise TypeError(f"cannot archive a {type(value).__name__}")


class Archive:
    """The files of one prune run (opened as their first rows arrive)."""

    def __init__(self, directory: str, started: datetime) -> None:
        self.directory = Path(directory)
        self.stamp = started.strftime("%Y%m%dT%H%M%S.%fZ")
        self._files: dict[str, IO[bytes]] = {}
        self._written: list[str] = []  # kinds with a file, in the order they were opened

    def path(self, kind: str) -> Path:
        return self.directory / f"{kind}-{self.stamp}.jsonl"

    async def write(self, kind: str, rows: list[dict[str, Any]]) -> None:
        if rows:
            await asyncio.to_thread(self._write, kind, rows)

    def _write(self, kind: str, rows: list[dict[str, Any]]) -> None:
        file = self._files.get(kind)
        if file is None:
            self.directory.mkdir(parents=True, exist_ok=True)
            file = self._files[kind] = self.path(kind).open("ab")
            self._written.append(kind)
        options = orjson.OPT_APPEND_NEWLINE | orjson.OPT_UTC_Z | orjson.OPT_NON_STR_KEYS
        file.write(b"".join(orjson.dumps(r, default=_default, option=options) for r in rows))
        file.flush()
        os.fsync(file.fileno())

    def files(self) -> dict[str, str]:
        return {kind: str(self.path(kind)) for kind in self._written}

    def close(self) -> None:
        for file in self._files.values():
            file.close()
        self._files.clear()
