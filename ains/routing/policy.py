"""Pure routing: which agent gets a task.

Among online, active agents that have the capability and free capacity:
1. agents that stay within 80% of `max_concurrency` after taking the task come first, highest
   trust first, then the lighter load, then the agent id (so the choice is deterministic);
2. only when none can, agents that stay within 100%, lightest load first, then highest trust.
No agent is ever given more than `max_concurrency` tasks.
"""

from __future__ import annotations

from dataclasses import dataclass

SOFT_LOAD_LIMIT = 0.8


@dataclass(frozen=True)
class Candidate:
    agent_id: str
    trust_score: float
    in_flight: int
    max_concurrency: int

    @property
    def has_room(self) -> bool:
        return self.in_flight < self.max_concurrency

    @property
    def within_soft_limit(self) -> bool:
        return self.in_flight + 1 <= SOFT_LOAD_LIMIT * self.max_concurrency

    @property
    def load(self) -> float:
        return self.in_flight / self.max_concurrency


@dataclass(frozen=True)
class RoutingDecision:
    agent_id: str | None
    tier: str  # "preferred" (within 80%), "overflow" (80–100%) or "none"
    ranking: tuple[tuple[str, float, float], ...]  # (agent_id, trust, load) in the order tried


def _preferred_key(c: Candidate) -> tuple[float, float, str]:
    return (-c.trust_score, c.load, c.agent_id)


def _overflow_key(c: Candidate) -> tuple[float, float, str]:
    return (c.load, -c.trust_score, c.agent_id)


def choose_agent(candidates: list[Candidate]) -> RoutingDecision:
    preferred = sorted((c for c in candidates if c.within_soft_limit), key=_preferred_key)
    overflow = sorted(
        (c for c in candidates if c.has_room and not c.within_soft_limit), key=_overflow_key
    )
    ranking = tuple((c.agent_id, c.trust_score, c.load) for c in (*preferred, *overflow))
    if preferred:
        return RoutingDecision(preferred[0].agent_id, "preferred", ranking)
    if overflow:
        return RoutingDecision(overflow[0].agent_id, "overflow", ranking)
    return RoutingDecision(None, "none", ranking)


def assign_many(candidates: list[Candidate], count: int) -> list[str]:
    """Route `count` tasks one after another, each seeing the load the previous ones added."""
    pool = {c.agent_id: c for c in candidates}
    chosen: list[str] = []
    for _ in range(count):
        decision = choose_agent(list(pool.values()))
        if decision.agent_id is None:
            break
        c = pool[decision.agent_id]
        pool[c.agent_id] = Candidate(c.agent_id, c.trust_score, c.in_flight + 1, c.max_concurrency)
        chosen.append(c.agent_id)
    return chosen
