"""Pure queue order. Routing takes PENDING tasks by `queue_key`, lowest first.

    queue_key = virtual_start - priority × W

* **Priority and aging.** W is `aging_interval` seconds (default 60): one priority level is
  worth W seconds of waiting, so a waiting task overtakes every task of the next priority up that
  arrived more than W seconds after it — a priority-1 task waits at most 9 × W (9 minutes by
  default) behind a steady stream of priority-10 work, never forever. `aging_interval = 0`
  means strict priority (W = 10⁷ s: never overtaken).
* **Fairness between clients** (start-time fair queuing). Within one lane — same capability and
  priority — each client's tasks get virtual start times one `FAIR_QUANTUM` apart, and a client's
  first waiting task starts at the lane's head (the smallest start still queued, or now if the
  lane is empty). So a client with 10,000 queued tasks and a client with one are served in turn:
  the newcomer's task goes next, not after the 10,000.
"""

from __future__ import annotations

STRICT_PRIORITY_WEIGHT = 1e7  # seconds per level when aging is off: never overtaken
FAIR_QUANTUM = 0.001  # seconds of virtual time between one client's consecutive tasks in a lane


def level_weight(aging_interval: float) -> float:
    return aging_interval or STRICT_PRIORITY_WEIGHT


def queue_key(priority: int, virtual_start: float, aging_interval: float) -> float:
    return virtual_start - priority * level_weight(aging_interval)


def virtual_start(priority: int, key: float, aging_interval: float) -> float:
    return key + priority * level_weight(aging_interval)


def fair_starts(
    now: float, head: float | None, last: float | None, count: int, quantum: float = FAIR_QUANTUM
) -> list[float]:
    """Virtual start times for a client's `count` new tasks in one lane.

    head: the smallest start queued in the lane (None if empty); last: the client's largest."""
    first = now if head is None else min(head, now)
    if last is not None:
        first = max(first, last + quantum)
    return [first + i * quantum for i in range(count)]
