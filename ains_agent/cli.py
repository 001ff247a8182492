"""`ains agent …`: run the sample agent (mounted by `ains.cli`; also `python -m ains_agent`)."""

from __future__ import annotations

import atexit
import gc
import json
import logging
from dataclasses import asdict
from typing import Annotated

import typer
from rich.console import Console
from rich.live import Live

from ains_agent._live import RateLine
from ains_agent._stats import AgentStats
from ains_agent.sample import HANDLERS, build_agent
from ains_client import AinsError

__all__ = ["agent_app"]

agent_app = typer.Typer(help="Run the sample AINS agent.", add_completion=False)
out = Console()
err = Console(stderr=True)


def _check_handler(value: str) -> str:
    if value not in HANDLERS:
        raise typer.BadParameter(f"choose from {', '.join(HANDLERS)}")
    return value


@agent_app.callback(invoke_without_command=True)
def agent(
    url: Annotated[str | None, typer.Option("--url", envvar="AINS_URL", help="Server URL.")] = None,
    api_key: Annotated[
        str | None, typer.Option("--api-key", envvar="AINS_API_KEY", help="API key.")
    ] = None,
    name: Annotated[str, typer.Option(help="Agent name.")] = "sample-agent",
    capability: Annotated[
        list[str] | None,
        typer.Option("--capability", "-c", help="Capability served (repeatable); default echo:v1."),
    ] = None,
    handler: Annotated[
        str, typer.Option(callback=_check_handler, help="echo | upper | sleep (for all of them).")
    ] = "echo",
    concurrency: Annotated[int, typer.Option(min=1, help="Tasks run at once.")] = 4,
    fail_rate: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Share of tasks failed (retryable).")
    ] = 0.0,
    permanent_fail_rate: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Share of tasks failed for good.")
    ] = 0.0,
    wait_seconds: Annotated[float, typer.Option(min=0.0, max=30.0, help="Claim long-poll.")] = 10.0,
    heartbeat_interval: Annotated[
        float, typer.Option(min=0.1, help="Seconds between agent heartbeats.")
    ] = 5.0,
    agent_id: Annotated[str | None, typer.Option(help="Reuse this agent id.")] = None,
    log_level: Annotated[
        str, typer.Option(envvar="AINS_LOG_LEVEL", help="debug, info, warning or error.")
    ] = "warning",
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the final counts as JSON when it stops.")
    ] = False,
) -> None:
    """Register, claim tasks for the capabilities, run the handler and report until stopped;
    on a terminal a live line shows claimed/completed/failed per second."""
    atexit.register(_skip_exit_collections)
    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(message)s")
    if logging.getLogger().level > logging.DEBUG:
        logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request is noise
    capabilities = capability or ["echo:v1"]

    def ready(registered_id: str) -> None:
        out.print(f"agent_id: {registered_id}", highlight=False)
        err.print(f"serving {', '.join(capabilities)} with {handler!r} (concurrency {concurrency})")

    sample = build_agent(
        name, capabilities, handler, fail_rate=fail_rate,
        permanent_fail_rate=permanent_fail_rate, base_url=url, api_key=api_key,
        agent_id=agent_id, max_concurrency=concurrency, wait_seconds=wait_seconds,
        heartbeat_interval=heartbeat_interval, on_ready=ready,
    )  # fmt: skip
    try:
        with Live(RateLine(sample.stats), console=err, refresh_per_second=1, transient=True):
            stats = sample.run()
    except AinsError as exc:
        err.print(f"[red]agent stopped:[/red] {exc.message}")
        _final(sample.stats, as_json)
        raise typer.Exit(1) from None
    _final(stats, as_json)


def _skip_exit_collections() -> None:
    """At exit (after every other clean-up of this command; atexit handlers registered earlier,
    such as logging's flush, still run after it): move every object to the permanent
    generation, so the interpreter's last garbage collections do not walk them all again. Those
    passes over the ~60,000 objects of the client stack cost 0.3 s of CPU after the summary was
    printed, which a loaded machine (a test suite) stretched into seconds before the process
    was gone. Objects are still freed by reference counting; open files and sockets are closed
    by then."""
    gc.freeze()


def _final(stats: AgentStats, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(asdict(stats)))
    else:
        out.print(stats.summary(), highlight=False)
