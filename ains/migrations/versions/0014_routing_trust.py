"""Routing explanations and trust per capability.

`routing_decisions`: one row per routing pass that handed out tasks, with every candidate agent
and the rule that chose or refused it; `task_attempts.routing_id` points at it.
`trust_records.capability`: which capability's score a record moved (null: the agent's).
`capability_trust`: trust per (agent, capability) with its automatic quarantine, seeded from each
agent's current score for every capability it offers.

Revision ID: 0014_routing_trust
Revises: 0013_a2a
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from ains.db.base import JSONType, UTCDateTime

revision: str = "0014_routing_trust"
down_revision: str | None = "0013_a2a"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "routing_decisions",
        sa.Column("routing_id", sa.String(64), nullable=False),
        sa.Column("capability", sa.String(200), nullable=False),
        sa.Column("agent_id", sa.String(64), nullable=False),
        sa.Column("tier", sa.String(20), nullable=False),
        sa.Column("candidates", JSONType, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("routing_id", name="pk_routing_decisions"),
    )
    op.create_index("ix_routing_decisions_created_at", "routing_decisions", ["created_at"])
    with op.batch_alter_table("task_attempts") as batch:
        batch.add_column(sa.Column("routing_id", sa.String(64), nullable=True))
    with op.batch_alter_table("trust_records") as batch:
        batch.add_column(sa.Column("capability", sa.String(200), nullable=True))
    op.create_table(
        "capability_trust",
        sa.Column("agent_id", sa.String(64), nullable=False),
        sa.Column("capability", sa.String(200), nullable=False),
        sa.Column("trust_score", sa.Float(), nullable=False),
        sa.Column("quarantined", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("canary_successes", sa.Integer(), server_default="0", nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("agent_id", "capability", name="pk_capability_trust"),
    )
    op.execute(
        "INSERT INTO capability_trust (agent_id, capability, trust_score, updated_at) "
        "SELECT a.agent_id, c.name, a.trust_score, a.updated_at "
        "FROM agents a JOIN agent_capabilities c ON c.agent_id = a.agent_id"
    )


def downgrade() -> None:
    op.drop_table("capability_trust")
    with op.batch_alter_table("trust_records") as batch:
        batch.drop_column("capability")
    with op.batch_alter_table("task_attempts") as batch:
        batch.drop_column("routing_id")
    op.drop_index("ix_routing_decisions_created_at", table_name="routing_decisions")
    op.drop_table("routing_decisions")
