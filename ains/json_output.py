"""How the API writes JSON: every time in UTC with a `Z` suffix, whichever database read it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import orjson

OPTIONS = orjson.OPT_UTC_Z | orjson.OPT_NAIVE_UTC | orjson.OPT_NON_STR_KEYS


def dumps(value: Any, default: Callable[[Any], Any] | None = None) -> bytes:
    return orjson.dumps(value, default=default, option=OPTIONS)


def utc_text(moment: datetime) -> str:
    """`moment` as ISO 8601 in UTC with `Z` (a naive time is taken to be UTC already)."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.replace(tzinfo=None).isoformat() + "Z"
