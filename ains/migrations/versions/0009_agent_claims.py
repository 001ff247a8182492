"""Agents asking for work: `claim_until` is when the agent's current long-poll claim ends.

Routing happens when an agent claims, among the agents that are asking for work, so an agent
that registered but never claims is never handed a task.

Revision ID: 0009_agent_claims
Revises: 0008_task_list_indexes
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from ains.db.base import UTCDateTime

revision: str = "0009_agent_claims"
down_revision: str | None = "0008_task_list_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("agents") as batch:
        batch.add_column(sa.Column("claim_until", UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("agents") as batch:
        batch.drop_column("claim_until")
