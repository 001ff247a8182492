"""Indexes for fair queue ordering and for the deadline loop.

Revision ID: 0003_queue_indexes
Revises: 0002_webhook_cursor
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_queue_indexes"
down_revision: str | None = "0002_webhook_cursor"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PENDING = sa.text("status = 'PENDING'")
INDEXES = [
    ("idx_tasks_fair_head", ["capability_required", "priority", "queue_key"], PENDING),
    (
        "idx_tasks_fair_client",
        ["capability_required", "priority", "client_id", "queue_key"],
        PENDING,
    ),
    ("idx_tasks_lease", ["lease_expires_at"], sa.text("lease_expires_at IS NOT NULL")),
    ("idx_tasks_timeout", ["timeout_at"], sa.text("timeout_at IS NOT NULL")),
    ("idx_tasks_retry", ["next_retry_at"], sa.text("status = 'RETRY_SCHEDULED'")),
]


def upgrade() -> None:
    for name, columns, where in INDEXES:
        op.create_index(name, "tasks", columns, sqlite_where=where, postgresql_where=where)


def downgrade() -> None:
    for name, _, _ in INDEXES:
        op.drop_index(name, table_name="tasks")
