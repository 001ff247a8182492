"""The MCP resources: the queue's status (GET /aitp/queue/stats) and a task's result
(GET /aitp/tasks/{id}/result, as a resource template), read as the caller's principal."""

from __future__ import annotations

import re
from typing import Any

import mcp.types as types

from ains.exceptions import NotFound
from ains.security.principals import Principal
from ains.services import Services

QUEUE_STATUS = "ains://queue/status"
TASK_RESULT = "ains://tasks/{task_id}/result"
_TASK_RESULT = re.compile(r"^ains://tasks/(?P<task_id>[^/]{1,64})/result$")
JSON = "application/json"

RESOURCES = [
    types.Resource(
        name="queue-status",
        title="Queue status",
        uri=QUEUE_STATUS,
        description="Tasks waiting, by priority, capability and client; in flight; dead-lettered "
        "(of the tasks the caller may see), as GET /aitp/queue/stats answers.",
        mime_type=JSON,
    )
]
TEMPLATES = [
    types.ResourceTemplate(
        name="task-result",
        title="A task's result",
        uri_template=TASK_RESULT,
        description="The task's status, result_data, cost, quality_score and last error, as "
        "GET /aitp/tasks/{task_id}/result answers.",
        mime_type=JSON,
    )
]


async def read(services: Services, principal: Principal, uri: str) -> dict[str, Any]:
    """The resource at `uri`; `NotFound` for a URI that names none (or a task not visible)."""
    if uri == QUEUE_STATUS:
        async with services.db.read() as conn:
            return await services.queue.stats(conn, principal)
    found = _TASK_RESULT.match(uri)
    if found is None:
        raise NotFound(f"no resource {uri}: the resources are {QUEUE_STATUS} and {TASK_RESULT}")
    async with services.db.read() as conn:
        return await services.tasks.result(conn, principal, found["task_id"])
