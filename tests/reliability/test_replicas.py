"""Three replicas on one PostgreSQL: agents connected to different replicas and clients
submitting through each; no task is assigned twice, a schedule fires once per due time, an SSE
stream on replica A sees the changes made through replica C; and a rolling restart (SIGTERM,
drain, start again) of each replica in turn under load loses and duplicates nothing.
Real server and agent processes."""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.reliability.crash import Submitter, audit, echo_agents
from tests.support.server import (
    AgentProcess,
    ServerProcess,
    create_pg_database,
    drop_pg_database,
    wait_for,
)

# replicas share PostgreSQL; three servers and agents start slowly on a loaded machine
pytestmark = [pytest.mark.pg_only, pytest.mark.slow, pytest.mark.timeout(900)]

FAST_DEATH = {"AINS_AGENT_OFFLINE_AFTER": "4", "AINS_LEASE_SECONDS": "6"}


@pytest.fixture
def three_replicas(backend: str) -> Iterator[list[ServerProcess]]:
    url = create_pg_database()
    replicas: list[ServerProcess] = []
    try:
        for _ in range(3):
            replicas.append(ServerProcess(url, env=FAST_DEATH).start())
        yield replicas
    finally:
        for replica in replicas:
            replica.stop()
        drop_pg_database(url)


class EventReader:
    """An SSE subscription to /aitp/events read by a thread."""

    def __init__(self, server: ServerProcess, **params: str) -> None:
        self.data: list[dict[str, Any]] = []
        self._client = httpx.Client(base_url=server.url, timeout=None)
        request = self._client.build_request("GET", "/aitp/events", params=params)
        self._response = self._client.send(request, stream=True)
        assert self._response.status_code == 200
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        try:
            for line in self._response.iter_lines():
                if line.startswith("data: "):
                    message = json.loads(line[6:])
                    if message["type"] != "queue.stats":
                        self.data.append(message["data"])
        except httpx.HTTPError:
            pass

    def task_ids(self) -> set[str]:
        return {str(d["task_id"]) for d in list(self.data) if d.get("task_id")}

    def close(self) -> None:
        self._response.close()
        self._client.close()


def _assigned_events(api: httpx.Client, task_id: str) -> int:
    task = api.get(f"/aitp/tasks/{task_id}").json()
    return sum(1 for e in task["history"] if e["event"] == "task.assigned")


def test_three_replicas_share_work_streams_and_schedules(
    three_replicas: list[ServerProcess], uid: str
) -> None:
    a, b, c = three_replicas
    cap, client = f"three-{uid}:v1", f"c-{uid}"
    stream = EventReader(a, types="task.completed")
    agents = [agent for replica in three_replicas for agent in echo_agents(replica, cap, 1)]
    loads = [Submitter(r.url, cap, client).start() for r in three_replicas]
    schedule = httpx.post(
        f"{b.url}/aitp/tasks/schedule",
        json={"task_type": "tick", "capability_required": f"nobody-{uid}", "interval_seconds": 1},
    )
    assert schedule.status_code == 201, schedule.text
    sid = schedule.json()["schedule_id"]

    def schedule_runs() -> list[dict[str, Any]]:
        r = httpx.get(f"{a.url}/aitp/tasks/schedule/{sid}/executions", params={"limit": 500})
        return list(r.json()["items"])

    try:
        wait_for(lambda: all(len(load.acked) >= 30 for load in loads), timeout=120, message="load")
        # on a quiet machine the load can be done before the schedule's third second
        wait_for(lambda: len(schedule_runs()) >= 3, timeout=30, message="three schedule runs")
    finally:
        for load in loads:
            load.stop()
        assert httpx.post(f"{c.url}/aitp/tasks/schedule/{sid}/pause").status_code == 200
    acked = [task_id for load in loads for task_id in load.acked]
    with a.client() as api:
        try:
            result = audit(api, client, acked)
        finally:
            for agent in agents:
                agent.stop()
        twice = [t for t in acked if _assigned_events(api, t) != 1]
        through_c = set(loads[2].acked)
        wait_for(
            lambda: through_c <= stream.task_ids(),
            timeout=30,
            message="A's stream to see every task completed through C",
        )
        stream.close()
        runs = schedule_runs()
    dues = sorted(datetime.fromisoformat(e["due_at"]) for e in runs)
    print(
        f"\n[three replicas] tasks={result.tasks} completed={result.completed} "
        f"lost={result.lost} duplicated={result.duplicated} assigned_twice={len(twice)} "
        f"schedule_runs={len(runs)} stream_saw={len(stream.task_ids())}"
    )
    assert result.problems == []
    assert (result.lost, result.duplicated, result.completed) == (0, 0, result.tasks)
    assert twice == []
    assert len(dues) >= 3 and len(dues) == len(set(dues)), "a due time fired twice"
    assert {y - x for x, y in itertools.pairwise(dues)} == {timedelta(seconds=1)}
    assert len({e["task_id"] for e in runs}) == len(runs)


def test_rolling_restart_of_each_replica_under_load_loses_and_duplicates_nothing(
    three_replicas: list[ServerProcess], uid: str
) -> None:
    cap, client = f"rolling-{uid}:v1", f"c-{uid}"
    agents: list[AgentProcess] = [
        agent for replica in three_replicas for agent in echo_agents(replica, cap, 1)
    ]
    loads = [Submitter(r.url, cap, client).start() for r in three_replicas]
    restarts: list[str] = []
    try:
        for replica in three_replicas:
            before = sum(len(load.acked) for load in loads)
            wait_for(
                lambda b=before: sum(len(load.acked) for load in loads) >= b + 30,
                timeout=120,
                message="load between restarts",
            )
            replica.stop()  # SIGTERM: drains, then exits
            log = replica.log()
            replica.start()
            restarts.append(log)
        after = sum(len(load.acked) for load in loads)
        wait_for(
            lambda: sum(len(load.acked) for load in loads) >= after + 30,
            timeout=120,
            message="load after the last restart",
        )
    finally:
        for load in loads:
            load.stop()
    acked = [task_id for load in loads for task_id in load.acked]
    with three_replicas[0].client() as api:
        try:
            result = audit(api, client, acked, timeout=180)
        finally:
            for agent in agents:
                agent.stop()
    print(
        f"\n[rolling restart of 3 replicas] tasks={result.tasks} completed={result.completed} "
        f"lost={result.lost} duplicated={result.duplicated} "
        f"refused_submissions={sum(load.refused for load in loads)}"
    )
    assert result.problems == []
    assert (result.lost, result.duplicated, result.completed) == (0, 0, result.tasks)
    for log in restarts:
        assert "Traceback" not in log, log
