"""Tasks: submit, get, list, result, cancel and wait (`/aitp/tasks`)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from datetime import datetime
from typing import Any

from ains_client._base import AsyncRequester, Call, Requester, drop_none
from ains_client._exceptions import WaitTimeout
from ains_client._types import TERMINAL_STATUSES, JSONObject, Page

__all__ = ["AsyncTasks", "Tasks"]


def _iso(value: datetime | str | None) -> str | None:
    return value.isoformat() if isinstance(value, datetime) else value


def _submit_call(
    client_id: str,
    task_type: str,
    capability_required: str,
    input_data: Any,
    idempotency_key: str | None,
    **optional: Any,
) -> Call:
    body: dict[str, Any] = {
        "client_id": client_id,
        "task_type": task_type,
        "capability_required": capability_required,
        "input_data": {} if input_data is None else input_data,
    }
    optional["deadline"] = _iso(optional.get("deadline"))
    if optional.get("depends_on") is not None:
        optional["depends_on"] = list(optional["depends_on"])
    if optional.get("allowed_viewers") is not None:
        optional["allowed_viewers"] = list(optional["allowed_viewers"])
    body.update(drop_none(**optional))
    headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
    return Call("POST", "/aitp/tasks", json=body, headers=headers)


def _list_call(
    status: str | Sequence[str] | None,
    created_after: datetime | str | None,
    created_before: datetime | str | None,
    **filters: Any,
) -> Call:
    if status is not None and not isinstance(status, str):
        status = ",".join(status)
    params = drop_none(
        status=status,
        created_after=_iso(created_after),
        created_before=_iso(created_before),
        **filters,
    )
    return Call("GET", "/aitp/tasks", params=params)


def _cancel_call(task_id: str, reason: str | None) -> Call:
    return Call("DELETE", f"/aitp/tasks/{task_id}", json={"reason": reason} if reason else None)


def _priority_call(task_id: str, priority: int) -> Call:
    return Call("PUT", f"/aitp/tasks/{task_id}/priority", json={"priority": priority})


def _timeout_call(task_id: str, timeout_seconds: float) -> Call:
    return Call("PUT", f"/aitp/tasks/{task_id}/timeout", json={"timeout_seconds": timeout_seconds})


class Tasks:
    """Task calls of the synchronous `Client` (`client.tasks`)."""

    def __init__(self, client: Requester) -> None:
        self._client = client

    def submit(
        self,
        client_id: str,
        task_type: str,
        capability_required: str,
        input_data: Any = None,
        *,
        priority: int | None = None,
        depends_on: Sequence[str] | None = None,
        retry_policy: JSONObject | None = None,
        timeout_seconds: float | None = None,
        deadline: datetime | str | None = None,
        visibility: str | None = None,
        allowed_viewers: Sequence[str] | None = None,
        encrypt: bool | None = None,
        metadata: JSONObject | None = None,
        idempotency_key: str | None = None,
    ) -> JSONObject:
        """Submit a task (`POST /aitp/tasks`); a repeated `idempotency_key` returns the original."""
        call = _submit_call(
            client_id, task_type, capability_required, input_data, idempotency_key,
            priority=priority, depends_on=depends_on, retry_policy=retry_policy,
            timeout_seconds=timeout_seconds, deadline=deadline, visibility=visibility,
            allowed_viewers=allowed_viewers, encrypt=encrypt, metadata=metadata,
        )  # fmt: skip
        result: JSONObject = self._client.send_call(call)
        return result

    def get(self, task_id: str) -> JSONObject:
        """Fetch one task with its history and attempts."""
        result: JSONObject = self._client.send_call(Call("GET", f"/aitp/tasks/{task_id}"))
        return result

    def result(self, task_id: str) -> JSONObject:
        """Fetch `{task_id, status, result_data, completed_at}`."""
        result: JSONObject = self._client.send_call(Call("GET", f"/aitp/tasks/{task_id}/result"))
        return result

    def list(
        self,
        *,
        status: str | Sequence[str] | None = None,
        client_id: str | None = None,
        agent_id: str | None = None,
        task_type: str | None = None,
        capability: str | None = None,
        created_after: datetime | str | None = None,
        created_before: datetime | str | None = None,
        cursor: str | None = None,
        limit: int | None = None,
    ) -> Page:
        """One page of tasks matching the filters (several statuses are sent comma-separated)."""
        call = _list_call(
            status, created_after, created_before, client_id=client_id, agent_id=agent_id,
            task_type=task_type, capability=capability, cursor=cursor, limit=limit,
        )  # fmt: skip
        return Page.from_json(self._client.send_call(call))

    def iter_tasks(self, **filters: Any) -> Iterator[JSONObject]:
        """Every task matching the filters of `list()`, following `next_cursor` page by page."""
        cursor: str | None = filters.pop("cursor", None)
        while True:
            page = self.list(cursor=cursor, **filters)
            yield from page.items
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    def cancel(self, task_id: str, reason: str | None = None) -> JSONObject:
        """Cancel a non-terminal task (`DELETE /aitp/tasks/{id}`), recording `reason`."""
        result: JSONObject = self._client.send_call(_cancel_call(task_id, reason))
        return result

    def retry(self, task_id: str) -> JSONObject:
        """Put a FAILED, TIMED_OUT or CANCELLED task back to PENDING (`POST …/retry`)."""
        result: JSONObject = self._client.send_call(Call("POST", f"/aitp/tasks/{task_id}/retry"))
        return result

    def set_priority(self, task_id: str, priority: int) -> JSONObject:
        """Change the priority (1-10) of a task still waiting."""
        result: JSONObject = self._client.send_call(_priority_call(task_id, priority))
        return result

    def set_timeout(self, task_id: str, timeout_seconds: float) -> JSONObject:
        """Change the per-attempt timeout of a task not yet terminal."""
        result: JSONObject = self._client.send_call(_timeout_call(task_id, timeout_seconds))
        return result

    def wait(
        self, task_id: str, timeout: float | None = None, poll_interval: float = 0.5
    ) -> JSONObject:
        """Poll the task until it is terminal and return it; raise `WaitTimeout` after `timeout`."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            task = self.get(task_id)
            if task.get("status") in TERMINAL_STATUSES:
                return task
            if deadline is not None and time.monotonic() >= deadline:
                raise WaitTimeout(f"task {task_id} still {task.get('status')}", last=task)
            pause = poll_interval
            if deadline is not None:
                pause = max(0.0, min(pause, deadline - time.monotonic()))
            time.sleep(pause)


