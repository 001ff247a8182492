"""The loop base of ains/engine/loop.py: a wake runs the next pass before its interval, a pass
that raises is logged and the loop goes on, a wake during a pass is not lost, and stop is
prompt (while sleeping, settling or waiting for a wake)."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from ains.engine.loop import Loop

LONG = 30.0  # an interval no test waits for: reaching the next pass needs a wake


class Passes:
    """Counts the passes of a loop; ``reached(n)`` waits (event-driven) until n have begun."""

    def __init__(self) -> None:
        self.count = 0
        self.times: list[float] = []
        self._changed = asyncio.Condition()

    async def begin(self) -> int:
        async with self._changed:
            self.count += 1
            self.times.append(time.monotonic())
            self._changed.notify_all()
            return self.count

    async def reached(self, n: int, timeout: float = 2.0) -> None:
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: self.count >= n), timeout)


async def _stopped(loop: Loop, task: asyncio.Task[None], within: float = 0.5) -> float:
    started = time.monotonic()
    loop.stop()
    await asyncio.wait_for(task, within)
    return time.monotonic() - started


async def test_a_wake_runs_the_next_pass_before_the_interval() -> None:
    passes = Passes()

    async def pass_() -> float:
        await passes.begin()
        return LONG

    loop = Loop("test", pass_)
    task = asyncio.create_task(loop.run())
    await passes.reached(1)  # the first pass runs at once
    loop.wake()
    await passes.reached(2)
    assert passes.times[1] - passes.times[0] < 1.0
    await _stopped(loop, task)


async def test_the_interval_a_pass_returns_runs_the_next_without_a_wake() -> None:
    passes = Passes()

    async def pass_() -> float:
        await passes.begin()
        return 0.01

    loop = Loop("test", pass_)
    task = asyncio.create_task(loop.run())
    await passes.reached(3)
    await _stopped(loop, task)


async def test_a_wake_during_a_pass_is_not_lost() -> None:
    passes = Passes()
    release = asyncio.Event()

    async def pass_() -> None:
        if await passes.begin() == 1:
            await release.wait()

    loop = Loop("test", pass_)
    task = asyncio.create_task(loop.run())
    await passes.reached(1)
    loop.wake()  # arrives while the first pass runs: the second must follow without another
    release.set()
    await passes.reached(2)
    await _stopped(loop, task)


async def test_a_failed_pass_is_logged_and_the_loop_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    passes = Passes()

    async def pass_() -> float:
        if await passes.begin() == 1:
            raise RuntimeError("boom")
        return LONG

    loop = Loop("flaky", pass_, retry_after=0.01)
    with caplog.at_level(logging.ERROR, logger="ains.engine.loop"):
        task = asyncio.create_task(loop.run())
        await passes.reached(2)  # tried again after retry_after, with no wake
    assert not task.done()
    failed = [r for r in caplog.records if "flaky pass failed" in r.getMessage()]
    assert len(failed) == 1 and failed[0].exc_info is not None
    await _stopped(loop, task)


async def test_a_failed_pass_can_wait_for_the_next_wake() -> None:
    passes = Passes()

    async def pass_() -> None:
        await passes.begin()
        raise RuntimeError("boom")

    loop = Loop("test", pass_, retry_after=None)
    task = asyncio.create_task(loop.run())
    await passes.reached(1)
    with pytest.raises(TimeoutError):
        await passes.reached(2, timeout=0.05)
    loop.wake()
    await passes.reached(2)
    await _stopped(loop, task)


@pytest.mark.parametrize("returns", [LONG, None])
async def test_stop_is_prompt_while_sleeping(returns: float | None) -> None:
    passes = Passes()

    async def pass_() -> float | None:
        await passes.begin()
        return returns

    loop = Loop("test", pass_)
    task = asyncio.create_task(loop.run())
    await passes.reached(1)
    assert await _stopped(loop, task) < 0.2


async def test_stop_is_prompt_while_settling_and_before_the_first_pass() -> None:
    passes = Passes()

    async def pass_() -> None:
        await passes.begin()

    settling = Loop("test", pass_, settle=LONG)
    task = asyncio.create_task(settling.run())
    await passes.reached(1)
    settling.wake()  # it now settles for LONG before the next pass
    await asyncio.sleep(0)
    assert await _stopped(settling, task) < 0.2
    assert passes.count == 1  # and stopping ends it without that pass

    late = Loop("test", pass_, first_delay=LONG)
    task = asyncio.create_task(late.run())
    await asyncio.sleep(0)
    assert await _stopped(late, task) < 0.2
    assert passes.count == 1
