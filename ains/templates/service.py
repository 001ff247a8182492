"""Named task templates: defaults for type, capability, input, priority, retry policy, timeout,
visibility and metadata. A task (or a batch) is created from a template with overrides.

Merge rule: a field given in the request replaces the template's; `input_data` and `metadata`,
when both are objects, are merged one level deep (the request's keys win, the template's other
keys stay). To drop a template key, override it with null."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncConnection

from ains.batches.schemas import BatchIn
from ains.batches.service import BatchService
from ains.clock import new_id
from ains.db.engine import Tx
from ains.exceptions import Conflict, FieldError, Forbidden, NotFound, Unprocessable
from ains.security.principals import Principal
from ains.tasks.schemas import TaskIn
from ains.tasks.service import TaskService
from ains.templates import repository as repo
from ains.templates.schemas import TemplateIn, TemplatePatch

MERGED_ONE_LEVEL = ("input_data", "metadata")


def merge(defaults: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """The task body a template plus overrides stands for (pure; see the module docstring)."""
    out = dict(defaults)
    for key, value in overrides.items():
        canonical = _canonical(key)
        base = out.get(canonical)
        if canonical in MERGED_ONE_LEVEL and isinstance(base, dict) and isinstance(value, dict):
            out[canonical] = {**base, **value}
        else:
            out.pop(canonical, None)
            out[canonical if canonical in _KNOWN else key] = value
    return out


_KNOWN = set(TaskIn.model_fields)
_UNDERSCORELESS = {name.replace("_", ""): name for name in _KNOWN}


def _canonical(key: str) -> str:
    return key if key in _KNOWN else _UNDERSCORELESS.get(key, key)


class TemplateService:
    def __init__(self, tasks: TaskService, batches: BatchService) -> None:
        self.tasks = tasks
        self.batches = batches
        self.clock = tasks.clock

    def view(self, row: Any) -> dict[str, Any]:
        return {
            "template_id": row.template_id,
            "name": row.name,
            "owner_id": row.owner_id,
            "team": row.team,
            "description": row.description,
            "defaults": row.defaults,
            "created_at": row.created_at,
            "updated_at": row.updated_at,
        }

    async def get(self, conn: AsyncConnection, principal: Principal, id_or_name: str) -> Any:
        """A template the principal may see; any other is as unknown as a missing one."""
        row = await repo.get(conn, id_or_name, repo.viewer(principal), principal.principal_id)
        if row is None:
            raise NotFound(f"template {id_or_name} not found")
        return row

    async def list(
        self, conn: AsyncConnection, principal: Principal, limit: int
    ) -> list[dict[str, Any]]:
        return [self.view(r) for r in await repo.list_visible(conn, repo.viewer(principal), limit)]

    async def create(self, tx: Tx, principal: Principal, body: TemplateIn) -> dict[str, Any]:
        if await repo.by_name(tx.conn, principal.principal_id, body.name) is not None:
            raise Conflict(f"you already have a template named {body.name}")
        now = self.clock()
        row: dict[str, Any] = {
            "template_id": new_id("tpl"),
            "name": body.name,
            "owner_id": principal.principal_id,
            "team": _team(principal, body.team),
            "description": body.description,
            "defaults": body.defaults(),
            "created_at": now,
            "updated_at": now,
        }
        await repo.insert(tx.conn, row)
        return self.view(await self.get(tx.conn, principal, row["template_id"]))

    def _changeable(self, principal: Principal, row: Any) -> None:
        if not principal.is_admin and principal.principal_id != row.owner_id:
            raise Forbidden(f"template {row.name} belongs to {row.owner_id}")

    async def update(
        self, tx: Tx, principal: Principal, id_or_name: str, body: TemplatePatch, *, replace: bool
    ) -> dict[str, Any]:
        row = await self.get(tx.conn, principal, id_or_name)
        self._changeable(principal, row)
        values: dict[str, Any] = {"updated_at": self.clock()}
        if body.name is not None and body.name != row.name:
            if await repo.by_name(tx.conn, row.owner_id, body.name) is not None:
                raise Conflict(f"{row.owner_id} already has a template named {body.name}")
            values["name"] = body.name
        if "description" in body.model_fields_set:
            values["description"] = body.description
        if "team" in body.model_fields_set:
            values["team"] = _team(principal, body.team)
        values["defaults"] = body.defaults() if replace else {**row.defaults, **body.defaults()}
        await repo.update(tx.conn, row.template_id, values)
        return self.view(await self.get(tx.conn, principal, row.template_id))

    async def delete(self, tx: Tx, principal: Principal, id_or_name: str) -> None:
        row = await self.get(tx.conn, principal, id_or_name)
        self._changeable(principal, row)
        await repo.delete(tx.conn, row.template_id)

    async def instantiate(
        self, tx: Tx, principal: Principal, id_or_name: str, body: dict[str, Any]
    ) -> tuple[str, dict[str, Any]]:
        """A task, or with `{"tasks": [overrides…]}` a batch; returns (kind, view)."""
        row = await self.get(tx.conn, principal, id_or_name)
        if "tasks" in body:
            batch_body = dict(body)
            overrides = batch_body.pop("tasks")
            if not isinstance(overrides, list):
                raise Unprocessable.field("tasks", "must be a list of override objects")
            batch_body["tasks"] = [
                merge(row.defaults, o if isinstance(o, dict) else {}) for o in overrides
            ]
            try:
                batch = BatchIn.model_validate(batch_body)
            except ValidationError as exc:
                raise _invalid(exc) from exc
            submitted = await self.batches.submit(tx, principal, batch, template_id=row.template_id)
            return "batch", submitted.batch
        try:
            item = TaskIn.model_validate(merge(row.defaults, body))
        except ValidationError as exc:
            raise _invalid(exc) from exc
        submitted_task = await self.tasks.submit(tx, principal, item)
        await repo.set_task_template(tx.conn, submitted_task.task["task_id"], row.template_id)
        return "task", {**submitted_task.task, "template_id": row.template_id}


def _team(principal: Principal, team: str | None) -> str | None:
    if team is not None and not principal.is_admin and team != principal.team:
        raise Unprocessable.field("team", "a template can only be shared with your own team")
    return team


def expand(defaults: dict[str, Any], overrides: dict[str, Any]) -> TaskIn:
    """The validated task a template plus overrides stands for (for schedules)."""
    try:
        return TaskIn.model_validate(merge(defaults, overrides))
    except ValidationError as exc:
        raise _invalid(exc) from exc


def _invalid(exc: ValidationError) -> Unprocessable:
    errors = [
        FieldError(".".join(str(p) for p in e.get("loc", ())) or "body", str(e["msg"]))
        for e in exc.errors()
    ]
    return Unprocessable("; ".join(f"{e.field}: {e.reason}" for e in errors), errors=errors)
