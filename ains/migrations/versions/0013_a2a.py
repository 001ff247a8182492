"""A2A push notifications: a webhook may be about one task only (`task_id`).

Revision ID: 0013_a2a
Revises: 0012_audit
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013_a2a"
down_revision: str | None = "0012_audit"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("webhooks") as batch:
        batch.add_column(sa.Column("task_id", sa.String(64), nullable=True))
    op.create_index("ix_webhooks_task_id", "webhooks", ["task_id"])


def downgrade() -> None:
    op.drop_index("ix_webhooks_task_id", table_name="webhooks")
    with op.batch_alter_table("webhooks") as batch:
        batch.drop_column("task_id")
