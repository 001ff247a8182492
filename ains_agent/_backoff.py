"""Exponential backoff with full jitter, for retrying an unreachable server."""

from __future__ import annotations

import random

__all__ = ["Backoff"]


class Backoff:
    """Delays of `base`, `2·base`, `4·base`, … capped at `cap`, each jittered down to half."""

    def __init__(self, base: float = 0.2, cap: float = 10.0, rng: random.Random | None = None):
        self.base = base
        self.cap = cap
        self._attempt = 0
        self._rng = rng or random.Random()

    def next(self) -> float:
        """The delay before the next try; each call doubles the next one (up to `cap`)."""
        delay = min(self.cap, self.base * 2.0**self._attempt)
        self._attempt = min(self._attempt + 1, 30)
        return delay * (0.5 + self._rng.random() / 2)

    def reset(self) -> None:
        """Start again from `base` (after a success)."""
        self._attempt = 0
