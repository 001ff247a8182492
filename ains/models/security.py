import sqlalchemy as sa

from ains.db.base import BigId, JSONType, id_column, metadata, ts

api_keys = sa.Table(
    "api_keys",
    metadata,
    id_column("key_id"),
    sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("key_prefix", sa.String(20), nullable=False),
    sa.Column("role", sa.String(10), nullable=False),
    sa.Column("principal_id", sa.String(200), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("team", sa.String(100)),
    ts("created_at", nullable=False),
    ts("revoked_at"),
    ts("expires_at"),
    sa.Index(None, "role", "revoked_at"),
)

audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    ts("occurred_at", nullable=False, index=True),
    sa.Column("principal_id", sa.String(200), nullable=False),
    sa.Column("role", sa.String(10), nullable=False),
    sa.Column("action", sa.String(100), nullable=False),
    sa.Column("target_type", sa.String(50)),
    sa.Column("target_id", sa.String(200)),
    sa.Column("outcome", sa.String(20), nullable=False),
    sa.Column("detail", JSONType),
    # 0012_audit: the key used, the HTTP status of a denial or refusal, the X-Request-ID
    sa.Column("key_id", sa.String(100)),
    sa.Column("status", sa.SmallInteger),
    sa.Column("request_id", sa.String(128)),
    sa.Index(None, "principal_id", "occurred_at"),
    sa.Index(None, "target_id"),
    sa.Index(None, "action", "occurred_at"),
    sa.Index(None, "key_id", "occurred_at"),
    sa.Index(None, "request_id"),
)

# One row per server-wide fact; `secured` exists once the first admin key has ever existed.
server_state = sa.Table(
    "server_state",
    metadata,
    sa.Column("name", sa.String(50), primary_key=True),
    sa.Column("value", sa.String(200), nullable=False),
    ts("updated_at", nullable=False),
)
