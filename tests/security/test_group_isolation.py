"""One client's bad submissions cannot fail another client's: concurrent single submissions
share transactions (group commit), so a bad row must be refused before it joins a group."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import httpx

from tests.support.hostile import SUBMISSIONS, task_body
from tests.support.server import ServerProcess

GOOD = 200
SENDERS = 8


def test_bad_submissions_never_fail_concurrent_good_ones(server: ServerProcess, uid: str) -> None:
    done = threading.Event()
    bad_answers: list[int] = []

    def send_bad() -> None:
        with server.client() as api:
            while not done.is_set():
                for fields, _field in SUBMISSIONS.values():
                    try:
                        r = api.post(
                            "/aitp/tasks",
                            content=task_body(f"bad-{uid}", **fields),
                            headers={"content-type": "application/json"},
                        )
                    except httpx.HTTPError:  # a dropped connection: keep sending
                        bad_answers.append(0)
                        continue
                    bad_answers.append(r.status_code)

    def send_good(sender: int) -> list[tuple[int, str]]:
        answers = []
        with server.client() as api:
            for i in range(GOOD // SENDERS):
                try:
                    r = api.post(
                        "/aitp/tasks",
                        json={
                            "client_id": f"good-{uid}",
                            "task_type": "t",
                            "capability_required": f"cap-{uid}",
                            "input_data": {"sender": sender, "i": i},
                        },
                    )
                except httpx.HTTPError as exc:  # a dropped connection counts as a failure
                    answers.append((0, repr(exc)))
                    continue
                answers.append((r.status_code, r.json().get("task_id", r.text)))
        return answers

    bad = threading.Thread(target=send_bad)
    bad.start()
    try:
        with ThreadPoolExecutor(SENDERS) as pool:
            results = [a for answers in pool.map(send_good, range(SENDERS)) for a in answers]
    finally:
        done.set()
        bad.join()

    assert [a for a in results if a[0] != 201] == []
    assert bad_answers and set(bad_answers) == {422}
    with server.client() as api:
        listed = api.get("/aitp/tasks", params={"client_id": f"good-{uid}", "limit": 500})
        assert listed.status_code == 200
        stored = {t["task_id"] for t in listed.json()["items"]}
        assert stored == {task_id for _, task_id in results}
        assert len(stored) == GOOD
        none = api.get("/aitp/tasks", params={"client_id": f"c-bad-{uid}"})
        assert none.json()["items"] == []
