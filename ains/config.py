"""Settings, loaded once from `AINS_*` environment variables (and `ains serve` flags)."""

from __future__ import annotations

import ipaddress
from functools import cached_property

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from ains.security.ratelimit import Rules, parse_rate_limits

DEFAULT_DATABASE_URL = "sqlite:///./ains.db"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="AINS_", extra="ignore")

    database_url: str = DEFAULT_DATABASE_URL
    # optional; when set, rate-limit counters live there, shared by every replica
    redis_url: str | None = None
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

    # The edge (see ains/edge.py): a connection must send its request headers, then its body,
    # within these many seconds; a process holds at most `max_connections` connections (kept
    # to half the open-file limit, so the database always has descriptors).
    header_timeout: float = Field(10.0, gt=0)
    body_timeout: float = Field(30.0, gt=0)
    max_connections: int = Field(4096, ge=1)
    # open SSE + WebSocket streams per principal, per process
    max_streams_per_principal: int = Field(10, ge=1)

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

    encryption_keys: str | None = None  # "kid1:base64key,kid2:base64key"; the first encrypts
    jwt_secret: str | None = None
    jwt_public_key: str | None = None
    jwt_algorithm: str = "HS256"
    # when set, a JWT must carry this `aud` / `iss`
    jwt_audience: str | None = None
    jwt_issuer: str | None = None

    # Failed authentications a source address may make per window before it gets 429.
    auth_failure_limit: int = Field(30, ge=1)
    auth_failure_window_seconds: float = Field(60.0, gt=0)
    # Repeated denials of one (address, principal, reason) within this window are one audit row.
    audit_denial_window_seconds: float = Field(60.0, gt=0)

    # Requests per principal and route class (submit, claim, report, read, admin), in the
    # `limits` notation ("2000/second", "100/minute;10/second"), JSON; classes not named keep
    # their defaults (ains/security/ratelimit.py), null lifts a class's limit.
    rate_limits: dict[str, str | None] = {}
    # prefix of the rate-limit keys in Redis (replicas sharing counters must share it)
    rate_limit_key_prefix: str = Field("ains:ratelimit", min_length=1)

    @field_validator("rate_limits")
    @classmethod
    def _rate_limits(cls, value: dict[str, str | None]) -> dict[str, str | None]:
        parse_rate_limits(value)  # raises a ValueError naming AINS_RATE_LIMITS
        return value

    # /metrics: a Bearer token that may scrape from anywhere, and the networks that may scrape
    # without it (comma-separated CIDRs).
    metrics_token: str | None = None
    metrics_allow: str = "127.0.0.0/8,::1"

    @field_validator("metrics_allow")
    @classmethod
    def _networks(cls, value: str) -> str:
        for part in _split(value):
            try:
                ipaddress.ip_network(part, strict=False)
            except ValueError as exc:
                raise ValueError(f"AINS_METRICS_ALLOW: {part!r} is not a CIDR network") from exc
        return value

    @cached_property
    def metrics_networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        return tuple(ipaddress.ip_network(p, strict=False) for p in _split(self.metrics_allow))

    @cached_property
    def rate_limit_rules(self) -> Rules:
        return parse_rate_limits(self.rate_limits)

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


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]
