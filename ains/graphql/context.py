"""What every resolver is handed: the services, the caller, and the operation's DataLoaders.

The principal is resolved like REST's (`Authorization: Bearer <api key or JWT>`): for HTTP
before the operation runs (a refusal is REST's problem+json 401), for a WebSocket from the
upgrade request's header, its `?token=`, or the `Authorization` of `connection_init`'s payload
(see `endpoints.GraphQLEndpoint.on_ws_connect`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeAlias

from strawberry.dataloader import DataLoader
from strawberry.fastapi import BaseContext
from strawberry.types import Info as StrawberryInfo

from ains.exceptions import Unauthorized
from ains.security.principals import Principal

if TYPE_CHECKING:
    from ains.services import Services

# (task id, whether it is sealed): the batched readers unseal what they read
TaskKey: TypeAlias = tuple[str, bool]
Views: TypeAlias = list[dict[str, Any]]


class Loaders:
    """Batched readers for one operation: every task, attempt list and history asked for by
    the operation's resolvers in one event-loop turn is read with one statement."""

    def __init__(self, services: Services, principal: Principal) -> None:
        self._services = services
        self._principal = principal
        self.tasks: DataLoader[str, dict[str, Any] | None] = DataLoader(self._tasks)
        self.attempts: DataLoader[TaskKey, Views] = DataLoader(self._attempts)
        self.histories: DataLoader[TaskKey, Views] = DataLoader(self._histories)

    async def _tasks(self, task_ids: list[str]) -> list[dict[str, Any] | None]:
        services = self._services
        async with services.db.read() as conn:
            found = await services.tasks.visible_many(conn, self._principal, task_ids)
        return [found.get(task_id) for task_id in task_ids]

    async def _attempts(self, keys: list[TaskKey]) -> list[Views]:
        async with self._services.db.read() as conn:
            found = await self._services.tasks.attempts_of(conn, dict(keys))
        return [found[task_id] for task_id, _ in keys]

    async def _histories(self, keys: list[TaskKey]) -> list[Views]:
        async with self._services.db.read() as conn:
            found = await self._services.tasks.histories_of(conn, dict(keys))
        return [found[task_id] for task_id, _ in keys]


class Context(BaseContext):
    def __init__(
        self, services: Services, authorization: str | None = None, peer: str | None = None
    ) -> None:
        super().__init__()
        self.services = services
        self.authorization = authorization
        self.peer = peer
        self.principal_or_none: Principal | None = None
        self._loaders: Loaders | None = None

    @property
    def principal(self) -> Principal:
        if self.principal_or_none is None:  # a WebSocket that has not said connection_init
            raise Unauthorized("credentials required: send Authorization: Bearer <api key>")
        return self.principal_or_none

    @property
    def loaders(self) -> Loaders:
        if self._loaders is None:
            self._loaders = Loaders(self.services, self.principal)
        return self._loaders

    def fresh_loaders(self) -> None:
        """A WebSocket's context lives as long as the connection: each operation (and each
        message of a subscription) reads afresh rather than from an earlier one's cache."""
        self._loaders = None


Info: TypeAlias = StrawberryInfo[Context, None]
