from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator

CAPABILITY = r"^[A-Za-z0-9][A-Za-z0-9_.:/@+-]{0,199}$"


class AgentIn(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    agent_id: str | None = Field(
        None,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$",
        validation_alias=AliasChoices("agent_id", "agentid"),
    )
    name: str = Field(min_length=1, max_length=200)
    capabilities: list[str] = Field(min_length=1, max_length=100)
    max_concurrency: int = Field(1, ge=1, le=10_000)
    metadata: dict[str, Any] = Field(default_factory=dict)
    team: str | None = Field(None, max_length=100)

    @field_validator("capabilities")
    @classmethod
    def _capabilities(cls, value: list[str]) -> list[str]:
        return _capability_names(value)


class HeartbeatIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    in_flight: list[str] | None = Field(None, max_length=10_000)


class AgentPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    trust_score: float | None = Field(None, ge=0, le=1)
    status: Literal["ACTIVE", "QUARANTINED"] | None = None
    max_concurrency: int | None = Field(None, ge=1, le=10_000)
    capabilities: list[str] | None = Field(None, min_length=1, max_length=100)
    reason: str = Field("admin change", min_length=1, max_length=2000)

    @field_validator("capabilities")
    @classmethod
    def _capabilities(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else _capability_names(value)


def _capability_names(value: list[str]) -> list[str]:
    for i, cap in enumerate(value):
        if not re.match(CAPABILITY, cap):
            raise ValueError(f"item {i} ({cap!r}) is not a capability name like translation:v1")
    return list(dict.fromkeys(value))


# --- answers ----------------------------------------------------------------------------------


class CapabilityTrustOut(BaseModel):
    """The agent's trust for one capability, as routing uses it now (decayed toward 0.5 while
    idle); `quarantined` pairs get one canary task at a time until enough of them succeed."""

    capability: str
    trust_score: float
    quarantined: bool
    canary_successes: int
    updated_at: datetime | None


class AgentOut(BaseModel):
    agent_id: str
    name: str
    capabilities: list[str]
    max_concurrency: int
    in_flight: int
    trust_score: float
    status: str
    online: bool
    last_heartbeat_at: datetime | None
    asking_for_work: bool
    claim_until: datetime | None
    team: str | None
    metadata: dict[str, Any]
    tasks_completed: int
    tasks_failed: int
    created_at: datetime
    updated_at: datetime
    capability_trust: list[CapabilityTrustOut]


class RegisteredAgentOut(AgentOut):
    """A new agent, with its API key shown this once (null when re-registering)."""

    api_key: str | None


class AgentPage(BaseModel):
    items: list[AgentOut]
    next_cursor: str | None


class TrustRecordOut(BaseModel):
    task_id: str | None
    capability: str | None  # null: the agent's overall score
    delta: float
    trust_score: float
    score_after: float
    reason: str | None
    actor: str | None
    created_at: datetime


class TrustPage(BaseModel):
    items: list[TrustRecordOut]
    next_cursor: str | None


class AgentHeartbeatOut(BaseModel):
    agent_id: str
    online: bool
    status: str
    cancel_task_ids: list[str]
    server_time: datetime
    heartbeat_interval_seconds: float
