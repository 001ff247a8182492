"""Covering indexes for the analytics aggregates and execution-time percentiles.

Revision ID: 0004_analytics_indexes
Revises: 0003_queue_indexes
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004_analytics_indexes"
down_revision: str | None = "0003_queue_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = [
    # every aggregate (summary, agents, task types, trends) reads only these columns, by
    # created_at range: an index-only scan instead of the wide rows
    (
        "idx_tasks_analytics",
        [
            "created_at",
            "status",
            "assigned_agent_id",
            "task_type",
            "client_id",
            "execution_ms",
            "cost",
            "quality_score",
        ],
    ),
    # percentiles on SQLite walk completed tasks in execution_ms order from the nearer end
    (
        "idx_tasks_execution",
        ["status", "execution_ms", "created_at", "client_id", "assigned_agent_id"],
    ),
]


def upgrade() -> None:
    for name, columns in INDEXES:
        op.create_index(name, "tasks", columns)


def downgrade() -> None:
    for name, _ in INDEXES:
        op.drop_index(name, table_name="tasks")
