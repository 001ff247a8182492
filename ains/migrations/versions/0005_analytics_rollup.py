"""Hourly and daily rollups of finished tasks, kept by triggers; a partial index for the rest.

Triggers on `tasks` append one signed row to `task_rollup_deltas` for every change to a
finished task's figures (a task finishing, leaving a finished state when requeued, a finished
task's agent, type, cost, quality or time changing, or its deletion). Insert-only, so
concurrent writers never wait on each other; the server folds deltas into `task_rollups`.
Existing finished tasks are rolled up here. The covering `idx_tasks_analytics` goes: the
analytics read the rollups plus a partial index of unfinished tasks.

Revision ID: 0005_analytics_rollup
Revises: 0004_analytics_indexes
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from ains.db.base import BigId, UTCDateTime

revision: str = "0005_analytics_rollup"
down_revision: str | None = "0004_analytics_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FINISHED = "('CANCELLED', 'COMPLETED', 'FAILED', 'TIMED_OUT')"
LIVE = "('ASSIGNED', 'BLOCKED', 'PENDING', 'RETRY_SCHEDULED', 'RUNNING')"
LIVE_COLUMNS = ["created_at", "status", "assigned_agent_id", "task_type", "execution_ms", "cost",
                "quality_score"]  # fmt: skip
FIGURES = ("status", "assigned_agent_id", "task_type", "created_at", "cost", "quality_score",
           "execution_ms")  # fmt: skip
DELTA_COLUMNS = ("hour, status, agent_id, task_type, n, exec_sum, exec_n, cost_sum, quality_sum, "
                 "quality_n")  # fmt: skip
# SQLite keeps UTCDateTime as 'YYYY-MM-DD HH:MM:SS.ffffff' text
HOUR = {
    "sqlite": "substr({r}.created_at, 1, 13) || ':00:00.000000'",
    "postgresql": "date_trunc('hour', {r}.created_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'",
}
DAY = {
    "sqlite": "substr(created_at, 1, 10) || ' 00:00:00.000000'",
    "postgresql": "date_trunc('day', created_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'",
}


def _measures(row: str, sign: str, dialect: str) -> str:
    """The delta of one task: +1 for NEW, -1 for OLD (booleans are 0/1 integers on SQLite)."""
    flag = "({r}.{c} IS NOT NULL)" if dialect == "sqlite" else "({r}.{c} IS NOT NULL)::int"
    values = [
        HOUR[dialect].format(r=row),
        f"{row}.status",
        f"{row}.assigned_agent_id",
        f"{row}.task_type",
        f"{sign}1",
        f"{sign}{row}.execution_ms",
        sign + flag.format(r=row, c="execution_ms"),
        f"{sign}{row}.cost",
        f"{sign}{row}.quality_score",
        sign + flag.format(r=row, c="quality_score"),
    ]
    return ", ".join(values)


def _changed(dialect: str) -> str:
    if dialect == "postgresql":
        old = ", ".join(f"OLD.{c}" for c in FIGURES)
        new = ", ".join(f"NEW.{c}" for c in FIGURES)
        return f"(({old}) IS DISTINCT FROM ({new}))"
    return "(" + " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in FIGURES) + ")"


def _sqlite_triggers() -> list[str]:
    insert = f"INSERT INTO task_rollup_deltas ({DELTA_COLUMNS})"
    old = f"{insert} SELECT {_measures('OLD', '-', 'sqlite')} WHERE OLD.status IN {FINISHED};"
    new = f"{insert} SELECT {_measures('NEW', '', 'sqlite')} WHERE NEW.status IN {FINISHED};"
    of = ", ".join(FIGURES)
    return [
        f"CREATE TRIGGER trg_tasks_rollup_insert AFTER INSERT ON tasks "
        f"WHEN NEW.status IN {FINISHED} BEGIN {new} END",
        f"CREATE TRIGGER trg_tasks_rollup_update AFTER UPDATE OF {of} ON tasks "
        f"WHEN (OLD.status IN {FINISHED} OR NEW.status IN {FINISHED}) AND {_changed('sqlite')} "
        f"BEGIN {old} {new} END",
        f"CREATE TRIGGER trg_tasks_rollup_delete AFTER DELETE ON tasks "
        f"WHEN OLD.status IN {FINISHED} BEGIN {old} END",
    ]


def _postgresql_triggers() -> list[str]:
    insert = f"INSERT INTO task_rollup_deltas ({DELTA_COLUMNS})"
    function = f"""
