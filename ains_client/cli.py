"""`ains task …`: submit and inspect tasks from the command line (mounted by `ains.cli`)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer
from rich import box
from rich.console import Console
from rich.table import Table

from ains_client._client import Client
from ains_client._exceptions import AinsError, WaitTimeout
from ains_client._types import JSONObject

__all__ = ["make_client", "task_app"]

task_app = typer.Typer(help="Submit, inspect, wait for and cancel tasks.", no_args_is_help=True)
out = Console()
err = Console(stderr=True)

make_client: Callable[[str | None, str | None], Client] = Client
"""How the commands build their client (replaceable in tests)."""

UrlOpt = Annotated[str | None, typer.Option("--url", envvar="AINS_URL", help="Server URL.")]
KeyOpt = Annotated[
    str | None, typer.Option("--api-key", envvar="AINS_API_KEY", help="API key (Bearer).")
]
TimeoutOpt = Annotated[
    float | None, typer.Option("--timeout", help="Give up waiting after this many seconds.")
]


@contextmanager
def _client(url: str | None, api_key: str | None) -> Iterator[Client]:
    """A client whose `AinsError`s end the command with a readable message and exit code 1."""
    client = make_client(url, api_key)
    try:
        yield client
    except WaitTimeout as exc:
        err.print(f"[yellow]timed out:[/yellow] {exc.message}")
        raise typer.Exit(1) from exc
    except AinsError as exc:
        err.print(f"[red]error:[/red] {exc.message}")
        for item in exc.errors:
            err.print(f"  {item.get('field', '?')}: {item.get('reason', item)}")
        raise typer.Exit(1) from exc
    finally:
        client.close()


def _parse_json(value: str, option: str) -> Any:
    try:
        return json.loads(value)
    except json.JSONDecodeError as exc:
        raise typer.BadParameter(f"not valid JSON: {exc}", param_hint=option) from exc


def _outcome(task: JSONObject) -> JSONObject:
    keys = ("task_id", "status", "result_data", "last_error", "error_type", "completed_at")
    return {k: task.get(k) for k in keys}


def _print_outcome(task: JSONObject) -> None:
    out.print_json(data=_outcome(task))
    if task.get("status") != "COMPLETED":
        raise typer.Exit(1)


@task_app.command()
def submit(
    task_type: Annotated[str, typer.Option("--task-type", help="Task type, e.g. translate.")],
    capability: Annotated[str, typer.Option("--capability", help="e.g. translation:v1.")],
    client_id: Annotated[
        str, typer.Option("--client-id", envvar="AINS_CLIENT_ID", help="Submitting client.")
    ] = "cli",
    input_json: Annotated[str, typer.Option("--input", help="input_data as JSON.")] = "{}",
    priority: Annotated[int | None, typer.Option(min=1, max=10, help="1-10, 10 highest.")] = None,
    max_retries: Annotated[int | None, typer.Option(min=0)] = None,
    timeout_seconds: Annotated[float | None, typer.Option(help="Per-attempt timeout.")] = None,
    depends_on: Annotated[list[str] | None, typer.Option(help="Task id (repeatable).")] = None,
    metadata: Annotated[str | None, typer.Option(help="metadata as JSON.")] = None,
    idempotency_key: Annotated[str | None, typer.Option(help="Idempotency-Key header.")] = None,
    wait: Annotated[bool, typer.Option("--wait", help="Wait for the result.")] = False,
    timeout: TimeoutOpt = None,
    url: UrlOpt = None,
    api_key: KeyOpt = None,
) -> None:
    """Submit a task and print it (with --wait: wait and print its outcome)."""
    input_data = _parse_json(input_json, "--input")
    meta = None if metadata is None else _parse_json(metadata, "--metadata")
    retry_policy = None if max_retries is None else {"max_retries": max_retries}
    with _client(url, api_key) as client:
        task = client.tasks.submit(
            client_id, task_type, capability, input_data, priority=priority,
            retry_policy=retry_policy, timeout_seconds=timeout_seconds, depends_on=depends_on,
            metadata=meta, idempotency_key=idempotency_key,
        )  # fmt: skip
        if not wait:
            out.print_json(data=task)
            return
        err.print(f"submitted {task['task_id']}, waiting…")
        _print_outcome(client.tasks.wait(task["task_id"], timeout=timeout))


@task_app.command()
def get(
    task_id: Annotated[str, typer.Argument(help="Task id.")],
    url: UrlOpt = None,
    api_key: KeyOpt = None,
) -> None:
    """Print a task with its history and attempts."""
    with _client(url, api_key) as client:
        out.print_json(data=client.tasks.get(task_id))


def _short(value: Any, keep: int = 10) -> str:
    text = str(value or "-")
    return text if len(text) <= keep + 1 else "…" + text[-keep:]


def _task_row(task: JSONObject) -> list[str]:
    retries = f"{task.get('retry_count', 0)}/{task.get('max_retries', '?')}"
    return [
        str(task.get("task_id", "")),
        str(task.get("status", "")),
        str(task.get("task_type", "")),
        str(task.get("capability_required", "")),
        str(task.get("priority", "")),
        _short(task.get("assigned_agent_id")),
        retries,
        str(task.get("created_at", ""))[5:19].replace("T", " "),
    ]


@task_app.command("list")
def list_tasks(
    status: Annotated[list[str] | None, typer.Option(help="Status (repeatable).")] = None,
    client_id: Annotated[str | None, typer.Option()] = None,
    agent_id: Annotated[str | None, typer.Option()] = None,
    task_type: Annotated[str | None, typer.Option()] = None,
    capability: Annotated[str | None, typer.Option()] = None,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON, not a table.")] = False,
    url: UrlOpt = None,
    api_key: KeyOpt = None,
) -> None:
    """List tasks as a table (newest first as the server orders them)."""
    with _client(url, api_key) as client:
        page = client.tasks.list(
            status=[s.upper() for s in status] if status else None, client_id=client_id,
            agent_id=agent_id, task_type=task_type, capability=capability, limit=limit,
        )  # fmt: skip
    if as_json:
        out.print_json(data={"items": page.items, "next_cursor": page.next_cursor})
        return
    title = f"{len(page.items)} task(s)" + (" (more…)" if page.next_cursor else "")
    table = Table(title=title, box=box.SIMPLE_HEAD, pad_edge=False)
    for column in ("id", "status", "type", "capability", "prio", "agent", "retries", "created"):
        table.add_column(column, no_wrap=column in ("id", "status", "created"))
    for task in page.items:
        table.add_row(*_task_row(task))
    # piped output is not cut to 80 columns: nothing to read it would be gained by folding
    (out if out.is_terminal else Console(width=200)).print(table)


@task_app.command("wait")
def wait_task(
    task_id: Annotated[str, typer.Argument(help="Task id.")],
    timeout: TimeoutOpt = None,
    poll_interval: Annotated[float, typer.Option(min=0.01)] = 0.5,
    url: UrlOpt = None,
    api_key: KeyOpt = None,
) -> None:
    """Wait until the task is terminal and print its outcome (exit 1 unless COMPLETED)."""
    with _client(url, api_key) as client:
        _print_outcome(client.tasks.wait(task_id, timeout=timeout, poll_interval=poll_interval))


@task_app.command()
def cancel(
    task_id: Annotated[str, typer.Argument(help="Task id.")],
    reason: Annotated[str | None, typer.Option(help="Why, recorded with the task.")] = None,
    url: UrlOpt = None,
    api_key: KeyOpt = None,
) -> None:
    """Cancel a task that is not yet terminal."""
    with _client(url, api_key) as client:
        out.print_json(data=client.tasks.cancel(task_id, reason))
