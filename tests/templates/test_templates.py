"""Task templates: CRUD, and tasks or batches created from a template with overrides."""

from __future__ import annotations

import httpx


def _template(api: httpx.Client, uid: str) -> dict[str, object]:
    r = api.post(
        "/aitp/templates",
        json={
            "name": f"translate-{uid}",
            "description": "English to French",
            "task_type": "translation",
            "capability_required": f"cap-{uid}",
            "input_data": {"source": "en", "target": "fr"},
            "priority": 3,
            "retry_policy": {"max_retries": 1, "strategy": "fixed"},
            "timeout_seconds": 30,
            "metadata": {"team": "lang"},
        },
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


def test_template_crud(api: httpx.Client, uid: str) -> None:
    tpl = _template(api, uid)
    tid = tpl["template_id"]
    assert api.get(f"/aitp/templates/{tid}").json()["name"] == f"translate-{uid}"
    assert api.get(f"/aitp/templates/translate-{uid}").json()["template_id"] == tid
    assert api.post("/aitp/templates", json={"name": f"translate-{uid}"}).status_code == 409
    patched = api.patch(f"/aitp/templates/{tid}", json={"priority": 8}).json()
    assert patched["defaults"]["priority"] == 8
    assert patched["defaults"]["task_type"] == "translation"
    names = [t["name"] for t in api.get("/aitp/templates").json()["items"]]
    assert f"translate-{uid}" in names
    assert api.delete(f"/aitp/templates/{tid}").status_code == 204
    assert api.get(f"/aitp/templates/{tid}").status_code == 404


def test_task_from_template_with_overrides(api: httpx.Client, uid: str) -> None:
    tid = _template(api, uid)["template_id"]
    r = api.post(
        f"/aitp/templates/{tid}/tasks",
        json={"inputdata": {"text": "hello", "target": "de"}, "priority": 9},
    )
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["template_id"] == tid
    task = api.get(f"/aitp/tasks/{created['task_id']}").json()
    assert task["task_type"] == "translation" and task["capability_required"] == f"cap-{uid}"
    assert task["priority"] == 9  # overridden
    assert task["input_data"] == {"source": "en", "target": "de", "text": "hello"}  # merged
    assert task["retry_policy"]["max_retries"] == 1 and task["timeout_seconds"] == 30
    assert task["metadata"] == {"team": "lang"}
    assert task["template_id"] == tid


def test_batch_from_template(api: httpx.Client, uid: str) -> None:
    tid = _template(api, uid)["template_id"]
    r = api.post(
        f"/aitp/templates/{tid}/tasks",
        json={"tasks": [{"input_data": {"text": w}} for w in ("a", "b", "c")]},
    )
    assert r.status_code == 201, r.text
    batch = r.json()
    assert batch["created"] == 3
    results = api.get(f"/aitp/tasks/batch/{batch['batch_id']}/results").json()["results"]
    assert len(results) == 3
    first = api.get(f"/aitp/tasks/{batch['task_ids'][0]}").json()
    assert first["input_data"] == {"source": "en", "target": "fr", "text": "a"}
    assert first["template_id"] == tid and first["priority"] == 3


def test_invalid_override_is_refused(api: httpx.Client, uid: str) -> None:
    tid = _template(api, uid)["template_id"]
    assert api.post(f"/aitp/templates/{tid}/tasks", json={"priority": 42}).status_code == 422
    assert api.post(f"/aitp/templates/missing-{uid}/tasks", json={}).status_code == 404
