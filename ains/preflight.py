"""Start-up checks of the server commands: the settings, the database and the listen address.

Each problem is one line naming the setting (or the `ains serve` flag it came from), its value
and what is expected, so that a mistyped deployment fails in a way a person can act on, never
with a traceback. Secrets are never echoed; database URLs are shown without their password.
"""

from __future__ import annotations

import asyncio
import difflib
import errno
import os
import socket
import sqlite3
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from pydantic_settings import SettingsError

from ains.config import SECRET_SETTINGS, Settings
from ains.db import dialect
from ains.db import repository as driver_sql

DB_CONNECT_TIMEOUT = 5.0
# AINS_* variables read by the SDK, the sample agent and the tests, not by the server
NOT_SERVER_SETTINGS = frozenset(
    {"AINS_URL", "AINS_API_KEY", "AINS_AGENT_API_KEY", "AINS_CLIENT_ID"}
)
NOT_SERVER_PREFIXES = ("AINS_TEST_", "AINS_BENCH_")
_SHOWN_CHARS = 80


class SettingsProblem(Exception):
    """A setting the server cannot start with; the message is one line."""


def load_settings(flags: Mapping[str, str] | None = None) -> Settings:
    """The settings, or :class:`SettingsProblem`; ``flags`` maps env names given as `ains serve`
    flags to the flag (``{"AINS_PORT": "--port"}``) so the message names what was typed."""
    try:
        return Settings()
    except ValidationError as exc:
        raise SettingsProblem(_describe(exc.errors()[0], flags or {})) from None
    except SettingsError as exc:  # a value pydantic-settings could not even decode
        field = str(exc).split('"')[1] if '"' in str(exc) else "settings"
        raise SettingsProblem(f"{env_name(field)}: cannot be parsed ({exc})") from None


def unknown_settings(environ: Mapping[str, str]) -> list[str]:
    """A warning per `AINS_*` variable that is no setting (a typo is otherwise silently
    ignored), with the closest setting name when there is one."""
    known = [env_name(name) for name in Settings.model_fields]
    warnings = []
    for name in sorted(environ):
        upper = name.upper()
        if not upper.startswith("AINS_") or upper in known or upper in NOT_SERVER_SETTINGS:
            continue
        if upper.startswith(NOT_SERVER_PREFIXES):
            continue
        close = difflib.get_close_matches(upper, known, n=1, cutoff=0.8)
        hint = f" (did you mean {close[0]}?)" if close else ""
        warnings.append(f"warning: {name} is not an AINS setting{hint}; it is ignored")
    return warnings


def env_name(field: str) -> str:
    return "AINS_" + field.upper()


def _describe(error: Mapping[str, Any], flags: Mapping[str, str]) -> str:
    loc = error.get("loc") or ("settings",)
    field = str(loc[0])
    name = env_name(field)
    label = flags.get(name, name)
    raw = os.environ.get(name, error.get("input"))
    where = f" (at {'.'.join(str(p) for p in loc[1:])})" if len(loc) > 1 else ""
    return f"{label}={shown(field, raw)}{where}: {_expected(error)}"


def shown(field: str, value: Any) -> str:
    """The value as it may appear in a message: secrets hidden, one short line."""
    if field in SECRET_SETTINGS:
        return "(hidden)"
    text = str(value)
    if field == "database_url":
        text = masked_url(text)
    text = text.replace("\n", "\\n").replace("\r", "\\r")
    return text if len(text) <= _SHOWN_CHARS else text[:_SHOWN_CHARS] + "…"


