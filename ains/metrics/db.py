"""Database statement timing through SQLAlchemy cursor events."""

from __future__ import annotations

import re
import time
from functools import lru_cache
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

from ains.metrics.registry import DB_OPERATIONS, db_query_duration_seconds

_START_KEY = "ains_query_started"
_COMMENTS = re.compile(r"\s+|--[^\n]*\n?|/\*.*?\*/", re.DOTALL)
_FIRST_WORD = re.compile(r"[(\s]*([A-Za-z]+)")
_WRITE_WORD = re.compile(r"\b(INSERT|UPDATE|DELETE)\b", re.IGNORECASE)
_DIRECT = {"select": "select", "insert": "insert", "update": "update", "delete": "delete"}
# Resolved once: `labels()` takes a lock and this runs on every statement.
_HISTOGRAMS = {op: db_query_duration_seconds.labels(operation=op) for op in DB_OPERATIONS}


@lru_cache(maxsize=2048)
def classify(statement: str) -> str:
    """Map SQL to select|insert|update|delete|other by its first keyword.

    A ``WITH`` statement counts as the first write it contains (``WITH claimed AS (UPDATE …)
    SELECT …`` is an update), else as a select.
    """
    text = _COMMENTS.sub(" ", statement)
    match = _FIRST_WORD.match(text)
    if match is None:
        return "other"
    word = match.group(1).lower()
    if word == "with":
        write = _WRITE_WORD.search(text)
        return write.group(1).lower() if write else "select"
    return _DIRECT.get(word, "other")


def _before(
    conn: Connection, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool
) -> None:
    # Statements on one connection never overlap, so one slot is enough; a statement that fails
    # leaves its start behind, to be overwritten by the next one.
    conn.info[_START_KEY] = time.perf_counter()


def _after(
    conn: Connection, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool
) -> None:
    started: float | None = conn.info.pop(_START_KEY, None)
    if started is not None:
        elapsed = time.perf_counter() - started
        _HISTOGRAMS[classify(statement)].observe(elapsed)


def instrument_engine(sync_engine: Engine) -> None:
    """Time every statement run through `sync_engine` into ``ains_db_query_duration_seconds``.

    For an async engine pass ``async_engine.sync_engine``. Calling it twice on one engine is
    harmless.
    """
    if event.contains(sync_engine, "before_cursor_execute", _before):
        return
    event.listen(sync_engine, "before_cursor_execute", _before)
    event.listen(sync_engine, "after_cursor_execute", _after)
