"""webhook fan-out cursor

Revision ID: 0002_webhook_cursor
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import ains.db.base

revision: str = "0002_webhook_cursor"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "webhook_cursor",
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column(
            "last_event_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=False,
        ),
        sa.Column("updated_at", ains.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_webhook_cursor")),
    )
    # Start after the events that already exist: webhooks are for what happens from now on.
    op.execute(
        "INSERT INTO webhook_cursor (name, last_event_id) "
        "SELECT 'webhooks', COALESCE(MAX(event_id), 0) FROM events"
    )


def downgrade() -> None:
    op.drop_table("webhook_cursor")
