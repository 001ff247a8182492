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
    from ains_agent.cli import agent_app
    from ains_client.cli import task_app

    app.add_typer(task_app, name="task")
    app.add_typer(agent_app, name="agent")


def _fail(message: str) -> None:
    typer.secho(message, fg=typer.colors.RED, err=True)
    raise typer.Exit(2)


async def _admin_key_exists(settings: Settings) -> bool:
    from ains.db.engine import Database, create_engine
    from ains.security import keys

    db = Database(create_engine(settings.database_url, pool_size=1))
    try:
        async with db.read() as conn:
            return await keys.admin_key_exists(conn)
    finally:
        await db.dispose()


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Listen address [AINS_HOST]")] = None,
    port: Annotated[int | None, typer.Option(help="Port [AINS_PORT]")] = None,
    database_url: Annotated[str | None, typer.Option(help="[AINS_DATABASE_URL]")] = None,
    workers: Annotated[int | None, typer.Option(help="Worker processes (PostgreSQL only)")] = None,
    log_level: Annotated[str | None, typer.Option(help="[AINS_LOG_LEVEL]")] = None,
    migrate: Annotated[bool, typer.Option(help="Apply migrations on start")] = True,
) -> None:
    """Run the server (SQLite ./ains.db on 127.0.0.1:8000 unless configured)."""
    import uvicorn

    for name, value in (
        ("AINS_HOST", host),
        ("AINS_PORT", port),
        ("AINS_DATABASE_URL", database_url),
        ("AINS_WORKERS", workers),
        ("AINS_LOG_LEVEL", log_level),
    ):
        if value is not None:
            os.environ[name] = str(value)
    settings = Settings()
    if settings.is_sqlite and settings.workers > 1:
        _fail(
            "SQLite allows one server process only: use --workers 1, or PostgreSQL "
            "(AINS_DATABASE_URL=postgresql://…) to run several."
        )
    if migrate and settings.migrate_on_start:
        from ains.db.migrate import upgrade

        upgrade(settings.database_url)
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
    uvicorn.run(
        "ains.app:create_app",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        log_level=settings.log_level.lower(),
        access_log=False,
        timeout_graceful_shutdown=10,
    )


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Apply schema migrations."""
    from ains.db.migrate import upgrade

    settings = Settings()
    upgrade(settings.database_url, revision)
    typer.echo(f"database at {revision}")


@keys_app.command("create")
def keys_create(
    role: Annotated[str, typer.Option(help="admin | client | agent")],
    principal_id: Annotated[str | None, typer.Option(help="client or agent id")] = None,
    name: Annotated[str | None, typer.Option()] = None,
    team: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Create an API key; the key alone is printed on the last line."""
    from ains.clock import utcnow
    from ains.db.engine import Database, create_engine
    from ains.db.migrate import upgrade
    from ains.security import keys
    from ains.security.principals import ROLES

    if role not in ROLES:
        _fail(f"--role must be one of {', '.join(ROLES)}")
    settings = Settings()
    upgrade(settings.database_url)

    async def create() -> dict[str, object]:
        db = Database(create_engine(settings.database_url, pool_size=1))
        try:
            async with db.transaction() as tx:
                return await keys.create_key(
                    tx.conn,
                    role=role,  # type: ignore[arg-type]
                    principal_id=principal_id or name or role,
                    name=name or role,
                    team=team,
                    now=utcnow(),
                )
        finally:
            await db.dispose()

    created = asyncio.run(create())
    typer.echo(f"created {role} key {created['key_id']} for {created['principal_id']}", err=True)
    typer.echo(str(created["api_key"]))


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
