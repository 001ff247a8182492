"""`ains batch|schedule|template|webhook|dlq|analytics|agents …`: one command group per
resource, each command with `--json`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

import typer

from ains_client._client import Client
from ains_client._types import JSONObject
from ains_client.cli._common import (
    CursorOpt,
    JsonOpt,
    KeyOpt,
    LimitOpt,
    UrlOpt,
    connect,
    field,
    parse_json,
    print_items,
    print_json,
    print_object,
    print_page,
)

__all__ = [
    "add_key_commands",
    "agents_app",
    "analytics_app",
    "batch_app",
    "dlq_app",
    "schedule_app",
    "template_app",
    "webhook_app",
]

batch_app = typer.Typer(help="Follow and cancel batches of tasks.", no_args_is_help=True)
schedule_app = typer.Typer(help="Tasks submitted on a timetable.", no_args_is_help=True)
template_app = typer.Typer(help="Named task defaults.", no_args_is_help=True)
webhook_app = typer.Typer(help="Webhook subscriptions.", no_args_is_help=True)
dlq_app = typer.Typer(help="The dead-letter queue.", no_args_is_help=True)
analytics_app = typer.Typer(help="Figures over a time window.", no_args_is_help=True)
agents_app = typer.Typer(
    help="Registered agents (run one with `ains agent`).", no_args_is_help=True
)

Id = Annotated[str, typer.Argument(help="Its id.")]
Period = Annotated[
    str,
    typer.Option(help="last_24_hours, last_7_days, last_30_days or all."),
]


def _id_command(
    app: typer.Typer,
    name: str,
    doc: str,
    call: Callable[[Client, str], JSONObject | None],
    *,
    id_key: str,
    done: str | None = None,
) -> None:
    """Adds `name <ID>` to ``app``: ``call(client, ID)``, its answer printed; a call that
    answers nothing (204) prints ``{id_key: ID, done: true}`` instead."""

    def command(
        item_id: str, as_json: JsonOpt = False, url: UrlOpt = None, api_key: KeyOpt = None
    ) -> None:
        with connect(url, api_key) as client:
            answer = call(client, item_id)
        print_object(answer or ({id_key: item_id, done: True} if done else {}), as_json)

    command.__doc__ = doc
    command.__annotations__["item_id"] = Annotated[
        str, typer.Argument(help="Its id.", metavar=id_key)
    ]
    app.command(name)(command)


# --- batches --------------------------------------------------------------------------------


_id_command(
    batch_app,
    "get",
    "A batch's status and its counts by task status.",
    lambda c, i: c.batches.get(i),
    id_key="batch_id",
)


@batch_app.command("results")
def batch_results(
    batch_id: Id, as_json: JsonOpt = False, url: UrlOpt = None, api_key: KeyOpt = None
) -> None:
    """Every task of a batch with its status and result."""
    with connect(url, api_key) as client:
        answer = client.batches.results(batch_id)
    if as_json:
        print_json(answer)
        return
    columns = [("#", field("index")), ("id", field("task_id")), ("status", field("status")),
               ("result", field("result_data")), ("error", field("last_error"))]  # fmt: skip
    print_items(answer.get("results", []), columns, title=f"batch {batch_id}")


@batch_app.command("cancel")
def batch_cancel(
    batch_id: Id,
    reason: Annotated[str | None, typer.Option(help="Why, recorded with the tasks.")] = None,
    as_json: JsonOpt = False,
    url: UrlOpt = None,
    api_key: KeyOpt = None,
) -> None:
    """Cancel every task of the batch that is not yet terminal."""
    with connect(url, api_key) as client:
        print_object(client.batches.cancel(batch_id, reason), as_json)


# --- schedules ------------------------------------------------------------------------------

SCHEDULE_COLUMNS = [("id", field("schedule_id")), ("status", field("status")),
                    ("type", field("task_type")), ("when", lambda s: s.get("cron_expression")
                     or (s.get("interval_seconds") and f"every {s['interval_seconds']}s")
                     or s.get("run_at")), ("next run", field("next_run_at"))]  # fmt: skip


@schedule_app.command("list")
def schedule_list(
    status: Annotated[str | None, typer.Option(help="ACTIVE, PAUSED or COMPLETED.")] = None,
    client_id: Annotated[str | None, typer.Option(help="Only this client's schedules.")] = None,
    limit: LimitOpt = 50,
    cursor: CursorOpt = None,
    as_json: JsonOpt = False,
    url: UrlOpt = None,
    api_key: KeyOpt = None,
) -> None:
    """List schedules."""
    with connect(url, api_key) as client:
        page = client.schedules.list(status=status, client_id=client_id, limit=limit, cursor=cursor)
    print_page(page, SCHEDULE_COLUMNS, as_json, "schedule(s)")


@schedule_app.command("create")
def schedule_create(
    task_type: Annotated[str, typer.Option(help="Task type of the tasks it submits.")],
    capability: Annotated[str, typer.Option(help="Capability of the tasks it submits.")],
    cron: Annotated[str | None, typer.Option(help="Cron expression, e.g. '0 * * * *'.")] = None,
    every: Annotated[int | None, typer.Option(min=1, help="Interval in seconds.")] = None,
    at: Annotated[str | None, typer.Option(help="One run at this ISO 8601 time.")] = None,
    timezone: Annotated[str | None, typer.Option(help="Timezone of the cron expression.")] = None,
    input_json: Annotated[str, typer.Option("--input", help="input_data as JSON.")] = "{}",
    client_id: Annotated[
        str | None, typer.Option(envvar="AINS_CLIENT_ID", help="Submit as this client id.")
    ] = None,
    as_json: JsonOpt = False,
    url: UrlOpt = None,
    api_key: KeyOpt = None,
) -> None:
    """Create a schedule: one of --cron, --every or --at."""
    input_data = parse_json(input_json, "--input")
    with connect(url, api_key) as client:
        made = client.schedules.create(
            task_type, capability, input_data, cron_expression=cron, interval_seconds=every,
            run_at=at, timezone=timezone, client_id=client_id,
        )  # fmt: skip
    print_object(made, as_json)


for _name, _doc in (
    ("get", "Show a schedule and its next run."),
    ("pause", "Stop submitting until resumed."),
    ("resume", "Submit again from the next run time."),
    ("execute", "Submit one task now, outside the timetable."),
    ("delete", "Delete a schedule (its past tasks stay)."),
):
    _id_command(
        schedule_app,
        _name,
        _doc,
        lambda c, i, call=_name: getattr(c.schedules, call)(i),  # type: ignore[misc]
        id_key="schedule_id",
        done="deleted",
    )


# --- templates ------------------------------------------------------------------------------


@template_app.command("list")
def template_list(
    limit: LimitOpt = 100, as_json: JsonOpt = False, url: UrlOpt = None, api_key: KeyOpt = None
) -> None:
    """List templates."""
    with connect(url, api_key) as client:
        page = client.templates.list(limit=limit)
    columns = [("id", field("template_id")), ("name", field("name")),
               ("defaults", field("defaults"))]  # fmt: skip
    print_page(page, columns, as_json, "template(s)")


_id_command(
    template_app,
    "get",
    "Show a template.",
    lambda c, i: c.templates.get(i),
    id_key="template_id",
)


@template_app.command("submit")
def template_submit(
    template_id: Id,
    overrides: Annotated[
        str, typer.Option(help="JSON merged over the template, e.g. '{\"input_data\": {}}'.")
    ] = "{}",
    as_json: JsonOpt = False,
    url: UrlOpt = None,
    api_key: KeyOpt = None,
) -> None:
    """Submit a task from a template."""
    body = parse_json(overrides, "--overrides")
    with connect(url, api_key) as client:
        print_object(client.templates.submit(template_id, body), as_json)


_id_command(
    template_app,
    "delete",
    "Delete a template.",
    lambda c, i: c.templates.delete(i),
    id_key="template_id",
    done="deleted",
)


# --- webhooks -------------------------------------------------------------------------------


@webhook_app.command("list")
def webhook_list(
    limit: LimitOpt = 100, as_json: JsonOpt = False, url: UrlOpt = None, api_key: KeyOpt = None
) -> None:
    """List webhook subscriptions."""
    with connect(url, api_key) as client:
        page = client.webhooks.list(limit=limit)
    columns = [("id", field("webhook_id")), ("url", field("url")), ("events", field("events")),
               ("on", field("enabled"))]  # fmt: skip
    print_page(page, columns, as_json, "webhook(s)")


@webhook_app.command("create")
def webhook_create(
    target: Annotated[str, typer.Argument(help="The URL events are POSTed to.")],
    event: Annotated[
        list[str] | None, typer.Option(help="Event type, e.g. task.completed (repeatable).")
    ] = None,
    as_json: JsonOpt = False,
    url: UrlOpt = None,
    api_key: KeyOpt = None,
) -> None:
    """Subscribe a URL; the signing secret is printed this once."""
    with connect(url, api_key) as client:
        print_object(client.webhooks.create(target, event or []), as_json)


for _name, _doc, _call, _done in (
    ("get", "Show a subscription and its delivery counters.", "get", None),
    ("test", "Send a signed webhook.test event now and show how it went.", "test", None),
    ("delete", "Delete a subscription.", "delete", "deleted"),
):
    _id_command(
        webhook_app,
        _name,
        _doc,
        lambda c, i, call=_call: getattr(c.webhooks, call)(i),  # type: ignore[misc]
        id_key="webhook_id",
        done=_done,
    )


# --- dead-letter queue ----------------------------------------------------------------------


@dlq_app.command("list")
def dlq_list(
    capability: Annotated[str | None, typer.Option(help="Only this capability.")] = None,
    task_type: Annotated[str | None, typer.Option(help="Only this task type.")] = None,
    limit: LimitOpt = 50,
    cursor: CursorOpt = None,
    as_json: JsonOpt = False,
    url: UrlOpt = None,
    api_key: KeyOpt = None,
) -> None:
    """List dead-lettered tasks, newest first."""
    with connect(url, api_key) as client:
        page = client.dlq.list(
            capability=capability, task_type=task_type, limit=limit, cursor=cursor
        )
    columns = [
        ("id", field("task_id")),
        ("type", field("task_type")),
        ("capability", field("capability_required")),
        ("error", field("last_error")),
    ]
    print_page(page, columns, as_json, "dead-lettered task(s)")


_id_command(
    dlq_app,
    "requeue",
    "Put a dead-lettered task back to PENDING with fresh retries.",
    lambda c, i: c.dlq.requeue(i),
    id_key="task_id",
)


@dlq_app.command("purge")
def dlq_purge(
    capability: Annotated[str | None, typer.Option(help="Only this capability.")] = None,
    task_type: Annotated[str | None, typer.Option(help="Only this task type.")] = None,
    yes: Annotated[bool, typer.Option("--yes", help="Purge everything without filters.")] = False,
    as_json: JsonOpt = False,
    url: UrlOpt = None,
    api_key: KeyOpt = None,
) -> None:
    """Delete dead-lettered tasks (all of them only with --yes)."""
    if capability is None and task_type is None and not yes:
        raise typer.BadParameter("give a filter, or --yes to purge everything", param_hint="--yes")
    with connect(url, api_key) as client:
        print_object(client.dlq.purge(capability=capability, task_type=task_type), as_json)


# --- analytics ------------------------------------------------------------------------------


@analytics_app.command("summary")
def analytics_summary(
    period: Period = "last_24_hours",
    as_json: JsonOpt = False,
    url: UrlOpt = None,
    api_key: KeyOpt = None,
) -> None:
    """Counts, success rate, latency and cost over the window."""
    with connect(url, api_key) as client:
        print_object(client.analytics.summary(period=period), as_json)


@analytics_app.command("agents")
def analytics_agents(
    period: Period = "last_24_hours",
    as_json: JsonOpt = False,
    url: UrlOpt = None,
    api_key: KeyOpt = None,
) -> None:
    """Per-agent throughput, success rate and latency over the window."""
    with connect(url, api_key) as client:
        print_object(client.analytics.agents(period=period), as_json)


# --- agents ---------------------------------------------------------------------------------


@agents_app.command("list")
def agents_list(
    limit: LimitOpt = 50,
    cursor: CursorOpt = None,
    as_json: JsonOpt = False,
    url: UrlOpt = None,
    api_key: KeyOpt = None,
) -> None:
    """List registered agents."""
    with connect(url, api_key) as client:
        page = client.agents.list(limit=limit, cursor=cursor)
    columns = [("id", field("agent_id")), ("name", field("name")), ("status", field("status")),
               ("trust", field("trust_score")), ("load", field("in_flight"))]  # fmt: skip
    print_page(page, columns, as_json, "agent(s)")


_id_command(agents_app, "get", "Show an agent.", lambda c, i: c.agents.get(i), id_key="agent_id")
_id_command(
    agents_app,
    "remove",
    "Deregister an agent.",
    lambda c, i: c.agents.deregister(i),
    id_key="agent_id",
    done="removed",
)


# --- keys (added to `ains keys`, whose `create` works on the database directly) ---------------


def add_key_commands(keys_app: typer.Typer) -> None:
    """`ains keys list` and `ains keys revoke`, over the API with an admin key."""

    @keys_app.command("list")
    def keys_list(
        limit: LimitOpt = 100,
        cursor: CursorOpt = None,
        as_json: JsonOpt = False,
        url: UrlOpt = None,
        api_key: KeyOpt = None,
    ) -> None:
        """List API keys (never their secrets), over the API."""
        with connect(url, api_key) as client:
            page = client.keys.list(limit=limit, cursor=cursor)
        columns = [("id", field("key_id")), ("role", field("role")),
                   ("principal", field("principal_id")), ("name", field("name"))]  # fmt: skip
        print_page(page, columns, as_json, "key(s)")

    _id_command(
        keys_app,
        "revoke",
        "Revoke an API key, over the API.",
        lambda c, i: c.keys.revoke(i),
        id_key="key_id",
        done="revoked",
    )
