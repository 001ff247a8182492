"""`python -m ains_agent`: the sample agent."""

from ains_agent.cli import agent_app

agent_app(prog_name="ains agent")
