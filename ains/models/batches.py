import sqlalchemy as sa

from ains.db.base import JSONType, id_column, metadata, ts

batches = sa.Table(
    "batches",
    metadata,
    id_column("batch_id"),
    sa.Column("client_id", sa.String(200), nullable=False),
    sa.Column("total_tasks", sa.Integer, nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("options", JSONType, nullable=False),
    sa.Column("request_hash", sa.String(64)),
    ts("created_at", nullable=False),
    ts("completed_at"),
)

templates = sa.Table(
    "templates",
    metadata,
    id_column("template_id"),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("owner_id", sa.String(200), nullable=False),
    # shared with this team (read and use, not change); None: the owner's alone (0006)
    sa.Column("team", sa.String(100)),
    sa.Column("description", sa.Text),
    sa.Column("defaults", JSONType, nullable=False),
    ts("created_at", nullable=False),
    ts("updated_at", nullable=False),
    # names are unique per owner, not globally (0006): nobody can squat another's name
    sa.UniqueConstraint("owner_id", "name"),
)
