"""A refusal as an MCP client reads it: the problem+json fields REST would answer, as text."""

from __future__ import annotations

from typing import Any

from ains import json_output
from ains.exceptions import AinsError


def problem_text(exc: AinsError) -> str:
    body: dict[str, Any] = {"status": exc.status_code, "title": exc.title, "detail": exc.detail}
    if exc.errors:
        body["errors"] = [{"field": e.field, "reason": e.reason} for e in exc.errors]
    body.update(exc.extra)
    return json_output.dumps(body, str).decode()
