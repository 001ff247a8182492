"""API keys (admin): create, list, revoke (`/ains/keys`)."""

from __future__ import annotations

from ains_client._base import AsyncRequester, Call, Requester, drop_none
from ains_client._types import JSONObject, Page

__all__ = ["AsyncKeys", "Keys"]


def _create_call(role: str, principal_id: str, name: str, team: str | None) -> Call:
    body = {"role": role, "principal_id": principal_id, "name": name}
    body.update(drop_none(team=team))
    return Call("POST", "/ains/keys", json=body)


def _list_call(cursor: str | None, limit: int | None) -> Call:
    return Call("GET", "/ains/keys", params=drop_none(cursor=cursor, limit=limit))


class Keys:
    """Key calls of the synchronous `Client` (`client.keys`)."""

    def __init__(self, client: Requester) -> None:
        self._client = client

    def create(
        self, role: str, principal_id: str, name: str, *, team: str | None = None
    ) -> JSONObject:
        """Create a key for `role` (admin|client|agent); the answer's `api_key` is shown once."""
        result: JSONObject = self._client.send_call(_create_call(role, principal_id, name, team))
        return result

    def list(self, *, cursor: str | None = None, limit: int | None = None) -> Page:
        """One page of keys (never their secrets)."""
        return Page.from_json(self._client.send_call(_list_call(cursor, limit)))

    def revoke(self, key_id: str) -> None:
        """Revoke a key."""
        self._client.send_call(Call("DELETE", f"/ains/keys/{key_id}"))


class AsyncKeys:
    """Key calls of the `AsyncClient` (`client.keys`); see `Keys` for each call."""

    def __init__(self, client: AsyncRequester) -> None:
        self._client = client

    async def create(
        self, role: str, principal_id: str, name: str, *, team: str | None = None
    ) -> JSONObject:
        """Create a key for `role` (admin|client|agent); the answer's `api_key` is shown once."""
        call = _create_call(role, principal_id, name, team)
        result: JSONObject = await self._client.send_call(call)
        return result

    async def list(self, *, cursor: str | None = None, limit: int | None = None) -> Page:
        """One page of keys (never their secrets)."""
        return Page.from_json(await self._client.send_call(_list_call(cursor, limit)))

    async def revoke(self, key_id: str) -> None:
        """Revoke a key."""
        await self._client.send_call(Call("DELETE", f"/ains/keys/{key_id}"))
