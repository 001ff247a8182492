"""Request bodies for /aitp/webhooks."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator

EVENT_TYPES = frozenset(
    {
        "task.created",
        "task.assigned",
        "task.started",
        "task.completed",
        "task.failed",
        "task.retrying",
        "task.dead_lettered",
        "task.cancelled",
        "task.timed_out",
        "task.requeued",
        "task.released",
        "batch.completed",
        "schedule.fired",
        "agent.online",
        "agent.offline",
    }
)
WILDCARDS = frozenset({"*", "task.*", "agent.*", "batch.*", "schedule.*"})


def _check_events(events: list[str]) -> list[str]:
    unknown = [e for e in events if e not in EVENT_TYPES and e not in WILDCARDS]
    if unknown:
        raise ValueError(
            f"unknown event types {unknown}; known: {sorted(EVENT_TYPES)} or a wildcard "
            f"{sorted(WILDCARDS)}"
        )
    return list(dict.fromkeys(events))


class WebhookIn(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    url: str = Field(min_length=1, max_length=2000)
    events: list[str] = Field(default_factory=lambda: ["*"], min_length=1, max_length=50)
    secret: str | None = Field(None, min_length=1, max_length=200)
    enabled: bool = True
    description: str | None = Field(None, max_length=500)
    # The seed's owner field: an admin registers a webhook on behalf of an agent (`agentid`)
    # or a client (`client_id`); anyone else owns the webhooks they register.
    agent_id: str | None = Field(
        None, max_length=200, validation_alias=AliasChoices("agentid", "agent_id")
    )
    client_id: str | None = Field(None, max_length=200)

    _events = field_validator("events")(_check_events)


class WebhookPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str | None = Field(None, min_length=1, max_length=2000)
    events: list[str] | None = Field(None, min_length=1, max_length=50)
    secret: str | None = Field(None, min_length=1, max_length=200)
    enabled: bool | None = None
    description: str | None = Field(None, max_length=500)

    @field_validator("events")
    @classmethod
    def _valid_events(cls, events: list[str] | None) -> list[str] | None:
        return None if events is None else _check_events(events)


def matches(subscribed: list[str], event_type: str) -> bool:
    """Whether a webhook subscribed to ``subscribed`` wants ``event_type``."""
    if event_type in subscribed or "*" in subscribed:
        return True
    return f"{event_type.split('.', 1)[0]}.*" in subscribed


# --- answers ----------------------------------------------------------------------------------


class WebhookOut(BaseModel):
    webhook_id: str
    url: str
    events: list[str]
    enabled: bool
    description: str | None
    owner_id: str
    owner_role: str
    consecutive_failures: int
    disabled_reason: str | None
    created_at: datetime
    updated_at: datetime


class CreatedWebhookOut(WebhookOut):
    """A new webhook, with its signing secret shown this once."""

    secret: str


class WebhookList(BaseModel):
    items: list[WebhookOut]
    count: int


class DeliveryAttemptOut(BaseModel):
    attempt_id: int
    delivery_id: str
    attempted_at: datetime
    status_code: int | None
    latency_ms: float | None
    success: bool
    error: str | None


class WebhookLogOut(DeliveryAttemptOut):
    event_id: int | None
    event_type: str | None


class WebhookLogs(BaseModel):
    webhook_id: str
    items: list[WebhookLogOut]
    count: int


class DeliveryOut(BaseModel):
    delivery_id: str
    event_id: int | None
    event_type: str | None
    status: str
    attempts: int
    last_status_code: int | None
    last_error: str | None
    next_attempt_at: datetime | None
    created_at: datetime
    delivered_at: datetime | None
    payload: Any
    attempt_log: list[DeliveryAttemptOut]


class WebhookDeliveries(BaseModel):
    webhook_id: str
    items: list[DeliveryOut]
    count: int


class WebhookTestOut(BaseModel):
    webhook_id: str
    delivery_id: str
    success: bool
    status_code: int | None
    latency_ms: float | None
    error: str | None
