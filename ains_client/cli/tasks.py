"""`ains task …`: submit, inspect, wait for, cancel and retry tasks."""

from __future__ import annotations

from typing import Annotated

import typer

from ains_client._types import JSONObject
from ains_client.cli._common import (
    Column,
    CursorOpt,
    JsonOpt,
    KeyOpt,
    LimitOpt,
    UrlOpt,
    connect,
    err,
    field,
    parse_json,
    print_object,
    print_page,
)
from ains_client.cli._submit_batch import submit_batch
from ains_client.cli._wait import wait_tasks

__all__ = ["TASK_COLUMNS", "task_app"]

task_app = typer.Typer(help="Submit, inspect, wait for and cancel tasks.", no_args_is_help=True)
task_app.command("submit-batch")(submit_batch)
task_app.command("wait")(wait_tasks)

TaskId = Annotated[str, typer.Argument(help="Task id.")]


TASK_COLUMNS: list[Column] = [
    ("id", field("task_id")),
    ("status", field("status")),
    ("type", field("task_type")),
    ("capability", field("capability_required")),
    ("prio", field("priority")),
]


@task_app.command()
def submit(
    task_type: Annotated[str, typer.Option("--task-type", help="Task type, e.g. translate.")],
    capability: Annotated[
        str, typer.Option("--capability", help="Capability an agent needs, e.g. translation:v1.")
    ],
    client_id: Annotated[
        str, typer.Option("--client-id", envvar="AINS_CLIENT_ID", help="Submitting client id.")
    ] = "cli",
    input_json: Annotated[str, typer.Option("--input", help="input_data as JSON.")] = "{}",
    priority: Annotated[
        int | None, typer.Option(min=1, max=10, help="1-10, 10 is served first.")
    ] = None,
    max_retries: Annotated[
        int | None, typer.Option(min=0, help="Retries after a failure before the DLQ.")
    ] = None,
    timeout_seconds: Annotated[
        float | None, typer.Option(help="Per-attempt timeout in seconds.")
    ] = None,
    depends_on: Annotated[
        list[str] | None, typer.Option(help="A task that must complete first (repeatable).")
    ] = None,
    metadata: Annotated[str | None, typer.Option(help="metadata as JSON.")] = None,
    idempotency_key: Annotated[
        str | None, typer.Option(help="A repeat with this key returns the first task.")
    ] = None,
    wait: Annotated[
        bool, typer.Option("--wait", help="Wait for the outcome and print it.")
    ] = False,
    timeout: Annotated[
        float | None, typer.Option(help="With --wait: give up after this many seconds.")
    ] = None,
    as_json: JsonOpt = False,
    url: UrlOpt = None,
    api_key: KeyOpt = None,
) -> None:
    """Submit a task and print it (with --wait: wait, print the outcome, exit 1 unless
    COMPLETED)."""
    input_data = parse_json(input_json, "--input")
    meta = None if metadata is None else parse_json(metadata, "--metadata")
    retry_policy = None if max_retries is None else {"max_retries": max_retries}
    with connect(url, api_key) as client:
        task = client.tasks.submit(
            client_id, task_type, capability, input_data, priority=priority,
            retry_policy=retry_policy, timeout_seconds=timeout_seconds, depends_on=depends_on,
            metadata=meta, idempotency_key=idempotency_key,
        )  # fmt: skip
        if not wait:
            print_object(task, as_json)
            return
        err().print(f"submitted {task['task_id']}, waiting…", markup=False)
        done = client.tasks.wait(task["task_id"], timeout=timeout)
    print_object(_outcome(done), as_json)
    if done.get("status") != "COMPLETED":
        raise typer.Exit(1)


def _outcome(task: JSONObject) -> JSONObject:
    keys = ("task_id", "status", "result_data", "last_error", "error_type", "completed_at")
    return {k: task.get(k) for k in keys}


@task_app.command()
def get(
    task_id: TaskId, as_json: JsonOpt = False, url: UrlOpt = None, api_key: KeyOpt = None
) -> None:
    """Show a task (with --json: also its history and attempts)."""
    with connect(url, api_key) as client:
        task = client.tasks.get(task_id)
    if not as_json:
        task = {k: v for k, v in task.items() if k not in ("history", "attempts", "input_data")}
    print_object(task, as_json)


@task_app.command()
def result(
    task_id: TaskId, as_json: JsonOpt = False, url: UrlOpt = None, api_key: KeyOpt = None
) -> None:
    """Show a task's status and result_data."""
    with connect(url, api_key) as client:
        print_object(client.tasks.result(task_id), as_json)


@task_app.command("list")
def list_tasks(
    status: Annotated[
        list[str] | None, typer.Option(help="Only this status, e.g. PENDING (repeatable).")
    ] = None,
    client_id: Annotated[str | None, typer.Option(help="Only this client's tasks.")] = None,
    agent_id: Annotated[str | None, typer.Option(help="Only tasks given to this agent.")] = None,
    task_type: Annotated[str | None, typer.Option(help="Only this task type.")] = None,
    capability: Annotated[str | None, typer.Option(help="Only this capability.")] = None,
    limit: LimitOpt = 50,
    cursor: CursorOpt = None,
    as_json: JsonOpt = False,
    url: UrlOpt = None,
    api_key: KeyOpt = None,
) -> None:
    """List tasks, newest first, one page at a time."""
    with connect(url, api_key) as client:
        page = client.tasks.list(
            status=[s.upper() for s in status] if status else None, client_id=client_id,
            agent_id=agent_id, task_type=task_type, capability=capability, limit=limit,
            cursor=cursor,
        )  # fmt: skip
    print_page(page, TASK_COLUMNS, as_json, "task(s)")


@task_app.command()
def cancel(
    task_id: TaskId,
    reason: Annotated[str | None, typer.Option(help="Why, recorded with the task.")] = None,
    as_json: JsonOpt = False,
    url: UrlOpt = None,
    api_key: KeyOpt = None,
) -> None:
    """Cancel a task that is not yet terminal."""
    with connect(url, api_key) as client:
        print_object(_outcome(client.tasks.cancel(task_id, reason)), as_json)


@task_app.command()
def retry(
    task_id: TaskId, as_json: JsonOpt = False, url: UrlOpt = None, api_key: KeyOpt = None
) -> None:
    """Put a FAILED, TIMED_OUT or CANCELLED task back to PENDING."""
    with connect(url, api_key) as client:
        print_object(_outcome(client.tasks.retry(task_id)), as_json)
