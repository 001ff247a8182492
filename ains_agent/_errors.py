"""Errors a handler may raise to steer how its failure is reported."""

from __future__ import annotations

__all__ = ["PermanentError"]


class PermanentError(Exception):
    """Raise from a handler to fail the task permanently (`retryable=False`: no retry, DLQ)."""
