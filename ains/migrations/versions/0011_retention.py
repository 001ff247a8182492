"""Retention: a pruning delete leaves the analytics rollups alone; indexes for pruning by age.

The rollup delete trigger of 0005 subtracts a finished task when its row is deleted (a DLQ
purge, a delete behind the server's back), so analytics stay accurate to the task table. A
retention prune deletes tasks that are only too old to keep, and their figures must stay in
the rollups: a prune marks its transaction (PostgreSQL: the transaction-local setting
`ains.pruning`; SQLite, which has no such settings: a row of `retention_marker`, inserted and
deleted again inside the transaction, so no other connection ever sees it), and the trigger
skips marked deletes.

Revision ID: 0011_retention
Revises: 0010_key_expiry (0006_agent_claims once that lands beside it)
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_retention"
down_revision: str | None = "0010_key_expiry"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FINISHED = "('CANCELLED', 'COMPLETED', 'FAILED', 'TIMED_OUT')"
DELTA_COLUMNS = ("hour, status, agent_id, task_type, n, exec_sum, exec_n, cost_sum, quality_sum, "
                 "quality_n")  # fmt: skip
SQLITE_OLD = (
    "substr(OLD.created_at, 1, 13) || ':00:00.000000', OLD.status, OLD.assigned_agent_id, "
    "OLD.task_type, -1, -OLD.execution_ms, -(OLD.execution_ms IS NOT NULL), -OLD.cost, "
    "-OLD.quality_score, -(OLD.quality_score IS NOT NULL)"
)
PG_NOT_PRUNING = "current_setting('ains.pruning', true) IS DISTINCT FROM 'on'"
INDEXES = [
    ("ix_webhook_deliveries_created_at", "webhook_deliveries", ["created_at"]),
    ("ix_trust_records_created_at", "trust_records", ["created_at"]),
]


def _sqlite_delete_trigger(skip_pruning: bool) -> str:
    when = f"OLD.status IN {FINISHED}"
    if skip_pruning:
        when += " AND NOT EXISTS (SELECT 1 FROM retention_marker)"
    return (
        f"CREATE TRIGGER trg_tasks_rollup_delete AFTER DELETE ON tasks WHEN {when} BEGIN "
        f"INSERT INTO task_rollup_deltas ({DELTA_COLUMNS}) SELECT {SQLITE_OLD}; END"
    )


def _pg_delete_trigger(skip_pruning: bool) -> str:
    when = f"OLD.status IN {FINISHED}"
    if skip_pruning:
        when += f" AND {PG_NOT_PRUNING}"
    return (
        "CREATE TRIGGER trg_tasks_rollup_delete AFTER DELETE ON tasks FOR EACH ROW "
        f"WHEN ({when}) EXECUTE FUNCTION ains_task_rollup()"
    )


def _replace_delete_trigger(skip_pruning: bool) -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER trg_tasks_rollup_delete")
        op.execute(_sqlite_delete_trigger(skip_pruning))
    else:
        op.execute("DROP TRIGGER trg_tasks_rollup_delete ON tasks")
        op.execute(_pg_delete_trigger(skip_pruning))


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.create_table(
            "retention_marker",
            sa.Column("token", sa.String(64), nullable=False),
            sa.PrimaryKeyConstraint("token", name=op.f("pk_retention_marker")),
        )
    _replace_delete_trigger(skip_pruning=True)
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, table, _ in INDEXES:
        op.drop_index(name, table_name=table)
    _replace_delete_trigger(skip_pruning=False)
    if op.get_bind().dialect.name == "sqlite":
        op.drop_table("retention_marker")