CREATE FUNCTION ains_task_rollup() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' AND OLD.status IN {FINISHED} THEN
        {insert} VALUES ({_measures("OLD", "-", "postgresql")});
    END IF;
    IF TG_OP <> 'DELETE' AND NEW.status IN {FINISHED} THEN
        {insert} VALUES ({_measures("NEW", "", "postgresql")});
    END IF;
    RETURN NULL;
END $$"""
    run = "FOR EACH ROW"
    call = "EXECUTE FUNCTION ains_task_rollup()"
    of = ", ".join(FIGURES)
    return [
        function,
        f"CREATE TRIGGER trg_tasks_rollup_insert AFTER INSERT ON tasks {run} "
        f"WHEN (NEW.status IN {FINISHED}) {call}",
        f"CREATE TRIGGER trg_tasks_rollup_update AFTER UPDATE OF {of} ON tasks {run} "
        f"WHEN ((OLD.status IN {FINISHED} OR NEW.status IN {FINISHED}) "
        f"AND {_changed('postgresql')}) {call}",
        f"CREATE TRIGGER trg_tasks_rollup_delete AFTER DELETE ON tasks {run} "
        f"WHEN (OLD.status IN {FINISHED}) {call}",
    ]


def _backfill(dialect: str) -> str:
    """Rollups of the finished tasks already there: per hour, and per day (dim 'agent:d')."""
    hour = HOUR[dialect].format(r="tasks")
    day = DAY[dialect]
    measures = (
        "count(*), sum(execution_ms), count(execution_ms), sum(cost), sum(quality_score), "
        "count(quality_score)"
    )
    keys = {"all": "''", "agent": "coalesce(assigned_agent_id, '')", "type": "task_type"}
    selects = [
        f"SELECT '{dim}{suffix}', {period}, {key}, status, {measures} FROM tasks "
        f"WHERE status IN {FINISHED} GROUP BY 2, 3, 4"  # hour, key, status
        for dim, key in keys.items()
        for suffix, period in (("", hour), (":d", day))
    ]
    return (
        "INSERT INTO task_rollups (dim, hour, key, status, n, exec_sum, exec_n, cost_sum, "
        "quality_sum, quality_n) " + " UNION ALL ".join(selects)
    )


def _measure_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("n", sa.Integer, nullable=False),
        sa.Column("exec_sum", sa.Float),
        sa.Column("exec_n", sa.Integer, nullable=False),
        sa.Column("cost_sum", sa.Float),
        sa.Column("quality_sum", sa.Float),
        sa.Column("quality_n", sa.Integer, nullable=False),
    ]


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    op.create_table(
        "task_rollups",
        sa.Column("dim", sa.String(8), nullable=False),
        sa.Column("hour", UTCDateTime(), nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        *_measure_columns(),
        sa.PrimaryKeyConstraint("dim", "hour", "key", "status", name=op.f("pk_task_rollups")),
    )
    op.create_index("idx_task_rollups_key", "task_rollups", ["dim", "key", "hour"])
    op.create_table(
        "task_rollup_deltas",
        sa.Column("delta_id", BigId, autoincrement=True, nullable=False),
        sa.Column("hour", UTCDateTime(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("agent_id", sa.String(64)),
        sa.Column("task_type", sa.String(200), nullable=False),
        *_measure_columns(),
        sa.PrimaryKeyConstraint("delta_id", name=op.f("pk_task_rollup_deltas")),
    )
    op.execute(_backfill(dialect))
    for statement in _sqlite_triggers() if dialect == "sqlite" else _postgresql_triggers():
        op.execute(statement)
    op.drop_index("idx_tasks_analytics", table_name="tasks")
    op.create_index(
        "idx_tasks_live",
        "tasks",
        LIVE_COLUMNS,
        sqlite_where=sa.text(f"status IN {LIVE}"),
        postgresql_where=sa.text(f"status IN {LIVE}"),
    )


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    op.drop_index("idx_tasks_live", table_name="tasks")
    op.create_index(
        "idx_tasks_analytics",
        "tasks",
        ["created_at", "status", "assigned_agent_id", "task_type", "client_id", "execution_ms",
         "cost", "quality_score"],
    )  # fmt: skip
    for name in ("insert", "update", "delete"):
        op.execute(f"DROP TRIGGER trg_tasks_rollup_{name}" + ("" if dialect == "sqlite" else
                                                               " ON tasks"))  # fmt: skip
    if dialect == "postgresql":
        op.execute("DROP FUNCTION ains_task_rollup()")
    op.drop_table("task_rollup_deltas")
    op.drop_index("idx_task_rollups_key", table_name="task_rollups")
    op.drop_table("task_rollups")
