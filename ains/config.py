"""Settings, loaded once from `AINS_*` environment variables (and `ains serve` flags)."""

from __future__ import annotations

import ipaddress
from functools import cached_property

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite:///./ains.db"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="AINS_", extra="ignore")

    database_url: str = DEFAULT_DATABASE_URL
    redis_url: str | None = None  # reserved for the routing cache; the server runs without it
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    log_level: str = "info"
    migrate_on_start: bool = True

    agent_offline_after: float = Field(30.0, gt=0)
    lease_seconds: float = Field(60.0, gt=0)
    max_batch_size: int = Field(100, ge=1)
    max_body_bytes: int = Field(1_048_576, ge=1024)
    max_page_size: int = Field(500, ge=1)
    max_wait_seconds: float = Field(30.0, ge=0)

    # Queue fairness: a waiting task gains one priority level per `aging_interval` seconds;
    # 0 disables aging (strict priority).
    aging_interval: float = Field(60.0, ge=0)
    # A task whose deadline is nearer than this many seconds is escalated to priority 10.
    deadline_escalation_seconds: float = Field(60.0, ge=0)
    # Default timeout per task type, as JSON: {"translate": 30}.
    task_type_timeouts: dict[str, float] = {}

    idempotency_ttl_seconds: float = Field(86_400.0, gt=0)
    # a schedule's due time later than this is a missed run (missed_run_policy decides)
    schedule_misfire_grace_seconds: float = Field(60.0, ge=0)

    webhook_allowed_hosts: list[str] = []
    webhook_timeout_seconds: float = Field(5.0, gt=0)
    webhook_max_concurrency: int = Field(32, ge=1)
    # attempts per delivery (the first and its retries); a delivery that fails them all is one
    # failed delivery, and 10 of those in a row disable the webhook
    webhook_max_attempts: int = Field(8, ge=1, le=50)
    webhook_retry_base_seconds: float = Field(1.0, gt=0)  # doubled per retry, capped at 60 s

    # Retention (ains/maintenance): rows older than this many days are pruned, per kind; a
    # per-kind setting left unset takes retention_days; 0 keeps that kind forever.
    retention_days: float = Field(7.0, ge=0)
    retention_tasks_days: float | None = Field(None, ge=0)
    retention_events_days: float | None = Field(None, ge=0)
    retention_deliveries_days: float | None = Field(None, ge=0)
    retention_executions_days: float | None = Field(None, ge=0)
    retention_trust_days: float | None = Field(None, ge=0)
    retention_audit_days: float | None = Field(None, ge=0)
    retention_interval_seconds: float = Field(3600.0, ge=0)  # 0: no background pruning
    retention_batch_size: int = Field(1000, ge=1, le=50_000)
    archive_dir: str | None = None  # JSON Lines of every pruned row, written before the delete

    encryption_keys: str | None = None  # "kid1:base64key,kid2:base64key"; the first encrypts
    jwt_secret: str | None = None
    jwt_public_key: str | None = None
    jwt_algorithm: str = "HS256"

    @cached_property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @cached_property
    def listens_on_loopback_only(self) -> bool:
        if self.host in ("localhost", ""):
            return self.host == "localhost"
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False
