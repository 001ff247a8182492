"""`ains task wait ID…`: a live view of the tasks' statuses until all are terminal."""

from __future__ import annotations

import time
from typing import Annotated

import typer
from rich import box
from rich.live import Live
from rich.table import Table

from ains_client._client import Client
from ains_client._types import TERMINAL_STATUSES, JSONObject
from ains_client.cli._common import (
    JsonOpt,
    KeyOpt,
    UrlOpt,
    connect,
    err,
    print_json,
    status_text,
)

__all__ = ["wait_tasks"]

STATUS_IDS_PER_CALL = 100


def _statuses(client: Client, task_ids: list[str]) -> dict[str, JSONObject]:
    """The current status of every task, a hundred per request."""
    found: dict[str, JSONObject] = {}
    for start in range(0, len(task_ids), STATUS_IDS_PER_CALL):
        answer = client.batches.status(task_ids[start : start + STATUS_IDS_PER_CALL])
        for item in answer.get("tasks", []):
            found[item["task_id"]] = item
    return found


def _view(task_ids: list[str], seen: dict[str, JSONObject], elapsed: float) -> Table:
    done = sum(1 for t in seen.values() if t.get("status") in TERMINAL_STATUSES)
    table = Table(
        title=f"{done}/{len(task_ids)} finished · {elapsed:.0f}s",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        title_justify="left",
    )
    table.add_column("id", min_width=2, overflow="fold")
    table.add_column("status", min_width=6)
    for task_id in task_ids:
        item = seen.get(task_id, {})
        status = item.get("status") if item.get("found", True) else "NOT FOUND"
        table.add_row(task_id, status_text(status))
    return table


def wait_tasks(
    task_ids: Annotated[list[str], typer.Argument(help="Task ids to wait for.")],
    timeout: Annotated[
        float | None, typer.Option(help="Give up after this many seconds (exit 1).")
    ] = None,
    poll_interval: Annotated[
        float, typer.Option(min=0.05, help="Seconds between two looks at the statuses.")
    ] = 0.5,
    as_json: JsonOpt = False,
    url: UrlOpt = None,
    api_key: KeyOpt = None,
) -> None:
    """Wait until every task is terminal, showing their statuses live; exit 1 unless all
    COMPLETED."""
    started = time.monotonic()
    deadline = None if timeout is None else started + timeout
    with connect(url, api_key) as client:
        seen = _statuses(client, task_ids)
        live = Live(_view(task_ids, seen, 0), console=err(), transient=as_json, auto_refresh=False)
        with live:
            while not _all_done(task_ids, seen):
                if deadline is not None and time.monotonic() >= deadline:
                    break
                time.sleep(poll_interval)
                seen = _statuses(client, task_ids)
                live.update(_view(task_ids, seen, time.monotonic() - started), refresh=True)
    outcome = [seen.get(t, {"task_id": t, "found": False}) for t in task_ids]
    if as_json:
        print_json(outcome)
    if not _all_done(task_ids, seen):
        err().print("[yellow]timed out:[/yellow] some tasks are not finished")
        raise typer.Exit(1)
    if any(item.get("status") != "COMPLETED" for item in outcome):
        raise typer.Exit(1)


def _all_done(task_ids: list[str], seen: dict[str, JSONObject]) -> bool:
    return all(
        seen.get(t, {}).get("status") in TERMINAL_STATUSES or not seen.get(t, {}).get("found", 1)
        for t in task_ids
    )
