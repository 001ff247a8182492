"""A task retried by hand (`POST /aitp/tasks/{id}/retry`) starts a new run: what described the
previous run's end (its cancellation, its lease) is cleared, on both databases."""

from __future__ import annotations

import httpx


def test_a_retried_cancelled_task_keeps_no_cancellation(api: httpx.Client, uid: str) -> None:
    submitted = api.post(
        "/aitp/tasks",
        json={"client_id": f"c-{uid}", "task_type": "t", "capability_required": f"none-{uid}"},
    )
    assert submitted.status_code == 201, submitted.text
    task_id = submitted.json()["task_id"]
    cancelled = api.request(
        "DELETE", f"/aitp/tasks/{task_id}", json={"reason": "changed my mind"}
    ).json()
    assert cancelled["status"] == "CANCELLED"
    assert cancelled["cancelled_by"] and cancelled["cancelled_at"]
    assert cancelled["cancellation_reason"] == "changed my mind"

    retried = api.post(f"/aitp/tasks/{task_id}/retry", json={"reason": "again"})
    assert retried.status_code == 200, retried.text
    for view in (retried.json(), api.get(f"/aitp/tasks/{task_id}").json()):
        assert view["status"] == "PENDING"
        assert view["cancelled_by"] is None
        assert view["cancelled_at"] is None
        assert view["cancellation_reason"] is None
        assert view["cancel_requested"] is False
        assert view["lease_expires_at"] is None
    history = api.get(f"/aitp/tasks/{task_id}").json()["history"]
    # the cancellation stays on record in the history, where it belongs
    assert [h["to_status"] for h in history][-2:] == ["CANCELLED", "PENDING"]
