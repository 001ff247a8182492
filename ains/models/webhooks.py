import sqlalchemy as sa

from ains.db.base import BigId, JSONType, id_column, metadata, ts

webhooks = sa.Table(
    "webhooks",
    metadata,
    id_column("webhook_id"),
    sa.Column("owner_id", sa.String(200), nullable=False),
    sa.Column("owner_role", sa.String(10), nullable=False),
    sa.Column("team", sa.String(100)),
    sa.Column("url", sa.Text, nullable=False),
    sa.Column("events", JSONType, nullable=False),
    sa.Column("secret", sa.Text, nullable=False),
    sa.Column("enabled", sa.Boolean, nullable=False),
    sa.Column("description", sa.Text),
    sa.Column("consecutive_failures", sa.Integer, nullable=False, server_default="0"),
    sa.Column("disabled_reason", sa.Text),
    ts("created_at", nullable=False),
    ts("updated_at", nullable=False),
    # an A2A push-notification config: the webhook is about this task only
    sa.Column("task_id", sa.String(64), index=True),
)

webhook_deliveries = sa.Table(
    "webhook_deliveries",
    metadata,
    id_column("delivery_id"),
    sa.Column("webhook_id", sa.String(64), nullable=False),
    sa.Column("event_id", BigId, nullable=False),
    sa.Column("event_type", sa.String(50), nullable=False),
    sa.Column("payload", JSONType, nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    ts("next_attempt_at", index=True),
    sa.Column("last_status_code", sa.Integer),
    sa.Column("last_error", sa.Text),
    ts("created_at", nullable=False),
    ts("delivered_at"),
    sa.UniqueConstraint("webhook_id", "event_id"),
    sa.Index(None, "webhook_id", "created_at"),
    sa.Index(None, "created_at"),  # retention (0007)
)

webhook_attempts = sa.Table(
    "webhook_attempts",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("delivery_id", sa.String(64), nullable=False),
    sa.Column("webhook_id", sa.String(64), nullable=False),
    ts("attempted_at", nullable=False),
    sa.Column("status_code", sa.Integer),
    sa.Column("latency_ms", sa.Float),
    sa.Column("success", sa.Boolean, nullable=False),
    sa.Column("error", sa.Text),
    sa.Index(None, "webhook_id", "id"),
    sa.Index(None, "delivery_id"),
)

# How far the webhook fan-out has read the events table. One row per reader; the row is locked
# (FOR UPDATE on PostgreSQL) while a replica fans out, so two replicas never read the same batch.
webhook_cursor = sa.Table(
    "webhook_cursor",
    metadata,
    sa.Column("name", sa.String(50), primary_key=True),
    sa.Column("last_event_id", BigId, nullable=False),
    ts("updated_at"),
)
