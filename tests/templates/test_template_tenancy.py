"""Templates belong to their owner and the team they are shared with: nobody else reads,
uses, schedules from, changes or lists them (404, as for a missing one), and names are unique
per owner, so nobody can squat another's name. Both databases."""

from __future__ import annotations

from typing import Any

import httpx

from tests.support.server import ServerProcess


def _key(api: httpx.Client, principal_id: str, team: str) -> str:
    r = api.post("/ains/keys", json={"role": "client", "principal_id": principal_id, "team": team})
    assert r.status_code == 201, r.text
    return str(r.json()["api_key"])


def _schedule(client: httpx.Client, template_id: str) -> httpx.Response:
    return client.post(
        "/aitp/tasks/schedule",
        json={"template_id": template_id, "cron_expression": "0 9 * * *"},
    )


def _template(client: httpx.Client, name: str, uid: str, **extra: Any) -> dict[str, Any]:
    r = client.post(
        "/aitp/templates",
        json={
            "name": name,
            "task_type": "t",
            "capability_required": f"cap-{uid}",
            "input_data": {"password": f"secret-{uid}"},
            **extra,
        },
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


def test_a_template_is_invisible_and_unusable_to_other_clients(
    server: ServerProcess, api: httpx.Client, uid: str
) -> None:
    alice_key = _key(api, f"alice-{uid}", f"red-{uid}")
    bob_key = _key(api, f"bob-{uid}", f"blue-{uid}")
    name = f"report-{uid}"
    with server.client(alice_key) as alice, server.client(bob_key) as bob:
        tpl = _template(alice, name, uid)
        tid = tpl["template_id"]
        assert tpl["owner_id"] == f"alice-{uid}" and tpl["team"] is None
        missing = _schedule(bob, f"tpl_missing_{uid}")
        for ref in (tid, name):
            assert bob.get(f"/aitp/templates/{ref}").status_code == 404
            assert bob.post(f"/aitp/templates/{ref}/tasks", json={}).status_code == 404
            assert bob.patch(f"/aitp/templates/{ref}", json={"priority": 9}).status_code == 404
            assert bob.put(f"/aitp/templates/{ref}", json={"priority": 9}).status_code == 404
            assert bob.delete(f"/aitp/templates/{ref}").status_code == 404
        foreign = _schedule(bob, tid)
        assert foreign.status_code == missing.status_code == 422
        assert foreign.json()["errors"][0]["field"] == "template_id"
        listed = bob.get("/aitp/templates", params={"limit": 500}).text
        assert tid not in listed and f"secret-{uid}" not in listed
        # the same name is free for bob: his own template, which he then reaches by name
        own = _template(bob, name, uid, priority=2)
        assert own["template_id"] != tid
        assert bob.get(f"/aitp/templates/{name}").json()["template_id"] == own["template_id"]
        assert alice.get(f"/aitp/templates/{name}").json()["template_id"] == tid
        assert alice.post("/aitp/templates", json={"name": name}).status_code == 409
        # the owner still uses it, schedules from it and changes it
        made = alice.post(f"/aitp/templates/{tid}/tasks", json={"input_data": {"x": 1}})
        assert made.status_code == 201, made.text
        assert _schedule(alice, tid).status_code == 201
        assert alice.patch(f"/aitp/templates/{tid}", json={"priority": 9}).status_code == 200
    names = {(t["owner_id"], t["name"]) for t in api.get("/aitp/templates").json()["items"]}
    assert {(f"alice-{uid}", name), (f"bob-{uid}", name)} <= names  # an admin sees all


def test_a_template_shared_with_a_team_is_usable_but_not_changeable_by_it(
    server: ServerProcess, api: httpx.Client, uid: str
) -> None:
    alice_key = _key(api, f"alice-{uid}", f"red-{uid}")
    carol_key = _key(api, f"carol-{uid}", f"red-{uid}")
    bob_key = _key(api, f"bob-{uid}", f"blue-{uid}")
    with (
        server.client(alice_key) as alice,
        server.client(carol_key) as carol,
        server.client(bob_key) as bob,
    ):
        wrong = alice.post("/aitp/templates", json={"name": f"x-{uid}", "team": f"blue-{uid}"})
        assert wrong.status_code == 422 and wrong.json()["errors"][0]["field"] == "team"
        tid = _template(alice, f"shared-{uid}", uid, team=f"red-{uid}")["template_id"]
        assert carol.get(f"/aitp/templates/{tid}").status_code == 200
        assert carol.post(f"/aitp/templates/{tid}/tasks", json={}).status_code == 201
        assert carol.patch(f"/aitp/templates/{tid}", json={"priority": 1}).status_code == 403
        assert carol.delete(f"/aitp/templates/{tid}").status_code == 403
        assert bob.get(f"/aitp/templates/{tid}").status_code == 404
        # unshared again: the team loses it
        assert alice.patch(f"/aitp/templates/{tid}", json={"team": None}).status_code == 200
        assert carol.get(f"/aitp/templates/{tid}").status_code == 404
