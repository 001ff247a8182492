import sqlalchemy as sa

from ains.db.base import JSONType, id_column, metadata, ts
from ains.tasks.states import ACTIVE

# tasks not finished, as SQL: analytics queries inline the states in this order to match
LIVE_PREDICATE = "status IN ({})".format(", ".join(f"'{s.value}'" for s in sorted(ACTIVE)))

tasks = sa.Table(
    "tasks",
    metadata,
    id_column("task_id"),
    sa.Column("client_id", sa.String(200), nullable=False),
    sa.Column("team", sa.String(100)),
    sa.Column("task_type", sa.String(200), nullable=False),
    sa.Column("capability_required", sa.String(200), nullable=False),
    sa.Column("input_data", JSONType),
    sa.Column("input_encrypted", sa.Text),
    sa.Column("encrypted", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("priority", sa.Integer, nullable=False),
    sa.Column("queue_key", sa.Float, nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("assigned_agent_id", sa.String(64)),
    sa.Column("attempt_id", sa.String(64)),
    sa.Column("attempt_count", sa.Integer, nullable=False, server_default="0"),
    sa.Column("retry_count", sa.Integer, nullable=False, server_default="0"),
    sa.Column("max_retries", sa.Integer, nullable=False),
    sa.Column("retry_policy", JSONType, nullable=False),
    ts("next_retry_at"),
    sa.Column("timeout_seconds", sa.Float),
    ts("timeout_at"),
    ts("deadline"),
    ts("lease_expires_at"),
    sa.Column("visibility", sa.String(10), nullable=False),
    sa.Column("allowed_viewers", JSONType, nullable=False),
    sa.Column("metadata", JSONType, nullable=False),
    sa.Column("depends_on", JSONType, nullable=False),
    sa.Column("pending_dependencies", sa.Integer, nullable=False, server_default="0"),
    sa.Column("batch_id", sa.String(64)),
    sa.Column("batch_index", sa.Integer),
    sa.Column("schedule_id", sa.String(64)),
    sa.Column("template_id", sa.String(64)),
    sa.Column("idempotency_key", sa.String(200)),
    sa.Column("result_data", JSONType),
    sa.Column("result_encrypted", sa.Text),
    sa.Column("cost", sa.Float),
    sa.Column("quality_score", sa.Float),
    sa.Column("execution_ms", sa.Float),
    sa.Column("last_error", sa.Text),
    sa.Column("error_type", sa.String(200)),
    sa.Column("dead_lettered", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("progress", JSONType),
    sa.Column("cancel_requested", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("cancelled_by", sa.String(200)),
    ts("cancelled_at"),
    sa.Column("cancellation_reason", sa.Text),
    ts("queued_at"),
    ts("assigned_at"),
    ts("delivered_at"),
    ts("started_at"),
    ts("completed_at"),
    ts("created_at", nullable=False),
    ts("updated_at", nullable=False),
    # seed 001 §4.4
    sa.Index("idx_tasks_status", "status"),
    sa.Index("idx_tasks_client_id", "client_id", "created_at"),
    sa.Index("idx_tasks_assigned_agent", "assigned_agent_id", "status"),
    sa.Index("idx_tasks_created_at", "created_at"),
    sa.Index("idx_tasks_priority_created", sa.text("priority DESC"), "created_at"),
    # the claim path: pending work per capability in queue order
    sa.Index(
        "idx_tasks_queue",
        "capability_required",
        "queue_key",
        sqlite_where=sa.text("status = 'PENDING'"),
        postgresql_where=sa.text("status = 'PENDING'"),
    ),
    sa.Index("idx_tasks_batch", "batch_id", "batch_index"),
    # fair ordering (heads and per-client tails of each lane) and the deadline loop; 0003
    sa.Index(
        "idx_tasks_fair_head",
        "capability_required",
        "priority",
        "queue_key",
        sqlite_where=sa.text("status = 'PENDING'"),
        postgresql_where=sa.text("status = 'PENDING'"),
    ),
    sa.Index(
        "idx_tasks_fair_client",
        "capability_required",
        "priority",
        "client_id",
        "queue_key",
        sqlite_where=sa.text("status = 'PENDING'"),
        postgresql_where=sa.text("status = 'PENDING'"),
    ),
    sa.Index(
        "idx_tasks_lease",
        "lease_expires_at",
        sqlite_where=sa.text("lease_expires_at IS NOT NULL"),
        postgresql_where=sa.text("lease_expires_at IS NOT NULL"),
    ),
    sa.Index(
        "idx_tasks_timeout",
        "timeout_at",
        sqlite_where=sa.text("timeout_at IS NOT NULL"),
        postgresql_where=sa.text("timeout_at IS NOT NULL"),
    ),
    # the queue escalation of tasks with a deadline (0015)
    sa.Index(
        "idx_tasks_deadline",
        "deadline",
        sqlite_where=sa.text("deadline IS NOT NULL"),
        postgresql_where=sa.text("deadline IS NOT NULL"),
    ),
    sa.Index(
        "idx_tasks_retry",
        "next_retry_at",
        sqlite_where=sa.text("status = 'RETRY_SCHEDULED'"),
        postgresql_where=sa.text("status = 'RETRY_SCHEDULED'"),
    ),
    # analytics (0005): tasks not finished yet, by created_at, covering every figure (finished
    # ones are rolled up)
    sa.Index(
        "idx_tasks_live",
        "created_at",
        "status",
        "assigned_agent_id",
        "task_type",
        "execution_ms",
        "cost",
        "quality_score",
        sqlite_where=sa.text(LIVE_PREDICATE),
        postgresql_where=sa.text(LIVE_PREDICATE),
    ),
    # execution-time percentiles walk completed tasks in execution_ms order (0004)
    sa.Index(
        "idx_tasks_execution",
        "status",
        "execution_ms",
        "created_at",
        "client_id",
        "assigned_agent_id",
    ),
    sa.Index("idx_tasks_completed_at", "completed_at"),
    # a non-admin's task list: public and team tasks, and tasks shared by allowed_viewers (0007)
    sa.Index("idx_tasks_visibility", "visibility", "team"),
    sa.Index(
        "idx_tasks_shared",
        "task_id",
        sqlite_where=sa.text("allowed_viewers <> '[]'"),
        postgresql_where=sa.text("allowed_viewers <> '[]'::jsonb"),
    ),
    sa.Index(
        "idx_tasks_dead_letter",
        "dead_lettered",
        "completed_at",
        sqlite_where=sa.text("dead_lettered"),
        postgresql_where=sa.text("dead_lettered"),
    ),
)

task_attempts = sa.Table(
    "task_attempts",
    metadata,
    id_column("attempt_id"),
    sa.Column("task_id", sa.String(64), nullable=False),
    sa.Column("agent_id", sa.String(64), nullable=False),
    sa.Column("number", sa.Integer, nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    ts("claimed_at", nullable=False),
    ts("started_at"),
    ts("finished_at"),
    sa.Column("error", sa.Text),
    sa.Column("error_type", sa.String(200)),
    # the routing pass that created this attempt (routing_decisions, 0014)
    sa.Column("routing_id", sa.String(64)),
    sa.Index(None, "task_id", "number"),
)

task_dependencies = sa.Table(
    "task_dependencies",
    metadata,
    sa.Column("task_id", sa.String(64), primary_key=True),
    sa.Column("depends_on_task_id", sa.String(64), primary_key=True),
    sa.Index(None, "depends_on_task_id"),
)

idempotency_keys = sa.Table(
    "idempotency_keys",
    metadata,
    sa.Column("client_id", sa.String(200), primary_key=True),
    sa.Column("key", sa.String(200), primary_key=True),
    sa.Column("request_hash", sa.String(64), nullable=False),
    sa.Column("task_id", sa.String(64), nullable=False),
    ts("created_at", nullable=False),
    ts("expires_at", nullable=False, index=True),
)
