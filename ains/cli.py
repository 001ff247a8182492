"""`ains`: serve, migrate, manage keys; `ains task …` and `ains agent` come from the SDKs."""

from __future__ import annotations

import asyncio
import os
import tempfile
from typing import Annotated

import typer

from ains.config import Settings

app = typer.Typer(help="DukeNet AINS: an AI task network server.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
keys_app = typer.Typer(help="API keys.", no_args_is_help=True)
admin_app = typer.Typer(help="Maintenance, on the database directly.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(keys_app, name="keys")
app.add_typer(admin_app, name="admin")


def _mount_sdk_commands() -> None:
    if any(group.name == "agent" for group in app.registered_groups):
        return  # mounted already
    from ains_agent.cli import agent_app
    from ains_client.cli import add_key_commands, mount

    mount(app)
    add_key_commands(keys_app)
    app.add_typer(agent_app, name="agent")


def _print_version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"ains {version('dukenet-ains')}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """DukeNet AINS: an AI task network server, its clients and agents."""


def _fail(message: str) -> None:
    typer.secho(message, fg=typer.colors.RED, err=True)
    raise typer.Exit(2)


async def _admin_key_exists(settings: Settings) -> bool:
    from ains.clock import utcnow
    from ains.db.engine import Database, create_engine
    from ains.security import keys

    db = Database(create_engine(settings.database_url, pool_size=1))
    try:
        async with db.read() as conn:
            return await keys.admin_key_exists(conn, utcnow())
    finally:
        await db.dispose()


def _settings(flags: dict[str, str] | None = None) -> Settings:
    """The settings, or a one-line refusal naming the bad setting, its value and what is
    expected."""
    from ains.preflight import SettingsProblem, load_settings

    try:
        return load_settings(flags)
    except SettingsProblem as exc:
        _fail(f"Refusing to start: {exc}")
        raise


def _database_ready(
    settings: Settings, migrate: bool = True, flags: dict[str, str] | None = None
) -> None:
    """Refuse, in one line, a database that cannot be reached or migrated."""
    from ains.preflight import database_problem, masked_url

    label = (flags or {}).get("AINS_DATABASE_URL", "AINS_DATABASE_URL")
    if (problem := database_problem(settings.database_url, label)) is not None:
        _fail(f"Refusing to start: {problem}")
    if not migrate:
        return
    from ains.db.migrate import upgrade

    try:
        upgrade(settings.database_url)
    except Exception as exc:
        detail = " ".join(str(exc).split())[:300]
        _fail(
            f"Refusing to start: migrating AINS_DATABASE_URL={masked_url(settings.database_url)} "
            f"failed: {type(exc).__name__}: {detail}"
        )


DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
MAX_DURATION_SECONDS = 100 * 365 * 86400
WORKER_HEALTHCHECK_SECONDS = 60  # see `serve`


def _duration(flag: str, text: str) -> float:
    """Seconds in ``3600``, ``90s``, ``15m``, ``12h``, ``30d`` or ``2w``; a one-line refusal
    otherwise."""
    value = text.strip().lower()
    unit = DURATION_UNITS.get(value[-1:], 0) if value else 0
    number = value[:-1] if unit else value
    try:
        seconds = float(number) * (unit or 1)
    except ValueError:
        seconds = -1.0
    if not 0 < seconds <= MAX_DURATION_SECONDS:  # also refuses NaN
        _fail(
            f"{flag}={text}: expected a positive duration of at most 100 years, such as "
            "3600, 90s, 15m, 12h, 30d, 2w"
        )
    return seconds


# `ains serve` flag → the setting it sets
SERVE_FLAGS = {
    "host": ("AINS_HOST", "--host"),
    "port": ("AINS_PORT", "--port"),
    "database_url": ("AINS_DATABASE_URL", "--database-url"),
    "workers": ("AINS_WORKERS", "--workers"),
    "log_level": ("AINS_LOG_LEVEL", "--log-level"),
}


def _serve_settings(flags: dict[str, str | None]) -> tuple[Settings, dict[str, str]]:
    given: dict[str, str] = {}
    for option, value in flags.items():
        if value is not None:
            name, flag = SERVE_FLAGS[option]
            os.environ[name] = value
            given[name] = flag
    settings = _settings(given)
    from ains.security.auth import jwt_settings_error

    if (jwt_error := jwt_settings_error(settings)) is not None:
        _fail(f"Refusing to start: {jwt_error}.")
    if settings.single_writer and settings.workers > 1:
        _fail(
            "SQLite allows one server process only: use --workers 1, or PostgreSQL "
            "(AINS_DATABASE_URL=postgresql://…) to run several."
        )
    return settings, given


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Listen address [AINS_HOST]")] = None,
    port: Annotated[str | None, typer.Option(help="Port, 1-65535 [AINS_PORT]")] = None,
    database_url: Annotated[str | None, typer.Option(help="[AINS_DATABASE_URL]")] = None,
    workers: Annotated[
        str | None, typer.Option(help="Worker processes, PostgreSQL only [AINS_WORKERS]")
    ] = None,
    log_level: Annotated[str | None, typer.Option(help="[AINS_LOG_LEVEL]")] = None,
    migrate: Annotated[bool, typer.Option(help="Apply migrations on start")] = True,
) -> None:
    """Run the server (SQLite ./ains.db on 127.0.0.1:8000 unless configured)."""
    import uvicorn

    from ains.edge import EdgeProtocol, raise_fd_limit
    from ains.preflight import listen_problem, unknown_settings

    settings, given = _serve_settings(
        {
            "host": host,
            "port": port,
            "database_url": database_url,
            "workers": workers,
            "log_level": log_level,
        }
    )
    if (problem := listen_problem(settings.host, settings.port, given)) is not None:
        _fail(f"Refusing to start: {problem}")
    _database_ready(settings, migrate=migrate and settings.migrate_on_start, flags=given)
    os.environ["AINS_MIGRATE_ON_START"] = "false"
    if not settings.listens_on_loopback_only and not asyncio.run(_admin_key_exists(settings)):
        _fail(
            f"Refusing to listen on {settings.host}: no admin key exists, so the API would be "
            "open to the network. Create one first with `ains keys create --role admin` "
            "(same AINS_DATABASE_URL), or listen on 127.0.0.1."
        )
    if settings.workers > 1:
        from ains.metrics.exposition import prepare_multiprocess_dir

        directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or tempfile.mkdtemp(
            prefix="ains-metrics-"
        )
        prepare_multiprocess_dir(directory)
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory
    for warning in unknown_settings(os.environ):  # after the refusals: those stay one line
        typer.secho(warning, fg=typer.colors.YELLOW, err=True)
    raise_fd_limit()
    uvicorn.run(
        "ains.app:create_app",
        http=EdgeProtocol,
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        log_level=settings.log_level,
        access_log=False,
        # annotated int, used as asyncio.wait_for's timeout: a fraction of a second is fine
        timeout_graceful_shutdown=settings.drain_seconds,  # type: ignore[arg-type]
        # the client address is the TCP peer: protected mode and the /metrics network check
        # must not believe an X-Forwarded-For header
        proxy_headers=False,
        # uvicorn pings each worker every 0.5 s and replaces one that does not answer within
        # this; a new worker answers only once it has imported the app, which on a busy
        # machine takes longer than uvicorn's 5 s, so it was killed and respawned over and
        # over (each respawn burning a second of CPU on imports) and served nothing
        timeout_worker_healthcheck=WORKER_HEALTHCHECK_SECONDS,
    )


@app.command()
def mcp(
    url: Annotated[
        str, typer.Option("--url", envvar="AINS_URL", help="Server URL [AINS_URL]")
    ] = "http://127.0.0.1:8000",
    api_key: Annotated[
        str | None, typer.Option("--api-key", envvar="AINS_API_KEY", help="[AINS_API_KEY]")
    ] = None,
) -> None:
    """Serve MCP on stdin/stdout for an MCP client, relayed to the server's /mcp as the key's
    principal (docs/mcp.md)."""
    from ains.mcp import access

    url = url.rstrip("/")
    try:
        access.check(url, api_key)
    except access.CannotConnect as exc:
        _fail(str(exc))
    import anyio

    from ains.mcp.stdio import serve

    anyio.run(serve, url, api_key)


@db_app.command("upgrade")
def db_upgrade(
    revision: Annotated[str, typer.Argument(help="Target revision")] = "head",
) -> None:
    """Apply schema migrations."""
    from ains.db.migrate import upgrade
    from ains.preflight import database_problem

    settings = _settings()
    if (problem := database_problem(settings.database_url)) is not None:
        _fail(f"Refusing to migrate: {problem}")
    upgrade(settings.database_url, revision)
    typer.echo(f"database at {revision}")


@keys_app.command("create")
def keys_create(
    role: Annotated[str, typer.Option(help="admin | client | agent")],
    principal_id: Annotated[str | None, typer.Option(help="client or agent id")] = None,
    name: Annotated[
        str | None, typer.Option(help="A label for the key (default: the role)")
    ] = None,
    team: Annotated[str | None, typer.Option(help="Team whose tasks the key may see")] = None,
    expires_in: Annotated[
        str | None,
        typer.Option(help="the key is refused after this long: 3600, 90s, 15m, 12h, 30d, 2w"),
    ] = None,
) -> None:
    """Create an API key; the key alone is printed on the last line."""
    from datetime import timedelta

    from ains.audit import trail
    from ains.clock import utcnow
    from ains.db.engine import Database, create_engine
    from ains.security import keys
    from ains.security.principals import ROLES
    from ains.security.rotation import CLI_ADMIN

    if role not in ROLES:
        _fail(f"--role must be one of {', '.join(ROLES)}")
    lifetime = None if expires_in is None else _duration("--expires-in", expires_in)
    settings = _settings()
    _database_ready(settings)

    async def create() -> dict[str, object]:
        now = utcnow()
        db = Database(create_engine(settings.database_url, pool_size=1))
        try:
            async with db.transaction() as tx:
                created = await keys.create_key(
                    tx.conn,
                    role=role,  # type: ignore[arg-type]
                    principal_id=principal_id or name or role,
                    name=name or role,
                    team=team,
                    now=now,
                    expires_at=None if lifetime is None else now + timedelta(seconds=lifetime),
                )
                await trail.record(
                    tx.conn,
                    CLI_ADMIN,
                    "key.create",
                    now=now,
                    target_type="api_key",
                    target_id=str(created["key_id"]),
                    detail={"role": role, "principal_id": created["principal_id"]},
                )
                return created
        finally:
            await db.dispose()

    created = asyncio.run(create())
    until = f", expires {created['expires_at']:%Y-%m-%dT%H:%M:%SZ}" if lifetime else ""
    typer.echo(
        f"created {role} key {created['key_id']} for {created['principal_id']}{until}", err=True
    )
    typer.echo(str(created["api_key"]))


@keys_app.command("rotate-encryption")
def keys_rotate_encryption(
    batch_size: Annotated[int, typer.Option(min=1, max=10_000, help="rows per transaction")] = 500,
) -> None:
    """Re-seal every stored encrypted payload and webhook secret with the first key of
    AINS_ENCRYPTION_KEYS. Put the new key first on every server (keeping the old ones) before
    running it; it is idempotent and resumable. Exit code 1 when some values no configured key
    opens."""
    from ains.db.engine import Database, create_engine
    from ains.security.crypto import KeyRing
    from ains.security.rotation import RotationReport, rotate

    settings = _settings()
    ring = KeyRing.from_config(settings.encryption_keys)
    if ring is None:
        _fail(
            "AINS_ENCRYPTION_KEYS is not set: expected newkid:<key>,oldkid:<key> "
            "(the first key seals, the others open what they sealed)"
        )
        return
    _database_ready(settings)

    async def run(ring: KeyRing) -> RotationReport:
        db = Database(create_engine(settings.database_url, pool_size=1))
        try:
            return await rotate(db, ring, batch_size)
        finally:
            await db.dispose()

    report = asyncio.run(run(ring))
    counts = ", ".join(f"{n} {table}" for table, n in report.resealed.items())
    typer.echo(f"re-sealed with key {ring.active_kid}: {counts}")
    if report.unreadable:
        _fail(
            f"{report.unreadable} sealed values use a key no longer in AINS_ENCRYPTION_KEYS "
            "and stay as they are: add that key back to re-seal them"
        )


@admin_app.command("cleanup")
def admin_cleanup(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only count what would go")] = False,
    older_than_days: Annotated[
        float | None, typer.Option(min=0, help="Overrides AINS_RETENTION_*_DAYS")
    ] = None,
) -> None:
    """Prune rows past their retention (as POST /ains/admin/cleanup); prints the counts."""
    import orjson

    from ains.clock import utcnow
    from ains.db.engine import Database, create_engine
    from ains.db.migrate import upgrade
    from ains.maintenance.service import MaintenanceService
    from ains.security.principals import Principal

    settings = Settings()
    upgrade(settings.database_url)

    async def run() -> dict[str, object]:
        db = Database(create_engine(settings.database_url, pool_size=1))
        try:
            # pruning needs no task control; the stale-task sweep is the server's
            service = MaintenanceService(settings, utcnow, db, None)
            view = (await service.prune(dry_run=dry_run, older_than_days=older_than_days)).view()
            await service.audit(Principal("admin", "cli"), "admin.cleanup", view)
            return view
        finally:
            await db.dispose()

    view = asyncio.run(run())
    typer.echo(orjson.dumps(view, option=orjson.OPT_INDENT_2).decode())


def main() -> None:
    _mount_sdk_commands()
    app(prog_name="ains")


if __name__ == "__main__":
    main()
