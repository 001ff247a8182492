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

NUL = "must not contain NUL (\\u0000) characters"
TOO_DEEP = "nested too deep"


def decode(body: bytes, max_depth: int) -> Any:
    """The decoded body; `Unprocessable` naming the field path and the reason otherwise."""
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        _explain(body, max_depth, exc)
    # In JSON text a NUL can only be written as the escape \u0000 and each level of nesting
    # costs a bracket, so most bodies are cleared by two scans of their bytes.
    if b"\\u0000" in body or body.count(b"{") + body.count(b"[") > max_depth:
        problem = _check(value, max_depth)
        if problem is not None:
            raise _refusal(*problem)
    return value


def _check(value: Any, max_depth: int) -> tuple[str, str] | None:
    """(field path, reason) of the first value orjson let through that storage would refuse."""
    found = _walk(value, max_depth)
    if found is None:
        return None
    path, reason = found
    if reason == TOO_DEEP:
        reason = f"nested deeper than {max_depth} levels (AINS_MAX_JSON_DEPTH)"
    joined = "".join(reversed(path))
    return joined.removeprefix(".") if path and path[-1].startswith(".") else joined, reason


def _walk(value: Any, depth_left: int) -> tuple[list[str], str] | None:
    """Depth first; the path comes back innermost part first, built only on a refusal."""
    if isinstance(value, str):
        return ([], NUL) if "\x00" in value else None
    if isinstance(value, dict):
        if depth_left <= 0:
            return [], TOO_DEEP
        for key, child in value.items():
            if "\x00" in key:
                return [], "keys must not contain NUL (\\u0000) characters"
            found = _walk(child, depth_left - 1)
            if found is not None:
                found[0].append(f".{key}")
                return found
    elif isinstance(value, list):
        if depth_left <= 0:
            return [], TOO_DEEP
        for i, child in enumerate(value):
            found = _walk(child, depth_left - 1)
            if found is not None:
                found[0].append(f"[{i}]")
                return found
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
