"""Reading the answers of the MCP tools."""

from __future__ import annotations

import json
from typing import Any

from mcp.types import CallToolResult

TOOLS = {"submit_task", "get_task", "wait_for_task", "cancel_task", "list_tasks", "submit_batch"}


def answer(result: CallToolResult) -> Any:
    assert not result.is_error, result.content
    assert result.structured_content is not None
    text = result.content[0].text  # type: ignore[union-attr]
    assert json.loads(text) == result.structured_content
    return result.structured_content


def refusal(result: CallToolResult) -> dict[str, Any]:
    assert result.is_error, result
    problem: dict[str, Any] = json.loads(result.content[0].text)  # type: ignore[union-attr]
    assert "Traceback" not in str(problem)
    return problem
