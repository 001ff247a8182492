"""The sample agent's built-in handlers (`echo`, `upper`, `sleep`) and failure injection."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

import httpx

from ains_agent._agent import Agent
from ains_agent._context import TaskContext
from ains_agent._errors import PermanentError

__all__ = ["HANDLERS", "build_agent", "echo", "sleep", "upper", "upper_strings", "with_failures"]

AsyncHandler = Callable[[TaskContext], Coroutine[Any, Any, Any]]


async def echo(task: TaskContext) -> Any:
    """Return `{"echo": input_data}`."""
    return {"echo": task.input_data}


def upper_strings(value: Any) -> Any:
    """`value` with every string in it (at any depth, not keys) upper-cased."""
    if isinstance(value, str):
        return value.upper()
    if isinstance(value, dict):
        return {k: upper_strings(v) for k, v in value.items()}
    if isinstance(value, list):
        return [upper_strings(v) for v in value]
    return value


async def upper(task: TaskContext) -> Any:
    """Return input_data with every string value upper-cased."""
    return upper_strings(task.input_data)


async def sleep(task: TaskContext) -> Any:
    """Sleep `input_data["seconds"]` (default 1), then echo the input."""
    data = task.input_data if isinstance(task.input_data, dict) else {}
    seconds = float(data.get("seconds", 1))
    await asyncio.sleep(seconds)
    return {"echo": task.input_data, "slept": seconds}


HANDLERS: dict[str, AsyncHandler] = {"echo": echo, "upper": upper, "sleep": sleep}


def with_failures(
    handler: AsyncHandler,
    fail_rate: float = 0.0,
    permanent_fail_rate: float = 0.0,
    rng: random.Random | None = None,
) -> AsyncHandler:
    """Wrap `handler` so a random fraction of tasks raise (transiently or permanently)."""
    if not (0 <= fail_rate <= 1 and 0 <= permanent_fail_rate <= 1):
        raise ValueError("failure rates must be between 0 and 1")
    draw = (rng or random.Random()).random

    async def wrapped(task: TaskContext) -> Any:
        roll = draw()
        if roll < permanent_fail_rate:
            raise PermanentError(f"simulated permanent failure of {task.task_id}")
        if roll < permanent_fail_rate + fail_rate:
            raise RuntimeError(f"simulated failure of {task.task_id}")
        return await handler(task)

    return wrapped


def build_agent(
    name: str,
    capabilities: Sequence[str],
    handler: str = "echo",
    *,
    fail_rate: float = 0.0,
    permanent_fail_rate: float = 0.0,
    rng: random.Random | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    **agent_options: Any,
) -> Agent:
    """An `Agent` serving every capability with the built-in `handler` (echo|upper|sleep)."""
    if handler not in HANDLERS:
        raise ValueError(f"unknown handler {handler!r}; choose from {', '.join(HANDLERS)}")
    if not capabilities:
        raise ValueError("at least one capability is needed")
    agent = Agent(name, transport=transport, **agent_options)
    fn = with_failures(HANDLERS[handler], fail_rate, permanent_fail_rate, rng)
    for capability in capabilities:
        agent.add_handler(capability, fn)
    agent.metadata.setdefault("handler", handler)
    return agent
