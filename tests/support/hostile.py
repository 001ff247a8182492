"""Hostile request bodies shared by the input-validation tests."""

from __future__ import annotations


def task_body(uid: str, **fields: str) -> str:
    """A submission as raw JSON text, so that hostile literals reach the server verbatim."""
    parts = {
        "client_id": f'"c-{uid}"',
        "task_type": '"t"',
        "capability_required": f'"cap-{uid}"',
        "input_data": "{}",
        **fields,
    }
    return "{" + ",".join(f'"{k}":{v}' for k, v in parts.items()) + "}"


DEEP = "[" * 300 + "]" * 300
SUBMISSIONS = {
    "lone surrogate": ({"input_data": '{"text":"\\ud800"}'}, "input_data.text"),
    "lone surrogate in a key": ({"metadata": '{"\\udc00":1}'}, "metadata"),
    "300-deep JSON": ({"input_data": DEEP}, "input_data" + "[0]" * 63),
    "NUL in a value": ({"input_data": '{"a":["x\\u0000y"]}'}, "input_data.a[0]"),
    "NUL in a key": ({"input_data": '{"a\\u0000":1}'}, "input_data"),
    "NUL in task_type": ({"task_type": '"t\\u0000"'}, "task_type"),
    "deadline past year 9999 in UTC": ({"deadline": '"9999-12-31T23:59:59-14:00"'}, "deadline"),
    "deadline before year 1 in UTC": ({"deadline": '"0001-01-01T00:00:00+14:00"'}, "deadline"),
    "NaN": ({"metadata": '{"score":NaN}'}, "metadata.score"),
    "Infinity": ({"input_data": '{"x":-Infinity}'}, "input_data.x"),
    "1e999": ({"input_data": '{"x":1e999}'}, "input_data.x"),
}
