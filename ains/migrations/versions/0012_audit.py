"""The complete audit trail: the key used, the HTTP status of a denial or refusal and the
request id on every row; `ok` for what was `success`; indexes for the filters of
GET /ains/audit (action and key, each with time; request id).

Revision ID: 0012_audit
Revises: 0011_retention
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_audit"
down_revision: str | None = "0011_retention"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = [
    ("ix_audit_log_action_occurred_at", ["action", "occurred_at"]),
    ("ix_audit_log_key_id_occurred_at", ["key_id", "occurred_at"]),
    ("ix_audit_log_request_id", ["request_id"]),
]


def upgrade() -> None:
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.add_column(sa.Column("key_id", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("status", sa.SmallInteger(), nullable=True))
        batch_op.add_column(sa.Column("request_id", sa.String(length=128), nullable=True))
        for name, columns in INDEXES:
            batch_op.create_index(name, columns, unique=False)
    op.execute("UPDATE audit_log SET outcome = 'ok' WHERE outcome = 'success'")


def downgrade() -> None:
    op.execute("UPDATE audit_log SET outcome = 'success' WHERE outcome = 'ok'")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        for name, _columns in reversed(INDEXES):
            batch_op.drop_index(name)
        batch_op.drop_column("request_id")
        batch_op.drop_column("status")
        batch_op.drop_column("key_id")
