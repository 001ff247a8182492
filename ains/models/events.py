import sqlalchemy as sa

from ains.db.base import BigId, JSONType, metadata, ts

# The outbox and the transition history in one table: every state change writes one row in
# the transaction that makes the change; streams and webhook delivery read it by event_id.
events = sa.Table(
    "events",
    metadata,
    sa.Column("event_id", BigId, primary_key=True, autoincrement=True),
    sa.Column("event_type", sa.String(50), nullable=False),
    sa.Column("task_id", sa.String(64)),
    sa.Column("agent_id", sa.String(64)),
    sa.Column("batch_id", sa.String(64)),
    sa.Column("schedule_id", sa.String(64)),
    sa.Column("client_id", sa.String(200)),
    sa.Column("from_status", sa.String(20)),
    sa.Column("to_status", sa.String(20)),
    sa.Column("actor", sa.String(250)),
    sa.Column("reason", sa.Text),
    sa.Column("attempt_id", sa.String(64)),
    sa.Column("data", JSONType),
    ts("occurred_at", nullable=False),
    sa.Index(None, "task_id", "event_id"),
    sa.Index(None, "occurred_at"),
)
