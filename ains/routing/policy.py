"""Pure routing: which agent gets a task.

Among online, active agents that have the capability and free capacity:
1. agents that stay within 80% of `max_concurrency` after taking the task come first, highest
   trust first, then the lighter load, then the agent id (so the choice is deterministic);
2. only when none can, agents that stay within 100%, lightest load first, then highest trust.
No agent is ever given more than `max_concurrency` tasks.

`explain` turns one routing pass into what `GET /aitp/tasks/{id}/routing` shows: every agent
offering the capability with its load, trust, score and the rule that chose or refused it.
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

    @property
    def score(self) -> float:
        """One number for the policy's order: 1 + trust for an agent that stays within 80%
        after taking the task (ranked by trust), 1 − load for one that would pass it (ranked by
        load), 0 for one without room."""
        if self.within_soft_limit:
            return 1.0 + self.trust_score
        return 1.0 - self.load if self.has_room else 0.0


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


# Rules that refuse an agent before the policy ranks it, in the order they are checked.
REFUSALS = ("quarantined", "offline", "not_asking", "at_capacity")


@dataclass(frozen=True)
class Seen:
    """An agent offering the capability as the router saw it; `refused` names the rule that
    kept it out of the ranking (one of `REFUSALS`), None when it was ranked."""

    candidate: Candidate
    refused: str | None = None
    # quarantined for this capability only, otherwise free to work: owed a canary task
    canary_ready: bool = False


def ranked(candidates: list[Candidate]) -> list[Candidate]:
    """The candidates in the order the policy tries them (within 80% first, then overflow)."""
    preferred = sorted((c for c in candidates if c.within_soft_limit), key=_preferred_key)
    overflow = sorted(
        (c for c in candidates if c.has_room and not c.within_soft_limit), key=_overflow_key
    )
    return [*preferred, *overflow]


def _rule(c: Candidate, chosen: Candidate, share: int) -> str:
    if share > 0:
        return "own_share"
    if chosen.within_soft_limit and not c.within_soft_limit:
        return "over_80_percent"
    return "lower_score"


def explain(
    seen: list[Seen], chosen_id: str, shares: dict[str, int], *, canary: bool = False
) -> list[dict[str, object]]:
    """Every agent of one routing pass with its load, trust, score, rank and rule.

    `chosen_id` took the pass's tasks (`chosen`, or `canary` when it is quarantined for the
    capability and was given its one canary task); `shares` are the other agents' shares of
    the same waiting work (`own_share`). Ranked agents that got none were refused by the 80%
    rule (`over_80_percent`) or ranked below the chosen one (`lower_score`)."""
    order = ranked([s.candidate for s in seen if s.refused is None])
    rank = {c.agent_id: i + 1 for i, c in enumerate(order)}
    by_id = {s.candidate.agent_id: s.candidate for s in seen}
    chosen = by_id[chosen_id]
    out: list[dict[str, object]] = []
    last = len(order) + 1

    def order_key(s: Seen) -> tuple[bool, int, str]:
        a = s.candidate.agent_id
        return (a != chosen_id, rank.get(a, last), a)

    for s in sorted(seen, key=order_key):
        c = s.candidate
        if c.agent_id == chosen_id:
            rule = "canary" if canary else "chosen"
        elif s.refused is not None:
            rule = s.refused
        elif canary:
            rule = "own_share" if shares.get(c.agent_id, 0) > 0 else "lower_score"
        else:
            rule = _rule(c, chosen, shares.get(c.agent_id, 0))
        out.append(
            {
                "agent_id": c.agent_id,
                "in_flight": c.in_flight,
                "max_concurrency": c.max_concurrency,
                "load": round(c.load, 4),
                "trust": round(c.trust_score, 4),
                "score": round(c.score, 4) if s.refused is None else None,
                "rank": rank.get(c.agent_id),
                "share": shares.get(c.agent_id, 0),
                "rule": rule,
            }
        )
    return out
