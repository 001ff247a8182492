"""Counters an agent keeps while it runs."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["AgentStats"]


@dataclass
class AgentStats:
    """What the agent did: tasks claimed, completed, failed, cancelled; reports refused."""

    claimed: int = 0
    completed: int = 0
    failed: int = 0
    cancelled: int = 0
    reports_rejected: int = 0

    def summary(self) -> str:
        """A one-line summary for logs and the CLI."""
        return (
            f"tasks done: {self.completed}, failed: {self.failed}, "
            f"cancelled: {self.cancelled}, claimed: {self.claimed}, "
            f"reports refused: {self.reports_rejected}"
        )
