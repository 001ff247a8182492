"""server_state: the persistent `secured` flag that ends protected mode for good

A database that already holds an admin key (revoked or not) is secured: protected mode must not
come back once an admin key has ever existed.

Revision ID: 0006_server_state
Revises: 0005_analytics_rollup
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import ains.db.base

revision: str = "0006_server_state"
down_revision: str | None = "0005_analytics_rollup"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "server_state",
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("value", sa.String(length=200), nullable=False),
        sa.Column("updated_at", ains.db.base.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_server_state")),
    )
    op.execute(
        "INSERT INTO server_state (name, value, updated_at) "
        "SELECT 'secured', 'true', (SELECT MIN(created_at) FROM api_keys WHERE role = 'admin') "
        "WHERE EXISTS (SELECT 1 FROM api_keys WHERE role = 'admin')"
    )


def downgrade() -> None:
    op.drop_table("server_state")
