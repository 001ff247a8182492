"""All SQL about task templates."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from ains.models import tasks, templates

TP = templates.c


async def get(conn: AsyncConnection, id_or_name: str) -> Row[Any] | None:
    stmt = sa.select(templates).where(sa.or_(TP.template_id == id_or_name, TP.name == id_or_name))
    return (await conn.execute(stmt.order_by(TP.template_id).limit(1))).first()


async def by_name(conn: AsyncConnection, name: str) -> Row[Any] | None:
    return (await conn.execute(sa.select(templates).where(TP.name == name))).first()


async def list_all(conn: AsyncConnection, limit: int) -> list[Row[Any]]:
    return list(await conn.execute(sa.select(templates).order_by(TP.name).limit(limit)))


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
