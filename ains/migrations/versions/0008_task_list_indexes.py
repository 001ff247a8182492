"""Indexes for a non-admin's task list, so that it never reads the whole tasks table: public
and team tasks by (visibility, team), and the few tasks shared through allowed_viewers.

Revision ID: 0008_task_list_indexes
Revises: 0007_template_owners
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_task_list_indexes"
down_revision: str | None = "0007_template_owners"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("idx_tasks_visibility", "tasks", ["visibility", "team"])
    op.create_index(
        "idx_tasks_shared",
        "tasks",
        ["task_id"],
        sqlite_where=sa.text("allowed_viewers <> '[]'"),
        postgresql_where=sa.text("allowed_viewers <> '[]'::jsonb"),
    )


def downgrade() -> None:
    op.drop_index("idx_tasks_shared", table_name="tasks")
    op.drop_index("idx_tasks_visibility", table_name="tasks")