def _expected(error: Mapping[str, Any]) -> str:
    ctx = {k: f"{v:g}" if isinstance(v, float) else v for k, v in (error.get("ctx") or {}).items()}
    kind = str(error.get("type", ""))
    bounds = {
        "greater_than": f"expected a number greater than {ctx.get('gt')}",
        "greater_than_equal": f"expected a number of at least {ctx.get('ge')}",
        "less_than": f"expected a number less than {ctx.get('lt')}",
        "less_than_equal": f"expected a number of at most {ctx.get('le')}",
        "int_parsing": "expected a whole number",
        "int_from_float": "expected a whole number",
        "float_parsing": "expected a number",
        "bool_parsing": "expected true or false",
        "dict_type": "expected a JSON object",
        "list_type": "expected a JSON list or a comma-separated list",
    }
    if kind in bounds:
        return bounds[kind]
    return str(error.get("msg", "invalid")).removeprefix("Value error, ")


def masked_url(url: str) -> str:
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url.split("@", 1)[-1] if "@" in url else url


def database_problem(url: str, label: str = "AINS_DATABASE_URL") -> str | None:
    """Why the server cannot use the database at ``url``, or None when it can."""
    reason = _sqlite_problem(url) if dialect.url_is_sqlite(url) else _postgres_problem(url)
    if reason is None:
        return None
    return f"{label}={masked_url(url)}: {reason}"


def _sqlite_problem(url: str) -> str | None:
    path_text = url.split(":///", 1)[1] if ":///" in url else ""
    path_text = path_text.split("?", 1)[0]
    if path_text in ("", ":memory:"):
        return None
    path = Path(path_text)
    parent = path.parent
    if not parent.is_dir():
        return f"directory {parent} does not exist; expected a writable SQLite file path"
    if path.is_dir():
        return f"{path} is a directory; expected a SQLite file path"
    if not os.access(parent, os.W_OK):
        return (
            f"directory {parent} is not writable (SQLite keeps its -wal journal there); "
            "expected a writable SQLite file path"
        )
    try:
        conn = sqlite3.connect(path, timeout=DB_CONNECT_TIMEOUT)
        try:
            driver_sql.probe_write_lock(conn)
        finally:
            conn.close()
    except sqlite3.Error as exc:
        return f"cannot open it for writing ({exc}); expected a writable SQLite file path"
    return None


def _postgres_problem(url: str) -> str | None:
    import asyncpg

    dsn = dialect.plain_dsn(url)

    async def probe() -> None:
        conn = await asyncpg.connect(dsn, timeout=DB_CONNECT_TIMEOUT)
        await conn.close()

    try:
        asyncio.run(probe())
    except asyncpg.InvalidCatalogNameError as exc:
        return f"{exc}; expected an existing database (create it first, e.g. createdb)"
    except asyncpg.PostgresError as exc:
        return f"PostgreSQL refused the connection ({_one_line(exc)})"
    except TimeoutError:
        return f"no answer within {DB_CONNECT_TIMEOUT:g} s; expected a reachable PostgreSQL"
    except OSError as exc:
        return f"cannot connect ({exc.strerror or _one_line(exc)}); expected a reachable PostgreSQL"
    except Exception as exc:  # a malformed DSN: asyncpg raises ValueError and friends
        return f"not a usable PostgreSQL URL ({_one_line(exc)})"
    return None


def listen_problem(host: str, port: int, flags: Mapping[str, str] | None = None) -> str | None:
    """Why the server cannot listen on ``host:port``, or None when it can (a probe: the port
    may still be taken between this check and uvicorn's bind)."""
    flags = flags or {}
    host_label = flags.get("AINS_HOST", "AINS_HOST")
    port_label = flags.get("AINS_PORT", "AINS_PORT")
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        return (
            f"{host_label}={host}: cannot be resolved ({exc.strerror}); "
            "expected an address of this machine"
        )
    family, kind, proto, _name, address = infos[0]
    try:
        with socket.socket(family, kind, proto) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(address)
    except OSError as exc:
        if exc.errno == errno.EADDRNOTAVAIL:
            return f"{host_label}={host}: not an address of this machine ({exc.strerror})"
        return (
            f"{port_label}={port}: cannot listen on {host}:{port} ({exc.strerror}); "
            "expected a free port this user may bind"
        )
    return None


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text or type(exc).__name__
