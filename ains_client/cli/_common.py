"""What every client command shares: the connection options, the client with readable errors,
and output as a table (80 columns, statuses in colour) or as JSON (`--json`)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Annotated, Any

import typer
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from ains_client._client import Client
from ains_client._exceptions import AinsError, NetworkError, WaitTimeout
from ains_client._types import JSONObject, Page

__all__ = [
    "Column",
    "CursorOpt",
    "JsonOpt",
    "KeyOpt",
    "LimitOpt",
    "UrlOpt",
    "connect",
    "err",
    "field",
    "out",
    "parse_json",
    "print_items",
    "print_json",
    "print_object",
    "print_page",
    "status_text",
]

UrlOpt = Annotated[
    str | None,
    typer.Option("--url", envvar="AINS_URL", help="Server URL (default http://127.0.0.1:8000)."),
]
KeyOpt = Annotated[
    str | None, typer.Option("--api-key", envvar="AINS_API_KEY", help="API key (Bearer).")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for scripts, not a table.")]
LimitOpt = Annotated[int, typer.Option(min=1, max=500, help="Items per page.")]
CursorOpt = Annotated[
    str | None, typer.Option(help="Start at this page (the `next` cursor printed last time).")
]

STATUS_STYLES = {
    "BLOCKED": "magenta",
    "PENDING": "yellow",
    "RETRY_SCHEDULED": "yellow",
    "ASSIGNED": "cyan",
    "RUNNING": "blue",
    "COMPLETED": "green",
    "FAILED": "red",
    "TIMED_OUT": "red",
    "CANCELLED": "dim",
    "ACTIVE": "green",
    "PAUSED": "yellow",
    "COMPLETED_SCHEDULE": "dim",
    "ONLINE": "green",
    "OFFLINE": "dim",
}


def out() -> Console:
    """Standard output; built per call so that COLUMNS and redirections are honoured."""
    return Console(highlight=False)


def err() -> Console:
    """Standard error, for messages and progress."""
    return Console(stderr=True, highlight=False)


def status_text(status: Any) -> Text:
    """A status in its colour."""
    text = str(status or "-")
    return Text(text, style=STATUS_STYLES.get(text.upper(), ""))


@contextmanager
def connect(url: str | None, api_key: str | None) -> Iterator[Client]:
    """A client whose errors end the command with one readable message and exit code 1: the
    problem's title and the fields it names, never a traceback."""
    client = Client(url, api_key)
    try:
        yield client
    except NetworkError as exc:
        err().print(f"[red]error:[/red] {exc.message}")
        raise typer.Exit(1) from None
    except WaitTimeout as exc:
        err().print(f"[yellow]timed out:[/yellow] {exc.message}")
        raise typer.Exit(1) from None
    except AinsError as exc:
        title = exc.title or exc.message
        status = f" ({exc.status})" if exc.status else ""
        err().print(f"[red]error:[/red] {title}{status}", markup=True)
        if exc.detail and exc.detail != title:
            err().print(f"  {exc.detail}", markup=False)
        for item in exc.errors:
            err().print(f"  {item.get('field', '?')}: {item.get('reason', '')}", markup=False)
        raise typer.Exit(1) from None
    finally:
        client.close()


def parse_json(value: str, option: str) -> Any:
    """A JSON option value, or a usage error naming the option."""
    try:
        return json.loads(value)
    except json.JSONDecodeError as exc:
        raise typer.BadParameter(f"not valid JSON: {exc}", param_hint=option) from exc


def print_json(data: Any) -> None:
    """Indented JSON on stdout (plain, so that `jq` reads it)."""
    typer.echo(json.dumps(data, indent=2, default=str))


def _cell(value: Any) -> str | Text:
    if isinstance(value, dict | list):
        return json.dumps(value, default=str)
    return "-" if value is None or value == "" else str(value)


def print_object(data: JSONObject, as_json: bool, *, title: str | None = None) -> None:
    """One object: JSON, or a two-column table of its fields that have a value (nested values
    as JSON)."""
    if as_json:
        print_json(data)
        return
    table = Table(title=title, box=box.SIMPLE_HEAD, show_header=False, pad_edge=False)
    table.add_column("field", style="bold", no_wrap=True)
    table.add_column("value", overflow="fold")
    for key, value in data.items():
        if value is None or value in ("", [], {}):
            continue
        table.add_row(key, status_text(value) if key == "status" else _cell(value))
    out().print(table)


Column = tuple[str, Callable[[JSONObject], Any]]
"""A table column: its header and how to read it from an item."""


def field(name: str) -> Callable[[JSONObject], Any]:
    """Read `name` from an item."""
    return lambda item: item.get(name)


def print_items(
    items: Sequence[JSONObject], columns: Sequence[Column], *, title: str | None = None
) -> None:
    """A table readable at 80 columns: headers never shrink below their width, long values
    fold onto a second line instead of being cut."""
    table = Table(title=title, box=box.SIMPLE_HEAD, pad_edge=False, title_justify="left")
    for header, read in columns:
        if header == "id":  # ids stay whole, to be copied
            width = max([len(str(read(item))) for item in items] + [len(header)])
            table.add_column(header, min_width=width, no_wrap=True)
        else:
            table.add_column(header, min_width=len(header), overflow="fold")
    for item in items:
        cells = []
        for header, read in columns:
            value = read(item)
            cells.append(status_text(value) if header == "status" else _cell(value))
        table.add_row(*cells)
    out().print(table)


def print_page(page: Page, columns: Sequence[Column], as_json: bool, noun: str) -> None:
    """A page of items: JSON `{items, next_cursor}`, or a table and how to get the next page."""
    if as_json:
        print_json({"items": page.items, "next_cursor": page.next_cursor})
        return
    print_items(page.items, columns, title=f"{len(page.items)} {noun}")
    if page.next_cursor:
        err().print(f"more: --cursor {page.next_cursor}", markup=False)