class AsyncTasks:
    """Task calls of the `AsyncClient` (`client.tasks`); see `Tasks` for each call."""

    def __init__(self, client: AsyncRequester) -> None:
        self._client = client

    async def submit(
        self,
        client_id: str,
        task_type: str,
        capability_required: str,
        input_data: Any = None,
        *,
        priority: int | None = None,
        depends_on: Sequence[str] | None = None,
        retry_policy: JSONObject | None = None,
        timeout_seconds: float | None = None,
        deadline: datetime | str | None = None,
        visibility: str | None = None,
        allowed_viewers: Sequence[str] | None = None,
        encrypt: bool | None = None,
        metadata: JSONObject | None = None,
        idempotency_key: str | None = None,
    ) -> JSONObject:
        """Submit a task (`POST /aitp/tasks`); a repeated `idempotency_key` returns the original."""
        call = _submit_call(
            client_id, task_type, capability_required, input_data, idempotency_key,
            priority=priority, depends_on=depends_on, retry_policy=retry_policy,
            timeout_seconds=timeout_seconds, deadline=deadline, visibility=visibility,
            allowed_viewers=allowed_viewers, encrypt=encrypt, metadata=metadata,
        )  # fmt: skip
        result: JSONObject = await self._client.send_call(call)
        return result

    async def get(self, task_id: str) -> JSONObject:
        """Fetch one task with its history and attempts."""
        result: JSONObject = await self._client.send_call(Call("GET", f"/aitp/tasks/{task_id}"))
        return result

    async def result(self, task_id: str) -> JSONObject:
        """Fetch `{task_id, status, result_data, completed_at}`."""
        call = Call("GET", f"/aitp/tasks/{task_id}/result")
        result: JSONObject = await self._client.send_call(call)
        return result

    async def list(
        self,
        *,
        status: str | Sequence[str] | None = None,
        client_id: str | None = None,
        agent_id: str | None = None,
        task_type: str | None = None,
        capability: str | None = None,
        created_after: datetime | str | None = None,
        created_before: datetime | str | None = None,
        cursor: str | None = None,
        limit: int | None = None,
    ) -> Page:
        """One page of tasks matching the filters (several statuses are sent comma-separated)."""
        call = _list_call(
            status, created_after, created_before, client_id=client_id, agent_id=agent_id,
            task_type=task_type, capability=capability, cursor=cursor, limit=limit,
        )  # fmt: skip
        return Page.from_json(await self._client.send_call(call))

    async def iter_tasks(self, **filters: Any) -> AsyncIterator[JSONObject]:
        """Every task matching the filters of `list()`, following `next_cursor` page by page."""
        cursor: str | None = filters.pop("cursor", None)
        while True:
            page = await self.list(cursor=cursor, **filters)
            for item in page.items:
                yield item
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    async def cancel(self, task_id: str, reason: str | None = None) -> JSONObject:
        """Cancel a non-terminal task (`DELETE /aitp/tasks/{id}`), recording `reason`."""
        result: JSONObject = await self._client.send_call(_cancel_call(task_id, reason))
        return result

    async def retry(self, task_id: str) -> JSONObject:
        """Put a FAILED, TIMED_OUT or CANCELLED task back to PENDING (`POST …/retry`)."""
        call = Call("POST", f"/aitp/tasks/{task_id}/retry")
        result: JSONObject = await self._client.send_call(call)
        return result

    async def set_priority(self, task_id: str, priority: int) -> JSONObject:
        """Change the priority (1-10) of a task still waiting."""
        result: JSONObject = await self._client.send_call(_priority_call(task_id, priority))
        return result

    async def set_timeout(self, task_id: str, timeout_seconds: float) -> JSONObject:
        """Change the per-attempt timeout of a task not yet terminal."""
        result: JSONObject = await self._client.send_call(_timeout_call(task_id, timeout_seconds))
        return result

    async def wait(
        self,
        task_id: str,
        timeout: float | None = None,
        poll_interval: float = 0.5,
    ) -> JSONObject:
        """Poll the task until it is terminal and return it; raise `WaitTimeout` after `timeout`."""
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while True:
            task = await self.get(task_id)
            if task.get("status") in TERMINAL_STATUSES:
                return task
            if deadline is not None and loop.time() >= deadline:
                raise WaitTimeout(f"task {task_id} still {task.get('status')}", last=task)
            pause = poll_interval
            if deadline is not None:
                pause = max(0.0, min(pause, deadline - loop.time()))
            await asyncio.sleep(pause)
