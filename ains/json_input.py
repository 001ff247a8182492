"""Request JSON decoding: the one place where hostile bodies are refused, before anything is
stored or shares a transaction with another client's rows.

orjson decodes the common body and already refuses lone surrogates, NaN/Infinity literals and
numbers that overflow a double; one pass over the decoded value then refuses what both databases
reject (NUL characters, which PostgreSQL text and JSONB cannot hold) and nesting too deep to
serialise again. Only a body orjson refuses is decoded a second time, by the standard library,
to name the field at fault.
"""

from __future__ import annotations

import json
import math
from typing import Any

import orjson

from ains.exceptions import Unprocessable


def decode(body: bytes, max_depth: int) -> Any:
    """The decoded body; `Unprocessable` naming the field path and the reason otherwise."""
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        _explain(body, max_depth, exc)
    problem = _check(value, max_depth)
    if problem is not None:
        raise _refusal(*problem)
    return value


def _check(value: Any, max_depth: int) -> tuple[str, str] | None:
    """(field path, reason) of the first value orjson let through that storage would refuse."""
    stack: list[tuple[Any, str, int]] = [(value, "", 0)]
    while stack:
        item, path, depth = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return path, "must not contain NUL (\\u0000) characters"
        elif isinstance(item, dict):
            if depth >= max_depth:
                return path, f"nested deeper than {max_depth} levels (AINS_MAX_JSON_DEPTH)"
            for key, child in item.items():
                if "\x00" in key:
                    return path, "keys must not contain NUL (\\u0000) characters"
                stack.append((child, f"{path}.{key}" if path else key, depth + 1))
        elif isinstance(item, list):
            if depth >= max_depth:
                return path, f"nested deeper than {max_depth} levels (AINS_MAX_JSON_DEPTH)"
            stack.extend((child, f"{path}[{i}]", depth + 1) for i, child in enumerate(item))
    return None


def _explain(body: bytes, max_depth: int, orjson_error: orjson.JSONDecodeError) -> None:
    """Raise why orjson refused `body`, naming the field when the standard library (laxer:
    surrogates, NaN, 1e999) can still read it."""
    try:
        value = json.loads(body)
    except RecursionError:
        raise _refusal("", f"nested deeper than {max_depth} levels (AINS_MAX_JSON_DEPTH)") from None
    except (ValueError, UnicodeDecodeError):
        raise _refusal("", f"request body is not valid JSON ({orjson_error})") from None
    problem = _check_lax(value, max_depth)
    if problem is None:
        problem = ("", f"request body is not valid JSON ({orjson_error})")
    raise _refusal(*problem)


def _check_lax(value: Any, max_depth: int) -> tuple[str, str] | None:
    """`_check` plus what only the standard library lets through: lone surrogates and
    non-finite numbers."""
    stack: list[tuple[Any, str]] = [(value, "")]
    while stack:
        item, path = stack.pop()
        if isinstance(item, str) and _has_surrogate(item):
            return path, "contains a lone surrogate (\\ud800-\\udfff), which is not valid Unicode"
        if isinstance(item, float) and not math.isfinite(item):
            return (
                path,
                "must be a finite number (NaN, Infinity and overflowing numbers are not)",
            )
        if isinstance(item, dict):
            for key, child in item.items():
                if _has_surrogate(key):
                    return path, "keys must not contain lone surrogates"
                stack.append((child, f"{path}.{key}" if path else key))
        elif isinstance(item, list):
            stack.extend((child, f"{path}[{i}]") for i, child in enumerate(item))
    return _check(value, max_depth)


def _has_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _refusal(path: str, reason: str) -> Unprocessable:
    return Unprocessable.field(path or "body", reason)
