"""Who is calling, and what they may see and change."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from ains.exceptions import FieldError, Forbidden

Role = Literal["admin", "client", "agent"]
ROLES: tuple[Role, ...] = ("admin", "client", "agent")


@dataclass(frozen=True)
class Principal:
    role: Role
    principal_id: str
    team: str | None = None
    key_id: str | None = None

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def actor(self) -> str:
        return f"{self.role}:{self.principal_id}"


LOCAL_ADMIN = Principal(role="admin", principal_id="local-admin")


def can_view_task(principal: Principal, task: Mapping[str, Any]) -> bool:
    if principal.is_admin or task["visibility"] == "public":
        return True
    me = principal.principal_id
    if me in (task["client_id"], task["assigned_agent_id"]):
        return True
    if task["visibility"] == "team" and principal.team and principal.team == task["team"]:
        return True
    return me in (task["allowed_viewers"] or ())


def can_change_task(principal: Principal, task: Mapping[str, Any]) -> bool:
    return principal.is_admin or principal.principal_id == task["client_id"]


def acting_client_id(principal: Principal, requested: str | None, verb: str = "submit") -> str:
    """The client a task (or schedule) is made for: the one ``requested``, or the caller.
    Only an admin may act for another client."""
    if requested is None:
        return principal.principal_id
    if not principal.is_admin and requested != principal.principal_id:
        raise Forbidden(
            f"client_id: a {principal.role} key may only {verb} as {principal.principal_id}",
            errors=[FieldError("client_id", "does not match the caller")],
        )
    return requested
