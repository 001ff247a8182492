"""All SQL about task templates."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from ains.models import tasks, templates
from ains.security.principals import Principal

TP = templates.c


def visible_to(principal_id: str, team: str | None) -> sa.ColumnElement[bool]:
    """Templates a non-admin may read and use: its own, and those shared with its team."""
    if team:
        return sa.or_(TP.owner_id == principal_id, TP.team == team)
    return TP.owner_id == principal_id


def viewer(principal: Principal) -> sa.ColumnElement[bool] | None:
    """The templates a principal may see; None for an admin (all of them)."""
    if principal.is_admin:
        return None
    return visible_to(principal.principal_id, principal.team)


async def get(
    conn: AsyncConnection, id_or_name: str, viewer: sa.ColumnElement[bool] | None, me: str
) -> Row[Any] | None:
    """By id, else by name among the templates `viewer` admits (None: all); the caller's own
    template of that name comes before a team-mate's."""
    stmt = sa.select(templates).where(sa.or_(TP.template_id == id_or_name, TP.name == id_or_name))
    if viewer is not None:
        stmt = stmt.where(viewer)
    order = (
        sa.case((TP.template_id == id_or_name, 0), else_=1),
        sa.case((TP.owner_id == me, 0), else_=1),
        TP.created_at,
        TP.template_id,
    )
    return (await conn.execute(stmt.order_by(*order).limit(1))).first()


async def by_name(conn: AsyncConnection, owner_id: str, name: str) -> Row[Any] | None:
    stmt = sa.select(templates).where(TP.owner_id == owner_id, TP.name == name)
    return (await conn.execute(stmt)).first()


async def list_visible(
    conn: AsyncConnection, viewer: sa.ColumnElement[bool] | None, limit: int
) -> list[Row[Any]]:
    stmt = sa.select(templates).order_by(TP.name, TP.template_id).limit(limit)
    if viewer is not None:
        stmt = stmt.where(viewer)
    return list(await conn.execute(stmt))


async def insert(conn: AsyncConnection, row: dict[str, Any]) -> None:
    await conn.execute(sa.insert(templates).values(**row))


async def update(conn: AsyncConnection, template_id: str, values: dict[str, Any]) -> None:
    await conn.execute(sa.update(templates).where(TP.template_id == template_id).values(**values))


async def delete(conn: AsyncConnection, template_id: str) -> None:
    await conn.execute(sa.delete(templates).where(TP.template_id == template_id))


async def set_task_template(conn: AsyncConnection, task_id: str, template_id: str) -> None:
    await conn.execute(
        sa.update(tasks).where(tasks.c.task_id == task_id).values(template_id=template_id)
    )
