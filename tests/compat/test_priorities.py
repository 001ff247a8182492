"""Named priorities and the retry_policy shorthand, as pure parsing (no server)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from ains.compat.seed004_schemas import AiTaskIn
from ains.exceptions import Unprocessable
from ains.priorities import PRIORITY_NAMES, priority_name
from ains.retries.policy import RetryPolicy
from ains.tasks.schemas import PriorityIn


@pytest.mark.parametrize(
    ("given", "stored"),
    [("URGENT", 10), ("HIGH", 8), ("NORMAL", 5), ("LOW", 2), ("low", 2), (" High ", 8),
     (7, 7), ("7", 7)],
)  # fmt: skip
def test_names_and_numbers(given: object, stored: int) -> None:
    assert PriorityIn.model_validate({"priority": given}).priority == stored


@pytest.mark.parametrize("given", ["MEDIUM", "", "0", 0, 11, "-3", None, 5.5])
def test_anything_else_is_refused_naming_the_field(given: object) -> None:
    with pytest.raises(ValidationError) as refused:
        PriorityIn.model_validate({"priority": given})
    assert [e["loc"] for e in refused.value.errors()] == [("priority",)]


def test_a_bad_name_lists_the_names() -> None:
    with pytest.raises(ValidationError) as refused:
        PriorityIn.model_validate({"priority": "SOON"})
    assert refused.value.errors()[0]["msg"] == (
        "must be an integer from 1 to 10 or one of URGENT, HIGH, NORMAL, LOW"
    )


def test_each_name_falls_in_its_own_band() -> None:
    assert {name: priority_name(level) for name, level in PRIORITY_NAMES.items()} == {
        name: name for name in PRIORITY_NAMES
    }
    assert [priority_name(p) for p in range(1, 11)] == (
        ["LOW"] * 3 + ["NORMAL"] * 3 + ["HIGH"] * 2 + ["URGENT"] * 2
    )


def test_retry_policy_shorthand_is_the_strategy_with_defaults() -> None:
    assert RetryPolicy.model_validate("fixed") == RetryPolicy(strategy="fixed")
    with pytest.raises(ValidationError, match="one of exponential, linear, fixed"):
        RetryPolicy.model_validate("EXPONENTIAL")


def test_a_value_our_rules_refuse_is_named_in_seed_004s_spelling() -> None:
    # AiTaskIn's own checks mirror TaskIn's; built unchecked, the mapping's refusal shows
    unchecked = AiTaskIn.model_construct(
        agentId="", taskType="t", priority=5, dependsOn=[], metadata={}, input=None,
        inputData=None, capabilityRequired=None, maxRetries=None, retryPolicy=None,
        timeoutMs=None, deadline=None, clientId=None,
    )  # fmt: skip
    with pytest.raises(Unprocessable) as refused:
        unchecked.task_in()
    assert [e.field for e in refused.value.errors] == ["agentId"]
