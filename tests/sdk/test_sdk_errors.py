"""The mapping from HTTP status and problem+json body to the client's typed exceptions (a pure
function; the statuses a test server cannot be made to answer on demand)."""

from __future__ import annotations

import pytest

from ains_client import (
    AinsError,
    AuthError,
    Conflict,
    NotFound,
    RateLimited,
    ServerError,
    ValidationError,
)
from ains_client._exceptions import error_from_problem


@pytest.mark.parametrize(
    ("status", "kind"),
    [(400, ValidationError), (401, AuthError), (403, AuthError), (404, NotFound),
     (409, Conflict), (422, ValidationError), (418, AinsError), (503, ServerError)],
)  # fmt: skip
def test_each_status_has_its_exception(status: int, kind: type[AinsError]) -> None:
    problem = {"title": "Nope", "status": status, "detail": "why",
               "errors": [{"field": "priority", "reason": "too high"}, "junk"]}  # fmt: skip
    error = error_from_problem(status, problem)
    assert type(error) is kind
    assert (error.status, error.title, error.detail) == (status, "Nope", "why")
    assert error.errors == [{"field": "priority", "reason": "too high"}]
    assert str(error) == f"{status} Nope: why"


def test_rate_limited_carries_the_delay() -> None:
    error = error_from_problem(429, {"title": "Too Many Requests"}, retry_after=2.5)
    assert isinstance(error, RateLimited) and error.retry_after == 2.5


def test_a_body_that_is_not_a_problem_still_maps() -> None:
    error = error_from_problem(502, "<html>bad gateway</html>")
    assert isinstance(error, ServerError)
    assert (error.title, error.errors, str(error)) == (None, [], "502 error")
