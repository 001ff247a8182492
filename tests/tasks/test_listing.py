"""Agents and API keys list in pages: `limit` bounds a page, `next_cursor` walks every item
exactly once, filters hold across pages, and a bad limit or a cursor from another list is 422."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.flows import register_agent
from tests.support.server import running_server


def walk(api: httpx.Client, path: str, **params: Any) -> list[list[dict[str, Any]]]:
    pages: list[list[dict[str, Any]]] = []
    cursor = None
    while True:
        r = api.get(path, params={**params, **({"cursor": cursor} if cursor else {})})
        assert r.status_code == 200, r.text
        body = r.json()
        pages.append(body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            return pages


def test_agents_page_by_capability_and_online(api: httpx.Client, uid: str) -> None:
    capability = f"listing-{uid}:v1"
    ids = sorted(register_agent(api, capability, name=f"a{i}")["agent_id"] for i in range(5))
    pages = walk(api, "/ains/agents", capability=capability, limit=2)
    assert [len(p) for p in pages] == [2, 2, 1]
    assert [a["agent_id"] for p in pages for a in p] == ids

    # registration counts as a heartbeat; one agent set offline by deregistering is gone
    assert api.delete(f"/ains/agents/{ids[0]}").status_code == 204
    online = walk(api, "/ains/agents", capability=capability, online="true", limit=3)
    assert [a["agent_id"] for p in online for a in p] == ids[1:]
    assert all(a["online"] for p in online for a in p)
    offline = walk(api, "/ains/agents", capability=capability, online="false", limit=3)
    assert offline == [[]]


def test_online_filter_pages_silent_agents_as_offline(
    backend: str, tmp_path: Path, uid: str
) -> None:
    with (
        running_server(backend, tmp_path, AINS_AGENT_OFFLINE_AFTER="3") as server,
        server.client() as api,
    ):
        capability = f"silent-{uid}:v1"
        ids = sorted(register_agent(api, capability, name=f"s{i}")["agent_id"] for i in range(4))
        time.sleep(3.3)
        for agent_id in ids[:2]:
            r = api.post(f"/ains/agents/{agent_id}/heartbeat", json={})
            assert r.status_code == 200, r.text
        online = walk(api, "/ains/agents", capability=capability, online="true", limit=1)
        offline = walk(api, "/ains/agents", capability=capability, online="false", limit=1)
        assert [a["agent_id"] for p in online for a in p] == ids[:2]
        assert [a["agent_id"] for p in offline for a in p] == ids[2:]
        assert not any(a["online"] for p in offline for a in p)


def test_keys_page_oldest_first(api: httpx.Client, uid: str) -> None:
    made = []
    for i in range(3):
        body = {"role": "client", "principal_id": f"lister-{uid}-{i}", "name": f"k{i}"}
        r = api.post("/ains/keys", json=body)
        assert r.status_code == 201, r.text
        made.append(r.json()["key_id"])
    pages = walk(api, "/ains/keys", limit=2)
    listed = [k["key_id"] for p in pages for k in p]
    assert all(len(p) <= 2 for p in pages)
    assert len(listed) == len(set(listed))
    assert [k for k in listed if k in made] == made
    assert all("api_key" not in k and "key_hash" not in k for p in pages for k in p)


@pytest.mark.parametrize("path", ["/ains/agents", "/ains/keys"])
@pytest.mark.parametrize(
    ("params", "field"),
    [({"limit": 0}, "limit"), ({"limit": 100_000}, "limit"), ({"cursor": "bm9wZQ"}, "cursor")],
)
def test_bad_limits_and_foreign_cursors_are_422(
    api: httpx.Client, path: str, params: dict[str, Any], field: str
) -> None:
    r = api.get(path, params=params)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert field in r.text


def test_a_cursor_from_one_list_is_refused_by_another(api: httpx.Client, uid: str) -> None:
    for i in range(2):
        register_agent(api, f"listing-x-{uid}:v1", name=f"x{i}")
    r = api.get("/ains/agents", params={"capability": f"listing-x-{uid}:v1", "limit": 1})
    cursor = r.json()["next_cursor"]
    assert cursor
    refused = api.get("/ains/keys", params={"cursor": cursor})
    assert refused.status_code == 422
    assert "cursor" in refused.text


def test_a_deregistered_agent_stays_readable_but_can_no_longer_act(
    api: httpx.Client, uid: str
) -> None:
    capability = f"gone-{uid}:v1"
    agent_id = register_agent(api, capability)["agent_id"]
    assert api.delete(f"/ains/agents/{agent_id}").status_code == 204
    r = api.get(f"/ains/agents/{agent_id}")
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "DEREGISTERED" and r.json()["online"] is False
    assert api.post(f"/ains/agents/{agent_id}/heartbeat", json={}).status_code == 404
    claim = api.post(f"/aitp/agents/{agent_id}/claim", json={"max_tasks": 1, "wait_seconds": 0})
    assert claim.status_code == 404
    assert api.patch(f"/ains/agents/{agent_id}", json={"trust_score": 0.9}).status_code == 404
    assert walk(api, "/ains/agents", capability=capability) == [[]]
    assert api.get("/ains/agents/agt_never_existed").status_code == 404
