"""The console over plain HTTP: signing in, the cookie, CSRF, the security headers, and that a
page shows only what its principal may see. Real server, both databases."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest

from ains.ui.session import CSP
from tests.ui.world import ConsoleWorld

CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]{64})"')


@pytest.fixture
def browser_like(console: ConsoleWorld) -> Iterator[httpx.Client]:
    """An HTTP client with a cookie jar and no Authorization header, like a browser."""
    with httpx.Client(base_url=console.server.url, timeout=40) as client:
        yield client


def sign_in(client: httpx.Client, key: str) -> str:
    """Signs in and returns the CSRF token the pages carry."""
    r = client.post("/ui/login", data={"credential": key})
    assert r.status_code == 303, r.text
    assert r.headers["location"] == "/ui"
    page = client.get("/ui")
    assert page.status_code == 200, page.text
    match = CSRF.search(page.text)
    assert match, page.text[:500]
    return match.group(1)


def test_pages_send_a_browser_without_a_cookie_to_sign_in(browser_like: httpx.Client) -> None:
    r = browser_like.get("/ui/tasks")
    assert (r.status_code, r.headers["location"]) == (303, "/ui/login")
    r = browser_like.get("/ui/tasks/rows", headers={"HX-Request": "true"})
    assert (r.status_code, r.headers["hx-redirect"]) == (401, "/ui/login")
    login = browser_like.get("/ui/login")
    assert login.status_code == 200
    assert login.headers["content-security-policy"] == CSP
    assert '<label for="credential">' in login.text


def test_signing_in_sets_an_httponly_same_site_strict_cookie(
    console: ConsoleWorld, browser_like: httpx.Client
) -> None:
    r = browser_like.post("/ui/login", data={"credential": "not-a-key"})
    assert r.status_code == 401
    assert 'role="alert"' in r.text and "ains_console" not in r.headers.get("set-cookie", "")
    r = browser_like.post("/ui/login", data={"credential": console.keys["client_a"]})
    assert r.status_code == 303, r.text
    cookie = r.headers["set-cookie"].lower()
    for part in ("ains_console=", "httponly", "samesite=strict", "path=/ui"):
        assert part in cookie, cookie
    page = browser_like.get("/ui/tasks")
    assert page.status_code == 200
    assert console.principal_id("client_a") in page.text
    assert page.headers["content-security-policy"] == CSP
    assert "script-src 'self'" in CSP and "unsafe-inline" not in CSP
    assert page.headers["x-frame-options"] == "DENY"


def test_a_console_action_needs_the_page_csrf_token_and_origin(
    console: ConsoleWorld, browser_like: httpx.Client
) -> None:
    token = sign_in(browser_like, console.keys["client_a"])
    task_id = console.submit("client_a", f"csrf-{console.uid}")["task_id"]
    path = f"/ui/tasks/{task_id}/cancel"
    assert browser_like.post(path).status_code == 403
    assert browser_like.post(path, headers={"X-CSRF-Token": "0" * 64}).status_code == 403
    evil = {"X-CSRF-Token": token, "Origin": "http://evil.example"}
    assert browser_like.post(path, headers=evil).status_code == 403
    assert console.status(task_id)["status"] == "PENDING"
    good = {"X-CSRF-Token": token, "Origin": console.server.url}
    r = browser_like.post(path, headers=good)
    assert r.status_code == 200, r.text
    assert "ains:flash" in r.headers["hx-trigger"]
    assert console.status(task_id)["status"] == "CANCELLED"


def test_a_bad_form_value_is_a_problem_naming_the_field(
    console: ConsoleWorld, browser_like: httpx.Client
) -> None:
    token = sign_in(browser_like, console.keys["client_a"])
    task_id = console.submit("client_a", f"form-{console.uid}")["task_id"]
    for value in ("high", "11"):
        r = browser_like.post(
            f"/ui/tasks/{task_id}/priority",
            data={"priority": value},
            headers={"X-CSRF-Token": token},
        )
        assert r.status_code == 422, r.text
        assert r.json()["errors"][0]["field"] == "priority"
    r = browser_like.post(
        f"/ui/tasks/{task_id}/priority", data={"priority": "9"}, headers={"X-CSRF-Token": token}
    )
    assert r.status_code == 200, r.text
    assert console.status(task_id)["priority"] == 9


def test_a_client_is_shown_none_of_another_clients_tasks(
    console: ConsoleWorld, browser_like: httpx.Client
) -> None:
    theirs = console.submit("client_b", f"vis-{console.uid}", visibility="private")["task_id"]
    mine = console.submit("client_a", f"vis-{console.uid}")["task_id"]
    sign_in(browser_like, console.keys["client_a"])
    listed = browser_like.get("/ui/tasks").text
    assert mine in listed and theirs not in listed
    searched = browser_like.get("/ui/tasks", params={"task_id": theirs}).text
    assert f'data-task-id="{theirs}"' not in searched and "No tasks match." in searched
    searched = browser_like.get("/ui/tasks", params={"task_id": mine}).text
    assert f'data-task-id="{mine}"' in searched
    assert theirs not in browser_like.get("/ui/tasks/rows").text
    assert browser_like.get(f"/ui/tasks/{theirs}").status_code == 404
    assert browser_like.get(f"/ui/tasks/{mine}").status_code == 200


def test_signing_out_forgets_the_cookie(console: ConsoleWorld, browser_like: httpx.Client) -> None:
    token = sign_in(browser_like, console.keys["client_a"])
    r = browser_like.post("/ui/logout", data={"csrf_token": token})
    assert (r.status_code, r.headers["location"]) == (303, "/ui/login")
    assert browser_like.get("/ui").status_code == 303


def test_a_bearer_header_works_without_cookie_or_csrf_token(console: ConsoleWorld) -> None:
    """Scripts (and the authorization matrix) use the console like the API."""
    task_id = console.submit("client_a", f"bearer-{console.uid}")["task_id"]
    with console.client("client_a") as api:
        assert api.get("/ui/tasks").status_code == 200
        assert api.post(f"/ui/tasks/{task_id}/cancel").status_code == 200
    with console.client("client_b") as other:
        assert other.post(f"/ui/tasks/{task_id}/retry").status_code == 404


def test_analytics_exports_download_in_both_formats(console: ConsoleWorld) -> None:
    with console.client("admin") as api:
        csv = api.get("/ui/analytics/export", params={"report": "trends", "format": "csv"})
        assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
        as_json = api.get("/ui/analytics/export", params={"report": "summary", "format": "json"})
        assert as_json.status_code == 200 and as_json.json()["report"] == "summary"


def test_only_an_admin_may_quarantine_an_agent(console: ConsoleWorld) -> None:
    with console.client("admin") as admin:
        body = {"name": "q", "capabilities": [f"q-{console.uid}"], "max_concurrency": 2}
        agent_id = admin.post("/ains/agents", json=body).json()["agent_id"]
        with console.client("client_a") as client:
            assert client.post(f"/ui/agents/{agent_id}/quarantine").status_code == 403
        r = admin.post(f"/ui/agents/{agent_id}/quarantine")
        assert r.status_code == 200 and "Release" in r.text, r.text
        assert admin.get(f"/ains/agents/{agent_id}").json()["status"] == "QUARANTINED"
        r = admin.post(f"/ui/agents/{agent_id}/release")
        assert r.status_code == 200 and "Quarantine" in r.text, r.text
        assert admin.get(f"/ains/agents/{agent_id}").json()["status"] == "ACTIVE"


def test_the_overview_shows_the_success_rate_as_a_percentage(console: ConsoleWorld) -> None:
    console.completed("client_a")
    console.dead_letter("client_a")
    with console.client("admin") as api:
        cards = api.get("/ui/overview/cards").text
    match = re.search(r"Success rate \(24 h\)</dt><dd>([0-9.]+) %", cards)
    assert match, cards
    assert 0 < float(match.group(1)) < 100


def test_a_missing_task_is_an_error_page_for_a_browser_and_a_problem_for_htmx(
    console: ConsoleWorld, browser_like: httpx.Client
) -> None:
    sign_in(browser_like, console.keys["client_a"])
    page = browser_like.get("/ui/tasks/task_nope", headers={"Accept": "text/html"})
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert 'role="alert"' in page.text and "task_nope" in page.text
    assert page.headers["content-security-policy"] == CSP
    fragment = browser_like.get("/ui/tasks/task_nope/panel", headers={"HX-Request": "true"})
    assert fragment.status_code == 404
    assert fragment.headers["content-type"] == "application/problem+json"
