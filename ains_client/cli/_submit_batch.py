"""`ains task submit-batch --file tasks.jsonl`: any number of tasks, sent in batches of at most
the server's `max_batch_size`, with a progress bar and a summary of what was refused and why."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from ains_client._client import Client
from ains_client._exceptions import ValidationError
from ains_client._types import JSONObject
from ains_client.cli._common import JsonOpt, KeyOpt, UrlOpt, connect, err, print_items, print_json

__all__ = ["submit_batch"]

SHOWN_REFUSALS = 20
_SERVER_MAX = re.compile(r"at most (\d+) tasks")


@dataclass
class Refusal:
    """A line of the file that did not become a task."""

    line: int
    field: str
    reason: str


@dataclass
class Outcome:
    task_ids: list[str] = field(default_factory=list)
    batch_ids: list[str] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)


class RateColumn(ProgressColumn):
    """Tasks per second so far."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text("-- tasks/s" if speed is None else f"{speed:,.0f} tasks/s", style="cyan")


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    with path.open(encoding="utf-8") as stream:
        for number, line in enumerate(stream, start=1):
            if line.strip():
                yield number, line


def _parsed(path: Path, outcome: Outcome) -> Iterator[tuple[int, JSONObject]]:
    """The tasks of the file with their line numbers; bad lines become refusals."""
    for number, line in _lines(path):
        try:
            task = json.loads(line)
        except json.JSONDecodeError as exc:
            outcome.refused.append(Refusal(number, "-", f"not JSON: {exc.msg}"))
            continue
        if not isinstance(task, dict):
            outcome.refused.append(Refusal(number, "-", "a task must be a JSON object"))
            continue
        yield number, task


def _chunks(
    items: Iterator[tuple[int, JSONObject]], size: int
) -> Iterator[list[tuple[int, JSONObject]]]:
    chunk: list[tuple[int, JSONObject]] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _field_of(error: dict[str, Any]) -> str:
    name = str(error.get("field", "-"))
    return re.sub(r"^tasks\[\d+\]\.?", "", name) or "-"


def _record(outcome: Outcome, chunk: list[tuple[int, JSONObject]], results: list[Any]) -> None:
    for result in results:
        if not isinstance(result, dict):
            continue
        line = chunk[int(result.get("index", 0))][0]
        if result.get("ok"):
            outcome.task_ids.append(str(result["task_id"]))
            continue
        errors = result.get("errors") or [{"field": "-", "reason": "refused"}]
        for error in errors:
            outcome.refused.append(Refusal(line, _field_of(error), str(error.get("reason", ""))))


def _send(
    client: Client, chunk: list[tuple[int, JSONObject]], client_id: str | None, outcome: Outcome
) -> int | None:
    """Send one batch; the server's limit when it says the batch is too big, else None."""
    try:
        answer = client.batches.submit([t for _, t in chunk], client_id=client_id)
    except ValidationError as exc:
        body = exc.body if isinstance(exc.body, dict) else {}
        if isinstance(body.get("results"), list):  # every task of this batch was invalid
            _record(outcome, chunk, body["results"])
            return None
        for error in exc.errors:
            if error.get("field") == "tasks" and (m := _SERVER_MAX.search(str(error["reason"]))):
                return int(m.group(1))
        raise
    outcome.batch_ids.append(str(answer["batch_id"]))
    _record(outcome, chunk, answer.get("results", []))
    return None


def _submit_all(
    client: Client, path: Path, size: int, client_id: str | None, progress: Progress
) -> Outcome:
    outcome = Outcome()
    total = sum(1 for _ in _lines(path))
    bar = progress.add_task("submitting", total=total)
    pending = _chunks(_parsed(path, outcome), size)
    for chunk in pending:
        queue = [chunk[i : i + size] for i in range(0, len(chunk), size)]
        while queue:
            part = queue.pop(0)
            limit = _send(client, part, client_id, outcome)
            if limit is not None:  # the server takes fewer: split this part and go on
                size = max(1, limit)
                queue[:0] = [part[i : i + size] for i in range(0, len(part), size)]
                continue
            progress.advance(bar, len(part))
    progress.update(bar, completed=total)
    return outcome


def submit_batch(
    file: Annotated[
        Path,
        typer.Option(
            "--file", exists=True, dir_okay=False, help="JSON Lines: one task body per line."
        ),
    ],
    client_id: Annotated[
        str | None,
        typer.Option("--client-id", envvar="AINS_CLIENT_ID", help="Submit as this client id."),
    ] = None,
    batch_size: Annotated[
        int,
        typer.Option(
            min=1, help="Tasks per request; smaller when the server's max_batch_size is lower."
        ),
    ] = 100,
    as_json: JsonOpt = False,
    url: UrlOpt = None,
    api_key: KeyOpt = None,
) -> None:
    """Submit every task of a JSON Lines file in batches, with a progress bar; then a summary
    of accepted and refused tasks with the reasons (exit 1 when any was refused)."""
    columns = (
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), RateColumn(),
        TextColumn("ETA"), TimeRemainingColumn(),
    )  # fmt: skip
    with (
        connect(url, api_key) as client,
        Progress(*columns, console=err(), transient=as_json) as progress,
    ):
        outcome = _submit_all(client, file, batch_size, client_id, progress)
    outcome.refused.sort(key=lambda r: r.line)
    if as_json:
        print_json(
            {
                "accepted": len(outcome.task_ids),
                "refused": [r.__dict__ for r in outcome.refused],
                "task_ids": outcome.task_ids,
                "batch_ids": outcome.batch_ids,
            }
        )
    else:
        _summary(outcome)
    if outcome.refused:
        raise typer.Exit(1)


def _summary(outcome: Outcome) -> None:
    lines = len({r.line for r in outcome.refused})
    print_items(
        [{"accepted": len(outcome.task_ids), "refused": lines, "batches": len(outcome.batch_ids)}],
        [("accepted", lambda i: i["accepted"]), ("refused", lambda i: i["refused"]),
         ("batches", lambda i: i["batches"])],
    )  # fmt: skip
    if outcome.refused:
        shown = outcome.refused[:SHOWN_REFUSALS]
        print_items(
            [r.__dict__ for r in shown],
            [("line", lambda r: r["line"]), ("field", lambda r: r["field"]),
             ("reason", lambda r: r["reason"])],
            title="refused",
        )  # fmt: skip
        if len(outcome.refused) > len(shown):
            err().print(f"and {len(outcome.refused) - len(shown)} more (--json lists them all)")
