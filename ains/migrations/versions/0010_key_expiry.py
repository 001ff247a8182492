"""API keys may carry an expiry: `expires_at`, after which the key is refused.

Revision ID: 0010_key_expiry
Revises: 0009_agent_claims
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from ains.db.base import UTCDateTime

revision: str = "0010_key_expiry"
down_revision: str | None = "0009_agent_claims"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(sa.Column("expires_at", UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_column("expires_at")
