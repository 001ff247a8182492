"""The sample agent's handlers and failure injection."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import pytest
from sdk_fakes import make_task

from ains_agent import PermanentError, TaskContext
from ains_agent.sample import build_agent, echo, sleep, upper, upper_strings, with_failures


async def _no_progress(ctx: TaskContext, data: Any) -> None:
    return None


def context(input_data: Any) -> TaskContext:
    task = make_task(1, input_data=input_data)
    return TaskContext(task, _no_progress, asyncio.get_running_loop())


async def test_echo_upper_and_sleep() -> None:
    data = {"text": "hi", "nested": [{"a": "b"}, 3], "n": 1}
    assert await echo(context(data)) == {"echo": data}
    assert await upper(context(data)) == {"text": "HI", "nested": [{"a": "B"}, 3], "n": 1}
    slept = await sleep(context({"seconds": 0.01}))
    assert slept == {"echo": {"seconds": 0.01}, "slept": 0.01}


def test_upper_strings_keeps_keys_and_non_strings() -> None:
    assert upper_strings({"key": ["x", None, 1.5]}) == {"key": ["X", None, 1.5]}
    assert upper_strings("abc") == "ABC"


class Rolls(random.Random):
    def __init__(self, *rolls: float) -> None:
        super().__init__()
        self.rolls = list(rolls)

    def random(self) -> float:
        return self.rolls.pop(0)


async def test_failure_rates_raise_transient_or_permanent_errors() -> None:
    handler = with_failures(echo, fail_rate=0.2, permanent_fail_rate=0.1, rng=Rolls(0.05, 0.2, 0.5))
    with pytest.raises(PermanentError):
        await handler(context({}))
    with pytest.raises(RuntimeError, match="simulated failure"):
        await handler(context({}))
    assert await handler(context({"ok": 1})) == {"echo": {"ok": 1}}


def test_invalid_options_are_refused() -> None:
    with pytest.raises(ValueError, match="between 0 and 1"):
        with_failures(echo, fail_rate=1.5)
    with pytest.raises(ValueError, match="unknown handler"):
        build_agent("a", ["x:v1"], "nope")
    with pytest.raises(ValueError, match="capability"):
        build_agent("a", [], "echo")


def test_build_agent_serves_every_capability() -> None:
    agent = build_agent("a", ["x:v1", "y:v2"], "sleep", max_concurrency=2)
    assert agent.capabilities == ["x:v1", "y:v2"]
    assert agent.max_concurrency == 2
    assert agent.metadata["handler"] == "sleep"
