"""What schemathesis adds to its own checks for this server, in the test process and in the
`schemathesis` command line (`SCHEMATHESIS_HOOKS=tests.security.schemathesis_hooks`)."""

from __future__ import annotations

import json
from typing import Any

import schemathesis

# webhook deliveries of a run (test pings, task events) go to a loopback port nobody listens on,
# never to an address the fuzzer made up (the server runs with 127.0.0.1 allow-listed)
DEAD_URL = "http://127.0.0.1:9/hook"
A2A_REST_PREFIX = "/a2a/rest/"


@schemathesis.hook
def before_call(context: schemathesis.HookContext, case: schemathesis.Case, kwargs: Any) -> None:
    if isinstance(case.body, dict) and isinstance(case.body.get("url"), str):
        case.body["url"] = DEAD_URL


@schemathesis.check
def problem_details(
    ctx: schemathesis.CheckContext, response: schemathesis.Response, case: schemathesis.Case
) -> bool | None:
    """Every refusal is RFC 9457 problem+json whose `status` is the answer's; the A2A HTTP+JSON
    binding's refusals are the google.rpc status objects that protocol prescribes instead."""
    if not 400 <= response.status_code < 500:
        return None
    content_type = response.headers.get("content-type", [""])[0]
    if case.operation.path.startswith(A2A_REST_PREFIX):
        return _a2a_error(response, content_type)
    if not content_type.startswith("application/problem+json"):
        raise AssertionError(f"{response.status_code} answered as {content_type!r}")
    body = json.loads(response.content)
    if body.get("status") != response.status_code:
        raise AssertionError(f"the problem's status differs from the answer's: {body}")
    if not (isinstance(body.get("title"), str) and isinstance(body.get("detail"), str)):
        raise AssertionError(f"a problem without title or detail: {body}")
    return True


def _a2a_error(response: schemathesis.Response, content_type: str) -> bool:
    if not content_type.startswith("application/json"):
        raise AssertionError(f"{response.status_code} answered as {content_type!r}")
    error = json.loads(response.content).get("error")
    if not isinstance(error, dict) or error.get("code") != response.status_code:
        raise AssertionError(f"not an A2A error object with the answer's code: {error}")
    if not (isinstance(error.get("status"), str) and isinstance(error.get("message"), str)):
        raise AssertionError(f"an A2A error without status or message: {error}")
    return True
