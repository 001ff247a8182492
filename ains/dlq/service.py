"""The dead-letter queue. A task is dead-lettered when it fails for good (retries exhausted or a
permanent error); it stays a FAILED or TIMED_OUT task with `dead_lettered` set. Requeueing is
the manual retry of `TaskControl.retry`; purging deletes the rows (their events are kept) and is
recorded in the audit log."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from ains.audit import trail
from ains.clock import Clock
from ains.db.engine import Tx
from ains.dlq import repository as repo
from ains.dlq.schemas import BulkRequeueIn, DlqFilters
from ains.exceptions import AinsError, Forbidden, NotFound, Unprocessable
from ains.security.principals import Principal
from ains.tasks.control import TaskControl
from ains.tasks.repository import get as get_task
from ains.tasks.repository import visible_to
from ains.tasks.service import TaskService

PURGE_BATCH = 1000
AUDITED_IDS = 100


class DlqService:
    def __init__(self, tasks: TaskService, control: TaskControl, clock: Clock) -> None:
        self.tasks = tasks
        self.control = control
        self.clock = clock

    def _where(self, conn: AsyncConnection, principal: Principal, f: DlqFilters) -> list[Any]:
        if f.since is not None and f.since.tzinfo is None:
            raise Unprocessable.field("since", "must include a timezone")
        where = repo.filters(**f.model_dump())
        if not principal.is_admin:
            where.append(visible_to(conn, principal.principal_id, principal.team))
        return where

    async def list(
        self,
        conn: AsyncConnection,
        principal: Principal,
        f: DlqFilters,
        *,
        cursor: str | None,
        limit: int,
    ) -> dict[str, Any]:
        where = self._where(conn, principal, f)
        return await self.tasks.page(conn, where, cursor=cursor, limit=limit, kind="dlq")

    async def requeue(
        self, tx: Tx, principal: Principal, task_id: str, reason: str | None
    ) -> dict[str, Any]:
        row = await get_task(tx.conn, task_id, for_update=True)
        if row is None or not row.dead_lettered:
            raise NotFound(f"task {task_id} is not in the dead-letter queue")
        return await self.control.retry(tx, principal, task_id, reason or "requeued from the DLQ")

    async def requeue_many(
        self, tx: Tx, principal: Principal, body: BulkRequeueIn
    ) -> dict[str, Any]:
        if body.task_ids is not None and body.filters is not None:
            raise Unprocessable.field("task_ids", "give task_ids or filters, not both")
        if body.task_ids is not None:
            task_ids = list(dict.fromkeys(body.task_ids))
        else:
            where = self._where(tx.conn, principal, body.filters or DlqFilters())
            task_ids = await repo.ids(tx.conn, where, body.limit)
        requeued: list[str] = []
        errors: list[dict[str, Any]] = []
        for task_id in task_ids:
            try:
                await self.requeue(tx, principal, task_id, body.reason)
                requeued.append(task_id)
            except AinsError as exc:
                errors.append({"task_id": task_id, "status": exc.status_code, "detail": exc.detail})
        return {"requeued": requeued, "errors": errors}

    async def purge(self, tx: Tx, principal: Principal, f: DlqFilters) -> dict[str, Any]:
        if not principal.is_admin:
            raise Forbidden("only an admin may purge the dead-letter queue")
        where = self._where(tx.conn, principal, f)
        purged: list[str] = []
        while True:
            batch = await repo.ids(tx.conn, where, PURGE_BATCH)
            if not batch:
                break
            await repo.delete(tx.conn, batch)
            purged.extend(batch)
        await trail.record(
            tx.conn,
            principal,
            "dlq.purge",
            target_type="dlq",
            detail={
                "filters": f.model_dump(mode="json", exclude_none=True),
                "purged": len(purged),
                "task_ids": purged[:AUDITED_IDS],
            },
            now=self.clock(),
        )
        return {"purged": len(purged)}
