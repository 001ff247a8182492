"""The client side of the `ains` command line: one Typer group per resource, mounted by
`ains.cli`."""

from __future__ import annotations

import typer

from ains_client.cli.resources import (
    add_key_commands,
    agents_app,
    analytics_app,
    batch_app,
    dlq_app,
    schedule_app,
    template_app,
    webhook_app,
)
from ains_client.cli.tasks import task_app

__all__ = ["add_key_commands", "mount", "task_app"]

GROUPS = {
    "task": task_app,
    "batch": batch_app,
    "schedule": schedule_app,
    "template": template_app,
    "webhook": webhook_app,
    "dlq": dlq_app,
    "analytics": analytics_app,
    "agents": agents_app,
}


def mount(app: typer.Typer) -> None:
    """Add every client command group to `app`."""
    for name, group in GROUPS.items():
        app.add_typer(group, name=name)
