"""The request body decoder: its byte-scan shortcut never lets through what the full check
refuses, and what it refuses names the field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi.routing import APIRoute

from ains.app import create_app
from ains.config import Settings
from ains.exceptions import Unprocessable
from ains.http import ValidatedRoute
from ains.json_input import decode


def _refusal(body: bytes, max_depth: int = 64) -> tuple[str, str]:
    with pytest.raises(Unprocessable) as caught:
        decode(body, max_depth)
    (error,) = caught.value.errors
    return error.field, error.reason


@pytest.mark.parametrize(
    "value",
    [
        {"text": "a literal backslash-u0000 is not a NUL: \\u0000"},
        {"brackets": "[" * 100 + "{" * 100},
        {"a": [[[[[["deep but within the limit"]]]]]]},
        {"unicode": "\u00e9\u4e2d\U0001f600", "n": 18446744073709551615, "f": 1e308},
    ],
)
def test_clean_bodies_decode_unchanged(value: Any) -> None:
    assert decode(orjson.dumps(value), 8) == value


@pytest.mark.parametrize(
    ("body", "field", "reason"),
    [
        (b'{"a":{"b":[1,"x\\u0000"]}}', "a.b[1]", "NUL"),
        (b'{"a":{"k\\u0000":1}}', "a", "NUL"),
        (b'{".a":{"b":"\\u0000"}}', ".a.b", "NUL"),
        (b'{"a":"\\ud800"}', "a", "surrogate"),
        (b'{"a":[1,{"b":NaN}]}', "a[1].b", "finite"),
        (b'{"a":-1e999}', "a", "finite"),
        (b'{"a":[[[[]]]]}', "a[0][0]", "deeper than 3"),
        (b"[" * 3000 + b"]" * 3000, "body", "deeper than 3"),
        (b'{"a":', "body", "not valid JSON"),
        (b'\xff{"a":1}', "body", "not valid JSON"),
    ],
)
def test_refusals_name_the_field_and_the_reason(body: bytes, field: str, reason: str) -> None:
    got_field, got_reason = _refusal(body, max_depth=3)
    assert got_field == field
    assert reason in got_reason


def test_every_route_that_takes_a_body_decodes_it_through_the_checks(tmp_path: Path) -> None:
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'routes.db'}"))
    with_body = [r for r in app.routes if isinstance(r, APIRoute) and r.body_field is not None]
    assert with_body  # the guard guards something
    assert [r.path for r in with_body if not isinstance(r, ValidatedRoute)] == []
