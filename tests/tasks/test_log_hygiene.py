"""A statement that fails in the database never writes its parameters (task input) to the
server's log: the engines hide them. Both databases."""

from __future__ import annotations

import json

from tests.support.server import ServerProcess

# input values the database layer cannot store (beyond 64 bits: the JSON serializer refuses),
# so the INSERT fails with the secret among its parameters
UNSTORABLE = 10**30
JSON = {"content-type": "application/json"}


def test_a_failed_insert_does_not_log_its_parameters(server: ServerProcess, uid: str) -> None:
    secret = f"zsecret{uid}"
    body = {
        "client_id": f"c-{uid}",
        "task_type": secret,
        "capability_required": f"cap-{uid}",
        "input_data": {"password": secret, "n": UNSTORABLE},
    }
    with server.client() as api:  # a 500 drops the connection: a client of its own
        answer = api.post("/aitp/tasks", content=json.dumps(body), headers=JSON)
    assert answer.status_code >= 400
    # PostgreSQL refuses a NUL in JSON (in the database, with its own error text)
    nul = {**body, "input_data": {"password": secret + "\u0000"}}
    with server.client() as api:
        api.post("/aitp/tasks", content=json.dumps(nul), headers=JSON)
    with server.client() as api:  # the server wrote (and flushed) whatever it logs for it
        assert api.get("/health").status_code == 200
    assert server.log_path is not None
    log = server.log_path.read_text(errors="replace")
    assert secret not in log
    assert "[parameters:" not in log
