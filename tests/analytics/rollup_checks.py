"""The check the rollup tests share: every rollup dimension and grain counts the finished
tasks exactly."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable

from tests.support.flows import TERMINAL

# (status, last assigned agent, task type) of a task
TaskFacts = tuple[str, str | None, str]
KEYS: dict[str, Callable[[TaskFacts], str]] = {
    "all": lambda t: "",
    "agent": lambda t: t[1] or "",
    "type": lambda t: t[2],
}


def assert_rollups_count(
    tasks: Iterable[TaskFacts], rolled: Iterable[tuple[str, str, str, int]]
) -> None:
    """`rolled` holds (dim, key, status, summed n) rows; per dimension, the hourly and the
    daily grain must both equal a count of the finished tasks by (key, status)."""
    finished = [t for t in tasks if t[0] in TERMINAL]
    rows = list(rolled)
    for dim, key in KEYS.items():
        expected = Counter((key(t), t[0]) for t in finished)
        for grain in (dim, f"{dim}:d"):
            got = {(k, s): int(n) for d, k, s, n in rows if d == grain}
            assert got == dict(expected), grain
