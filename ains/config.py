"""Settings, loaded once from `AINS_*` environment variables (and `ains serve` flags)."""

from __future__ import annotations

import ipaddress
import json
import re
from functools import cached_property
from typing import Annotated, Any

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from ains.security.crypto import KeyConfigError, KeyRing
from ains.security.ratelimit import Rules, parse_rate_limits
from ains.webhooks.ssrf import AllowList

DEFAULT_DATABASE_URL = "sqlite:///./ains.db"
REDIS_SCHEMES = ("redis", "rediss", "unix")
_HOST_NAME = re.compile(r"^[A-Za-z0-9_]([A-Za-z0-9_.-]{0,252})$")
LOG_LEVELS = ("critical", "error", "warning", "info", "debug", "trace")
# Settings whose values are never echoed back in an error message.
SECRET_SETTINGS = frozenset({"encryption_keys", "jwt_secret", "metrics_token", "jwt_public_key"})


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="AINS_", extra="ignore")

    database_url: str = DEFAULT_DATABASE_URL
    # optional; when set, rate-limit counters live there, shared by every replica, and cache
    # invalidations (a key revoked or created) also travel over its pub/sub
    redis_url: str | None = None
    # seconds a replica trusts its cached answer for an API key (revocations reach every
    # replica at once through the bus / Redis; this bounds a lost message); 0: no cache
    key_cache_seconds: float = Field(5.0, ge=0, le=3600)
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = Field(1, ge=1)
    log_level: str = "info"
    migrate_on_start: bool = True
    # after SIGTERM, seconds in-flight requests have to finish (parked claims and streams are
    # answered at once) before what is left is cancelled
    drain_seconds: float = Field(1.5, gt=0, le=600)

    agent_offline_after: float = Field(30.0, gt=0)
    # trust per (agent, capability): idle scores decay toward 0.5 with this half-life; below
    # `trust_quarantine_below` the pair is quarantined (one canary task at a time) until
    # `trust_canary_successes` canaries in a row succeed
    trust_decay_half_life_hours: float = Field(24.0, gt=0)
    trust_quarantine_below: float = Field(0.2, ge=0, lt=0.5)
    trust_canary_successes: int = Field(3, ge=1, le=1000)
    lease_seconds: float = Field(60.0, gt=0)
    max_batch_size: int = Field(100, ge=1)
    max_body_bytes: int = Field(1_048_576, ge=1024)
    max_page_size: int = Field(500, ge=1)
    # deepest nesting of a request body; orjson cannot serialise past 255 levels
    max_json_depth: int = Field(64, ge=2, le=200)
    max_wait_seconds: float = Field(30.0, ge=0)

    # The edge (see ains/edge.py): a connection must send its request headers, then its body,
    # within these many seconds; a process holds at most `max_connections` connections (kept
    # to half the open-file limit, so the database always has descriptors).
    header_timeout: float = Field(10.0, gt=0)
    body_timeout: float = Field(30.0, gt=0)
    max_connections: int = Field(4096, ge=1)
    # open SSE + WebSocket streams per principal, per process
    max_streams_per_principal: int = Field(10, ge=1)
    # how often open streams re-check their API keys (revocations whose message was lost)
    stream_key_recheck_seconds: float = Field(1.0, gt=0, le=60)

    # GraphQL (/graphql): the deepest selection and the highest estimated cost of one operation
    # (see ains/graphql/limits.py); `graphql_count_statements` adds the number of SQL statements
    # an operation ran to its response's `extensions` (a debugging aid, off in production)
    graphql_max_depth: int = Field(10, ge=2, le=100)
    graphql_max_cost: int = Field(20_000, ge=1)
    graphql_count_statements: bool = False

    # Queue fairness: a waiting task gains one priority level per `aging_interval` seconds;
    # 0 disables aging (strict priority).
    aging_interval: float = Field(60.0, ge=0)
    # A task whose deadline is nearer than this many seconds is escalated to priority 10.
    deadline_escalation_seconds: float = Field(60.0, ge=0)
    # Default timeout per task type, as JSON: {"translate": 30}.
    task_type_timeouts: Annotated[dict[str, Annotated[float, Field(gt=0)]], NoDecode] = {}

    idempotency_ttl_seconds: float = Field(86_400.0, gt=0)
    # a schedule's due time later than this is a missed run (missed_run_policy decides)
    schedule_misfire_grace_seconds: float = Field(60.0, ge=0)

    # hosts, IP addresses or CIDRs: comma-separated or a JSON list
    webhook_allowed_hosts: Annotated[list[str], NoDecode] = []
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
    retention_routing_days: float | None = Field(None, ge=0)  # routing_decisions
    retention_audit_days: float | None = Field(None, ge=0)
    retention_interval_seconds: float = Field(3600.0, ge=0)  # 0: no background pruning
    retention_batch_size: int = Field(1000, ge=1, le=50_000)
    archive_dir: str | None = None  # JSON Lines of every pruned row, written before the delete

    encryption_keys: str | None = None  # "kid1:base64key,kid2:base64key"; the first encrypts
    jwt_secret: str | None = None
    jwt_public_key: str | None = None
    jwt_algorithm: str = "HS256"
    # signing keys published by an identity provider (cached; refetched on an unknown kid)
    jwt_jwks_url: str | None = None
    jwt_jwks_cache_seconds: float = Field(300.0, gt=0)
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

    @field_validator("port")
    @classmethod
    def _port(cls, value: int) -> int:
        if not 1 <= value <= 65535:
            raise ValueError("expected a port number from 1 to 65535")
        return value

    @field_validator("log_level")
    @classmethod
    def _log_level(cls, value: str) -> str:
        if value.lower() not in LOG_LEVELS:
            raise ValueError(f"expected one of {', '.join(LOG_LEVELS)}")
        return value.lower()

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        scheme, sep, _rest = value.partition("://")
        from ains.db import dialect  # SQLAlchemy: not for the commands that never open a database

        if not sep or scheme.lower() not in dialect.URL_SCHEMES:
            raise ValueError(
                "expected sqlite:///path/to/file.db or postgresql://user@host:port/database "
                "(AINS supports SQLite and PostgreSQL only)"
            )
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: str | None) -> str | None:
        if value is not None and value.partition("://")[0].lower() not in REDIS_SCHEMES:
            raise ValueError("expected redis://host:port/db, rediss://… or unix://…")
        return value

    @field_validator("jwt_jwks_url")
    @classmethod
    def _jwks_url(cls, value: str | None) -> str | None:
        if value is not None and value.partition("://")[0].lower() not in ("http", "https"):
            raise ValueError("expected an http(s) URL of a JSON Web Key Set")
        return value

    @field_validator("task_type_timeouts", mode="before")
    @classmethod
    def _json_object(cls, value: Any) -> Any:
        if isinstance(value, str):
            parsed = _json(value, 'a JSON object of task type to seconds, e.g. {"translate": 30}')
            if not isinstance(parsed, dict):
                raise ValueError('expected a JSON object of task type to seconds, e.g. {"t": 30}')
            return parsed
        return value

    @field_validator("webhook_allowed_hosts", mode="before")
    @classmethod
    def _host_list(cls, value: Any) -> Any:
        return _list(value, "hosts, IP addresses or CIDRs")

    @field_validator("webhook_allowed_hosts")
    @classmethod
    def _allowed_hosts(cls, value: list[str]) -> list[str]:
        for entry in value:
            try:
                parsed = AllowList.parse([entry])
            except ValueError:
                parsed = None
            if parsed is None or (parsed.hosts and not _HOST_NAME.match(entry)):
                raise ValueError(
                    f"{entry!r} is not a host name, IP address or CIDR; expected e.g. "
                    "hooks.internal,10.0.0.0/8,127.0.0.1"
                )
        return value

    @field_validator("metrics_allow", mode="before")
    @classmethod
    def _networks(cls, value: Any) -> Any:
        parts = _list(value, "CIDR networks")
        if not isinstance(parts, list):
            return value
        for part in parts:
            try:
                ipaddress.ip_network(part, strict=False)
            except ValueError as exc:
                raise ValueError(f"{part!r} is not a CIDR network, e.g. 10.0.0.0/8") from exc
        return ",".join(parts)

    @field_validator("encryption_keys")
    @classmethod
    def _key_ring(cls, value: str | None) -> str | None:
        try:
            KeyRing.from_config(value)
        except KeyConfigError as exc:
            raise ValueError(f"{exc}; expected kid:<urlsafe-base64 32-byte key>,…") from None
        return value

    @cached_property
    def metrics_networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        return tuple(ipaddress.ip_network(p, strict=False) for p in _split(self.metrics_allow))

    @cached_property
    def rate_limit_rules(self) -> Rules:
        return parse_rate_limits(self.rate_limits)

    @cached_property
    def single_writer(self) -> bool:
        """The database allows one writer, hence one server process (SQLite)."""
        from ains.db import dialect

        return dialect.url_has_single_writer(self.database_url)

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


def _json(value: str, expected: str) -> Any:
    try:
        return json.loads(value)
    except json.JSONDecodeError as exc:
        raise ValueError(f"malformed JSON ({exc}); expected {expected}") from None


def _list(value: Any, what: str) -> Any:
    """A list setting from the environment: a JSON list, or the shell-usual comma-separated."""
    if not isinstance(value, str):
        return value
    if not value.lstrip().startswith("["):
        return _split(value)
    parsed = _json(value, f"a JSON list of {what}, or a comma-separated list")
    if not isinstance(parsed, list) or not all(isinstance(p, str) for p in parsed):
        raise ValueError(f"expected a JSON list of {what} as strings, or a comma-separated list")
    return [p.strip() for p in parsed if p.strip()]
