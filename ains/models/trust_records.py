import sqlalchemy as sa

from ains.db.base import BigId, metadata, ts

trust_records = sa.Table(
    "trust_records",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("agent_id", sa.String(64), nullable=False),
    sa.Column("task_id", sa.String(64)),
    # null: the agent's overall score; else the capability whose score moved (0014)
    sa.Column("capability", sa.String(200)),
    sa.Column("delta", sa.Float, nullable=False),
    sa.Column("trust_score", sa.Float, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("actor", sa.String(250)),
    ts("created_at", nullable=False),
    sa.Index("idx_trust_agent_score", "agent_id", sa.text("trust_score DESC")),
    sa.Index(None, "agent_id", "id"),
    sa.Index(None, "created_at"),  # retention (0007)
)
