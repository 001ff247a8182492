"""The pure queue order: aging prevents starvation, strict priority without it, fair lanes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ains.config import Settings
from ains.queue.ordering import FAIR_QUANTUM, fair_starts, queue_key
from ains.tasks.service import TaskService


class FakeClock:
    def __init__(self) -> None:
        self.now = datetime(2026, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def _served_at(aging_interval: float, horizon: int) -> int | None:
    """A priority-1 task waits while a priority-10 task arrives every second and one task is
    served per second; returns the second it is served, or None within `horizon`."""
    clock = FakeClock()
    keys = TaskService(Settings(aging_interval=aging_interval), clock, None, None)  # type: ignore[arg-type]
    queue = [(keys.queue_key(1, clock()), "low")]
    for second in range(horizon):
        clock.advance(1)
        queue.append((keys.queue_key(10, clock()), f"high-{second}"))
        queue.sort()
        _, served = queue.pop(0)
        if served == "low":
            return second
    return None


def test_starvation_is_prevented_with_aging_on() -> None:
    served = _served_at(aging_interval=60, horizon=3600)
    assert served is not None and served <= 9 * 60 + 1  # nine levels × 60 s


def test_strict_priority_without_aging_starves_nobody_else() -> None:
    assert _served_at(aging_interval=0, horizon=3600) is None


def test_task_service_key_matches_the_documented_formula() -> None:
    clock = FakeClock()
    service = TaskService(Settings(aging_interval=60), clock, None, None)  # type: ignore[arg-type]
    ts = clock().timestamp()
    assert service.queue_key(7, clock()) == queue_key(7, ts, 60)


def test_a_newcomer_starts_at_the_head_of_a_flooded_lane() -> None:
    flood = fair_starts(now=100.0, head=None, last=None, count=10_000)
    assert abs(flood[1] - flood[0] - FAIR_QUANTUM) < 1e-9
    newcomer = fair_starts(now=101.0, head=flood[0], last=None, count=1)
    position = sum(1 for s in flood if s < newcomer[0])
    assert position == 0  # served next, not after the 10,000
    more = fair_starts(now=101.0, head=flood[0], last=flood[-1], count=2)
    assert more[0] > flood[-1]  # the flooding client's own new tasks go behind its queue


def test_two_clients_alternate_within_a_lane() -> None:
    a = fair_starts(now=0.0, head=None, last=None, count=5)
    b = fair_starts(now=0.0, head=a[0], last=None, count=5)
    order = sorted([(s, "a") for s in a] + [(s, "b") for s in b])
    assert "".join(c for _, c in order) in ("ababababab", "bababababa")
