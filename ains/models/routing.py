import sqlalchemy as sa

from ains.db.base import JSONType, metadata, ts

# One row per routing pass that handed out tasks: a claim's share of one capability's waiting
# work, with every agent offering the capability as the router saw it (load, trust, score, the
# rule that chose or refused it). The attempts it created point at it (task_attempts.routing_id),
# so recording costs one insert per claim, not one per task. (0014)
routing_decisions = sa.Table(
    "routing_decisions",
    metadata,
    sa.Column("routing_id", sa.String(64), primary_key=True),
    sa.Column("capability", sa.String(200), nullable=False),
    sa.Column("agent_id", sa.String(64), nullable=False),
    sa.Column("tier", sa.String(20), nullable=False),
    sa.Column("candidates", JSONType, nullable=False),
    ts("created_at", nullable=False, index=True),  # retention
)

# Trust per (agent, capability), with its automatic quarantine. No row: neutral (0.5). (0014)
capability_trust = sa.Table(
    "capability_trust",
    metadata,
    sa.Column("agent_id", sa.String(64), primary_key=True),
    sa.Column("capability", sa.String(200), primary_key=True),
    sa.Column("trust_score", sa.Float, nullable=False),
    sa.Column("quarantined", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("canary_successes", sa.Integer, nullable=False, server_default="0"),
    ts("updated_at", nullable=False),
)
