import sqlalchemy as sa

from ains.db.base import JSONType, id_column, metadata, ts

scheduled_tasks = sa.Table(
    "scheduled_tasks",
    metadata,
    id_column("schedule_id"),
    sa.Column("client_id", sa.String(200), nullable=False),
    sa.Column("task_type", sa.String(200), nullable=False),
    sa.Column("capability_required", sa.String(200), nullable=False),
    sa.Column("input_data", JSONType, nullable=False),
    sa.Column("priority", sa.Integer, nullable=False),
    sa.Column("task_options", JSONType, nullable=False),
    sa.Column("cron_expression", sa.String(200)),
    ts("run_at"),
    sa.Column("timezone", sa.String(64), nullable=False),
    sa.Column("template_id", sa.String(64)),
    sa.Column("status", sa.String(20), nullable=False),
    ts("next_run_at", index=True),
    ts("last_run_at"),
    sa.Column("total_runs", sa.Integer, nullable=False, server_default="0"),
    sa.Column("failed_runs", sa.Integer, nullable=False, server_default="0"),
    sa.Column("description", sa.Text),
    sa.Column("missed_run_policy", sa.String(20), nullable=False),
    sa.Column("overlap_policy", sa.String(20), nullable=False),
    sa.Column("created_by", sa.String(200), nullable=False),
    ts("created_at", nullable=False),
    ts("updated_at", nullable=False),
)

schedule_executions = sa.Table(
    "schedule_executions",
    metadata,
    id_column("execution_id"),
    sa.Column("schedule_id", sa.String(64), nullable=False),
    sa.Column("task_id", sa.String(64)),
    ts("due_at", nullable=False),
    ts("executed_at", nullable=False, index=True),
    sa.Column("trigger", sa.String(20), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("result_data", JSONType),
    sa.Column("error_message", sa.Text),
    sa.Column("duration_seconds", sa.Float),
    ts("created_at", nullable=False),
    sa.UniqueConstraint("schedule_id", "due_at", "trigger"),
    sa.Index(None, "task_id"),
)
