"""AINS agent SDK: write handlers, and `Agent` claims tasks, runs them and reports results."""

from ains_agent._agent import Agent
from ains_agent._context import Handler, TaskContext, TaskResult
from ains_agent._errors import PermanentError
from ains_agent._stats import AgentStats

__all__ = ["Agent", "AgentStats", "Handler", "PermanentError", "TaskContext", "TaskResult"]
