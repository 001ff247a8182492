import sqlalchemy as sa

from ains.db.base import BigId, UTCDateTime, metadata, ts

# Finished tasks (COMPLETED, FAILED, CANCELLED, TIMED_OUT) summed per hour of `created_at`,
# per status, for three dimensions: dim 'all' (key ''), 'agent' (key = last assigned agent,
# '' when never assigned) and 'type' (key = task_type); the same per UTC day as dims 'all:d',
# 'agent:d', 'type:d' (`hour` = the day's start). Database triggers on `tasks` append
# every change to a finished task's figures to `task_rollup_deltas` (insert-only, so writers
# never contend); ains/analytics/rollup.py folds the deltas into `task_rollups`. Readers add
# both, so figures are exact whether or not the deltas were folded yet (migration 0005).
task_rollups = sa.Table(
    "task_rollups",
    metadata,
    sa.Column("dim", sa.String(8), primary_key=True),
    sa.Column("hour", UTCDateTime(), primary_key=True),
    sa.Column("key", sa.String(200), primary_key=True),
    sa.Column("status", sa.String(20), primary_key=True),
    sa.Column("n", sa.Integer, nullable=False),
    sa.Column("exec_sum", sa.Float),
    sa.Column("exec_n", sa.Integer, nullable=False),
    sa.Column("cost_sum", sa.Float),
    sa.Column("quality_sum", sa.Float),
    sa.Column("quality_n", sa.Integer, nullable=False),
    sa.Index("idx_task_rollups_key", "dim", "key", "hour"),  # one agent's figures
)

task_rollup_deltas = sa.Table(
    "task_rollup_deltas",
    metadata,
    sa.Column("delta_id", BigId, primary_key=True, autoincrement=True),
    ts("hour", nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("agent_id", sa.String(64)),
    sa.Column("task_type", sa.String(200), nullable=False),
    sa.Column("n", sa.Integer, nullable=False),
    sa.Column("exec_sum", sa.Float),
    sa.Column("exec_n", sa.Integer, nullable=False),
    sa.Column("cost_sum", sa.Float),
    sa.Column("quality_sum", sa.Float),
    sa.Column("quality_n", sa.Integer, nullable=False),
)
