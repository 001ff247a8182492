"""A partial index on `tasks.deadline`: the deadline loop's queue escalation reads only the tasks
that carry a deadline, not every waiting task.

Without it both queries of the escalation duty (the next deadline, the tasks due) read every
PENDING task through the status index: ~70 ms each on PostgreSQL with 200,000 tasks queued,
several times a minute (bench.backlog with the statement log on).

Revision ID: 0015_deadline_index
Revises: 0014_routing_trust
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015_deadline_index"
down_revision: str | None = "0014_routing_trust"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    has_deadline = sa.text("deadline IS NOT NULL")
    op.create_index(
        "idx_tasks_deadline",
        "tasks",
        ["deadline"],
        sqlite_where=has_deadline,
        postgresql_where=has_deadline,
    )


def downgrade() -> None:
    op.drop_index("idx_tasks_deadline", table_name="tasks")
