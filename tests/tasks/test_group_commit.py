"""Group commit on a real database: when one row of a group fails in the database (here a
duplicate task id, which only the primary key can detect), the other submissions of the group
are still committed and only the submission at fault gets the error."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from ains.audit import trail
from ains.clock import utcnow
from ains.config import Settings
from ains.db.engine import Database, create_engine
from ains.db.migrate import upgrade
from ains.events.bus import Bus
from ains.models import audit_log, events, tasks
from ains.security.principals import Principal
from ains.tasks.group_commit import GroupCommitter
from ains.tasks.schemas import TaskIn
from ains.tasks.service import TaskService
from tests.support.server import drop_pg_database, fresh_database_url

CLIENT = Principal("client", "group-client")


@pytest.fixture
def database_url(backend: str, tmp_path: Path) -> Iterator[str]:
    url = fresh_database_url(backend, tmp_path)
    upgrade(url)
    yield url
    if backend == "postgresql":
        drop_pg_database(url)


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    db = Database(create_engine(database_url))
    yield db
    await db.dispose()


Submission = tuple[dict[str, Any], dict[str, Any], dict[str, Any]]


def _submission(service: TaskService, task_id: str) -> Submission:
    item = TaskIn(task_type="t", capability_required="cap-group", input_data={"id": task_id})
    now = utcnow()
    row = service.build_row(CLIENT, item, now, task_id=task_id)
    audited = trail.entry(CLIENT, "task.submit", now=now, target_type="task", target_id=task_id)
    return row, service.created_event(row, CLIENT, "submitted"), audited


async def _stored(db: Database, table: sa.Table) -> list[str]:
    column = table.c.target_id if table is audit_log else table.c.task_id
    async with db.read() as conn:
        result = await conn.execute(sa.select(column).order_by(column))
        return list(result.scalars())


async def test_one_row_failing_in_the_database_fails_only_its_own_submission(
    database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    service = TaskService(Settings(database_url="sqlite://"), utcnow, Bus(), None)
    committer = GroupCommitter(database, Bus(), aging_interval=60.0)
    taken = f"task_taken_{uuid.uuid4().hex[:6]}"
    await committer.insert(*_submission(service, taken))

    fresh = [f"task_ok_{i:02d}" for i in range(19)]
    ids = [*fresh[:7], taken, *fresh[7:]]  # the duplicate sits in the middle of the group
    with caplog.at_level(logging.WARNING, logger="ains.tasks.group_commit"):
        outcomes = await asyncio.gather(
            *(committer.insert(*_submission(service, i)) for i in ids), return_exceptions=True
        )

    failed = {i: o for i, o in zip(ids, outcomes, strict=True) if o is not None}
    assert list(failed) == [taken]
    assert isinstance(failed[taken], IntegrityError)
    # the 20 arrived together and were tried as one group before falling back to one by one
    assert "group of 20 submissions failed" in caplog.text
    assert await _stored(database, tasks) == sorted([taken, *fresh])
    assert await _stored(database, events) == sorted([taken, *fresh])
    # each audit entry committed with its task, the failed copy's rolled back with it
    assert await _stored(database, audit_log) == sorted([taken, *fresh])


async def test_a_duplicate_inside_one_group_fails_only_the_later_copy(database: Database) -> None:
    service = TaskService(Settings(database_url="sqlite://"), utcnow, Bus(), None)
    committer = GroupCommitter(database, Bus(), aging_interval=60.0)
    ids = ["task_a", "task_twin", "task_b", "task_twin", "task_c"]
    outcomes = await asyncio.gather(
        *(committer.insert(*_submission(service, i)) for i in ids), return_exceptions=True
    )
    assert [o is None for o in outcomes] == [True, True, True, False, True]
    assert isinstance(outcomes[3], IntegrityError)
    assert await _stored(database, tasks) == ["task_a", "task_b", "task_c", "task_twin"]
    assert await _stored(database, audit_log) == ["task_a", "task_b", "task_c", "task_twin"]


async def test_a_group_writes_its_audit_rows_in_one_statement(database: Database) -> None:
    """The throughput aim: auditing costs a group one multi-row insert, not one per task."""
    service = TaskService(Settings(database_url="sqlite://"), utcnow, Bus(), None)
    committer = GroupCommitter(database, Bus(), aging_interval=60.0)
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO AUDIT_LOG"):
            statements.append(statement)

    sa.event.listen(database.engine.sync_engine, "before_cursor_execute", count)
    try:
        ids = [f"task_grouped_{i:02d}" for i in range(20)]
        await asyncio.gather(*(committer.insert(*_submission(service, i)) for i in ids))
    finally:
        sa.event.remove(database.engine.sync_engine, "before_cursor_execute", count)
    # the first arrival commits alone, the other 19 arrive while it runs: two groups
    assert len(statements) <= 2, statements
    assert await _stored(database, audit_log) == ids
