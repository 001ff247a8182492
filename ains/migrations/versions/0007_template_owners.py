"""Templates belong to their owner (and a team they are shared with): names are unique per
owner instead of globally. Existing templates keep the owner that created them (owner_id was
always recorded) and are shared with nobody.

Downgrading restores the global unique name, so it fails while two owners share a name.

Revision ID: 0007_template_owners
Revises: 0006_server_state
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_template_owners"
down_revision: str | None = "0006_server_state"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("templates") as batch_op:
        batch_op.add_column(sa.Column("team", sa.String(length=100), nullable=True))
        batch_op.drop_constraint("uq_templates_name", type_="unique")
        batch_op.create_unique_constraint("uq_templates_owner_id_name", ["owner_id", "name"])


def downgrade() -> None:
    with op.batch_alter_table("templates") as batch_op:
        batch_op.drop_constraint("uq_templates_owner_id_name", type_="unique")
        batch_op.create_unique_constraint("uq_templates_name", ["name"])
        batch_op.drop_column("team")
