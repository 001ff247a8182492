"""The drain's callbacks and the Redis relay's message handling, without processes (the
behaviour end to end is in tests/reliability/test_drain.py and tests/security/
test_redis_cache.py)."""

from __future__ import annotations

import asyncio

import orjson

from ains.drain import Drain
from ains.engine.waiters import AgentWaiters
from ains.events.bus import Bus
from ains.events.redis_fanout import RedisFanout


def test_drain_runs_every_callback_once_even_if_one_fails() -> None:
    drain, calls = Drain(), []

    def broken() -> None:
        raise RuntimeError("boom")

    drain.on_drain(broken)
    drain.on_drain(lambda: calls.append("streams"))
    drain.begin()
    drain.begin()
    assert drain.draining and calls == ["streams"]


def test_wake_all_wakes_every_parked_claim() -> None:
    async def run() -> list[bool]:
        waiters = AgentWaiters(Bus())
        events = [waiters.prepare(agent) for agent in ("a1", "a2")]
        parked = [
            asyncio.create_task(waiters.wait(agent, ev, 30))
            for agent, ev in zip(("a1", "a2"), events, strict=True)
        ]
        await asyncio.sleep(0)
        waiters.wake_all()
        return list(await asyncio.wait_for(asyncio.gather(*parked), 5))

    assert asyncio.run(run()) == [True, True]


def test_the_relay_delivers_other_replicas_messages_only() -> None:
    async def run() -> list[tuple[str, str]]:
        bus = Bus()
        seen: list[tuple[str, str]] = []
        bus.subscribe("keys.revoked", lambda p: seen.append(("keys.revoked", p)))
        fanout = RedisFanout("redis://127.0.0.1:1/0", bus, ["keys.revoked"])
        other = orjson.dumps({"o": "another-replica", "t": "keys.revoked", "p": "key_1"})
        mine = orjson.dumps({"o": fanout._origin, "t": "keys.revoked", "p": "key_2"})
        for data in (other, mine, b"not json", b'{"o": "x"}', 42):
            fanout._on_message(data)
        await fanout.stop()
        return seen

    assert asyncio.run(run()) == [("keys.revoked", "key_1")]


def test_an_unreachable_redis_is_reported_degraded_and_logged_once(caplog) -> None:  # type: ignore[no-untyped-def]
    async def run() -> tuple[bool, str | None]:
        fanout = RedisFanout("redis://127.0.0.1:1/0", Bus(), ["keys.revoked"])
        await fanout.start()  # gives up waiting for the first subscription, keeps retrying
        await asyncio.sleep(2.5)  # long enough for at least two reconnect attempts
        state = fanout.healthy, fanout.problem
        await fanout.stop()
        return state

    healthy, problem = asyncio.run(run())
    assert not healthy and problem and "Connect" in problem
    outages = [r for r in caplog.records if "Redis (AINS_REDIS_URL) failed" in r.getMessage()]
    assert len(outages) == 1
