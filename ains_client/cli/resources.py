"""`ains batch|schedule|template|webhook|dlq|analytics|agents …`: one command group per
resource, each command with `--json`."""

from __future__ import annotations

from typing import Annotated

import typer

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


# --- batches --------------------------------------------------------------------------------


@batch_app.command("get")
def batch_get(
    batch_id: Id, as_json: JsonOpt = False, url: UrlOpt = None, api_key: KeyOpt = None
) -> None:
    """A batch's status and its counts by task status."""
    with connect(url, api_key) as client:
        print_object(client.batches.get(batch_id), as_json)


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


def _schedule_action(name: str, doc: str) -> None:
    def action(
        schedule_id: Id, as_json: JsonOpt = False, url: UrlOpt = None, api_key: KeyOpt = None
    ) -> None:
        with connect(url, api_key) as client:
            answer = getattr(client.schedules, name)(schedule_id)
        print_object(answer or {"schedule_id": schedule_id, "deleted": True}, as_json)

    action.__doc__ = doc
    schedule_app.command(name)(action)


for _name, _doc in (
    ("get", "Show a schedule and its next run."),
    ("pause", "Stop submitting until resumed."),
    ("resume", "Submit again from the next run time."),
    ("execute", "Submit one task now, outside the timetable."),
    ("delete", "Delete a schedule (its past tasks stay)."),
):
    _schedule_action(_name, _doc)


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


@template_app.command("get")
def template_get(
    template_id: Id, as_json: JsonOpt = False, url: UrlOpt = None, api_key: KeyOpt = None
) -> None:
    """Show a template."""
    with connect(url, api_key) as client:
        print_object(client.templates.get(template_id), as_json)


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


@template_app.command("delete")
def template_delete(
    template_id: Id, as_json: JsonOpt = False, url: UrlOpt = None, api_key: KeyOpt = None
) -> None:
    """Delete a template."""
    with connect(url, api_key) as client:
        client.templates.delete(template_id)
    print_object({"template_id": template_id, "deleted": True}, as_json)


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


@webhook_app.command("get")
def webhook_get(
    webhook_id: Id, as_json: JsonOpt = False, url: UrlOpt = None, api_key: KeyOpt = None
) -> None:
    """Show a subscription and its delivery counters."""
    with connect(url, api_key) as client:
        print_object(client.webhooks.get(webhook_id), as_json)


@webhook_app.command("test")
def webhook_test(
    webhook_id: Id, as_json: JsonOpt = False, url: UrlOpt = None, api_key: KeyOpt = None
) -> None:
    """Send a signed webhook.test event now and show how it went."""
    with connect(url, api_key) as client:
        print_object(client.webhooks.test(webhook_id), as_json)


@webhook_app.command("delete")
def webhook_delete(
    webhook_id: Id, as_json: JsonOpt = False, url: UrlOpt = None, api_key: KeyOpt = None
) -> None:
    """Delete a subscription."""
    with connect(url, api_key) as client:
        client.webhooks.delete(webhook_id)
    print_object({"webhook_id": webhook_id, "deleted": True}, as_json)


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


@dlq_app.command("requeue")
def dlq_requeue(
    task_id: Id, as_json: JsonOpt = False, url: UrlOpt = None, api_key: KeyOpt = None
) -> None:
    """Put a dead-lettered task back to PENDING with fresh retries."""
    with connect(url, api_key) as client:
        print_object(client.dlq.requeue(task_id), as_json)


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


@agents_app.command("get")
def agents_get(
    agent_id: Id, as_json: JsonOpt = False, url: UrlOpt = None, api_key: KeyOpt = None
) -> None:
    """Show an agent."""
    with connect(url, api_key) as client:
        print_object(client.agents.get(agent_id), as_json)


@agents_app.command("remove")
def agents_remove(
    agent_id: Id, as_json: JsonOpt = False, url: UrlOpt = None, api_key: KeyOpt = None
) -> None:
    """Deregister an agent."""
    with connect(url, api_key) as client:
        client.agents.deregister(agent_id)
    print_object({"agent_id": agent_id, "removed": True}, as_json)


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

    @keys_app.command("revoke")
    def keys_revoke(
        key_id: Id, as_json: JsonOpt = False, url: UrlOpt = None, api_key: KeyOpt = None
    ) -> None:
        """Revoke an API key, over the API."""
        with connect(url, api_key) as client:
            client.keys.revoke(key_id)
        print_object({"key_id": key_id, "revoked": True}, as_json)
