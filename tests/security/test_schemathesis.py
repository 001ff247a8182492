"""Issue 16: schemathesis over every operation of `/openapi.json` of a real server, on both
databases, as an admin and as a client (past the 401s), stateless and stateful (the OpenAPI links
of `ains/openapi_links.py`). No answer may be a server error, every refusal is problem+json, every
documented success answer matches its schema, and the server logs no traceback.

Bounded and deterministic for CI: a fixed seed, derandomized Hypothesis, a few examples per
operation, no shrinking (a failure prints the case and its curl command)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from tests.support.server import ServerProcess, running_server

# webhook deliveries of the run (test pings, task events) go to a loopback port nobody listens
# on, never to an address the fuzzer made up
DEAD_URL = "http://127.0.0.1:9/hook"
SERVER_ENV = {
    # the fuzzer's refused credentials never earn the 429 of a flood of failed authentications
    "AINS_AUTH_FAILURE_LIMIT": "1000000",
    # a claim on an idle agent answers at once instead of parking for the fuzzer's wait_seconds
    "AINS_MAX_WAIT_SECONDS": "0.2",
    "AINS_WEBHOOK_ALLOWED_HOSTS": "127.0.0.1",
}
SEED = 16
# the event stream never ends: it is read this long, then the answer is checked
STREAM_SECONDS = 0.3
REQUEST_SECONDS = 30.0
STATELESS = settings(
    max_examples=10,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
STATEFUL = settings(
    max_examples=25,
    stateful_step_count=8,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)

pytestmark = pytest.mark.timeout(900)


@dataclass
class Fuzzed:
    server: ServerProcess
    keys: dict[str, str]  # principal → API key

    def headers(self, principal: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[principal]}"}


def _create_key(api: httpx.Client, role: str, name: str, team: str | None = None) -> str:
    body = {"role": role, "principal_id": name, "name": name, "team": team}
    r = api.post("/ains/keys", json=body)
    assert r.status_code == 201, r.text
    return str(r.json()["api_key"])


@pytest.fixture(scope="module")
def fuzzed(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fuzzed]:
    with running_server(backend, tmp_path_factory.mktemp("fuzz"), **SERVER_ENV) as server:
        with server.client() as bootstrap:  # protected mode, before the first admin key
            admin = _create_key(bootstrap, "admin", "fuzz-admin")
        with server.client(admin) as api:
            client = _create_key(api, "client", "fuzz-client", team="fuzz")
        yield Fuzzed(server, {"admin": admin, "client": client})
        log = server.log_path.read_text(errors="replace") if server.log_path else ""
        assert "Traceback" not in log, f"the server logged a traceback:\n{log[-5000:]}"


@pytest.fixture(scope="module")
def api_schema(fuzzed: Fuzzed) -> schemathesis.BaseSchema:
    config = schemathesis.Config.from_dict(
        {
            "seed": SEED,
            "generation": {"mode": "all"},
            # hundreds of boundary cases per operation: minutes per database, over the budget
            "phases": {"coverage": {"enabled": False}},
        }
    )
    return schemathesis.openapi.from_url(f"{fuzzed.server.url}/openapi.json", config=config)


def problem_details(ctx: Any, response: schemathesis.Response, case: schemathesis.Case) -> None:
    """Every refusal is RFC 9457 problem+json whose `status` is the answer's."""
    if not 400 <= response.status_code < 500:
        return
    content_type = response.headers.get("content-type", [""])[0]
    assert content_type.startswith("application/problem+json"), (
        f"{response.status_code} answered as {content_type!r}, not problem+json"
    )
    body = json.loads(response.content)
    assert body.get("status") == response.status_code, f"problem status differs: {body}"
    assert isinstance(body.get("title"), str) and isinstance(body.get("detail"), str), body


CHECKS = [not_a_server_error, response_schema_conformance, problem_details]


def _prepare(case: schemathesis.Case) -> dict[str, Any]:
    """Keeps the run on this machine, and bounds the endless event stream; returns the
    transport arguments for the call."""
    if isinstance(case.body, dict) and isinstance(case.body.get("url"), str):
        case.body["url"] = DEAD_URL
    streams = case.operation.path == "/aitp/events"
    return {"timeout": STREAM_SECONDS if streams else REQUEST_SECONDS}


@pytest.fixture(autouse=True)
def _node_id_for_schemathesis(request: pytest.FixtureRequest) -> None:
    """schemathesis 4.32 names each operation's subtest through pytest's private `_nodeid`,
    which pytest 9.2 no longer has: give it one to rename."""
    if not hasattr(request.node, "_nodeid"):
        request.node._nodeid = request.node.nodeid


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@STATELESS
def test_every_operation_as_admin_and_client(case: schemathesis.Case, fuzzed: Fuzzed) -> None:
    transport = _prepare(case)
    for principal in ("admin", "client"):
        case.call_and_validate(headers=fuzzed.headers(principal), checks=CHECKS, **transport)


@pytest.mark.parametrize("principal", ["admin", "client"])
def test_stateful_links(
    api_schema: schemathesis.BaseSchema, fuzzed: Fuzzed, principal: str
) -> None:
    links = api_schema.as_state_machine()
    headers = fuzzed.headers(principal)

    class Walk(links):  # type: ignore[misc,valid-type]
        def get_call_kwargs(self, case: schemathesis.Case) -> dict[str, Any]:
            return {"headers": headers, **_prepare(case)}

        def validate_response(
            self, response: schemathesis.Response, case: schemathesis.Case, **kwargs: Any
        ) -> None:
            case.validate_response(response, checks=CHECKS, headers=headers)

    Walk.run(settings=STATEFUL)
