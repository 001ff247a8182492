import sqlalchemy as sa

from ains.db.base import JSONType, id_column, metadata, ts

agents = sa.Table(
    "agents",
    metadata,
    id_column("agent_id"),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("capabilities", JSONType, nullable=False),
    sa.Column("max_concurrency", sa.Integer, nullable=False),
    sa.Column("in_flight", sa.Integer, nullable=False, server_default="0"),
    sa.Column("trust_score", sa.Float, nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("online", sa.Boolean, nullable=False),
    ts("last_heartbeat_at"),
    # the end of the agent's current long-poll claim: it asks for work until then (0006)
    ts("claim_until"),
    sa.Column("team", sa.String(100)),
    sa.Column("metadata", JSONType, nullable=False),
    sa.Column("tasks_completed", sa.Integer, nullable=False, server_default="0"),
    sa.Column("tasks_failed", sa.Integer, nullable=False, server_default="0"),
    ts("created_at", nullable=False),
    ts("updated_at", nullable=False),
    sa.Index(None, "online", "status"),
)

agent_capabilities = sa.Table(
    "agent_capabilities",
    metadata,
    sa.Column(
        "agent_id",
        sa.String(64),
        sa.ForeignKey("agents.agent_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("name", sa.String(200), primary_key=True),
    sa.Index(None, "name"),
)
