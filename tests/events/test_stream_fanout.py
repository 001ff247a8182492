"""The stream hub hands each event only to the subscribers whose type filter wants it, and
reads task rows only for those events: an agent following cancellations does not make the
hub read the task row of every event a busy server writes.

A unit test of the hub on its own SQLite file (the fan-out does not depend on the database;
the SSE tests in `test_streams.py` and `test_agent_stream.py` cover it end to end)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from ains.db.base import metadata
from ains.db.engine import Database, create_engine
from ains.events import feed
from ains.events.bus import Bus
from ains.events.repository import add_events, event
from ains.events.stream import StreamFilter, StreamHub
from ains.security.principals import Principal


async def test_hub_reads_and_queues_only_the_events_a_subscriber_wants(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = Database(create_engine(f"sqlite:///{tmp_path / 'hub.db'}"))
    async with db.engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    hub = StreamHub(db, Bus(), max_per_principal=5)
    asked: list[str] = []
    task_rows = feed.task_rows

    async def counting_task_rows(conn: Any, task_ids: Any) -> dict[str, dict[str, Any]]:
        ids = list(task_ids)
        asked.extend(ids)
        return await task_rows(conn, ids)

    monkeypatch.setattr(feed, "task_rows", counting_task_rows)
    admin = Principal(role="admin", principal_id="root")
    cancels = hub.open(admin)
    everything = hub.open(admin)
    stream = hub.messages(cancels, StreamFilter(types=frozenset({"task.cancelled"})), None)
    await stream.__anext__()  # the first message (queue stats): the stream is attached
    try:
        now = datetime.now(UTC)
        async with db.transaction() as tx:
            await add_events(
                tx.conn,
                [event("task.created", now, task_id=f"t{i}", client_id="c") for i in range(5)]
                + [event("task.cancelled", now, task_id="t9", client_id="c")],
            )
        await hub._pass()
        assert asked == ["t9"]
        kinds = [cancels.queue.get_nowait()[0]["event_type"]]  # type: ignore[index]
        assert kinds == ["task.cancelled"] and cancels.queue.empty()

        # a subscriber without a type filter gets every event, and the hub reads their tasks
        everything.wants = StreamFilter().wants_type
        hub._subscribers.add(everything)
        async with db.transaction() as tx:
            await add_events(tx.conn, [event("task.created", now, task_id="t10", client_id="c")])
        await hub._pass()
        assert asked == ["t9", "t10"]
        assert everything.queue.qsize() == 1 and cancels.queue.empty()
    finally:
        await stream.aclose()
        await db.dispose()
