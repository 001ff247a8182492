"""/graphql under AINS_RATE_LIMITS: a mutation counts as a `submit`, a query as a `read`, each
against its own limit, with REST's 429 problem+json past it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.graphql.client import example
from tests.support.server import running_server

QUERY = {"query": "{ queueStatus { depth } }"}


@pytest.mark.sqlite_only  # the counting is the database's business nowhere
def test_mutations_count_as_submits_and_queries_as_reads(
    backend: str, tmp_path: Path, uid: str
) -> None:
    limits = json.dumps({"submit": "3/day", "read": "4/day"})
    with running_server(backend, tmp_path, AINS_RATE_LIMITS=limits) as server:
        with server.client() as local_admin:  # protected mode
            r = local_admin.post("/ains/keys", json={"role": "client", "principal_id": uid})
            assert r.status_code == 201, r.text
            key = r.json()["api_key"]
        create = {
            "query": example("createTask"),
            "variables": {"input": {"taskType": "t", "capabilityRequired": f"cap-{uid}"}},
        }
        with server.client(key) as client:
            assert [client.post("/graphql", json=QUERY).status_code for _ in range(2)] == [200] * 2
            made = [client.post("/graphql", json=create) for _ in range(3)]
            assert [r.status_code for r in made] == [200] * 3
            assert all("errors" not in r.json() for r in made)

            refused = client.post("/graphql", json=create)
            assert refused.status_code == 429, refused.text
            assert refused.headers["content-type"] == "application/problem+json"
            assert refused.json()["route_class"] == "submit"
            assert int(refused.headers["retry-after"]) >= 1

            # reads have their own count, untouched by the refused mutation
            by_get = client.get("/graphql", params=QUERY)
            assert by_get.status_code == 200, by_get.text
            assert client.post("/graphql", json=QUERY).status_code == 200
            refused = client.post("/graphql", json=QUERY)
            assert refused.status_code == 429, refused.text
            assert refused.json()["route_class"] == "read"
