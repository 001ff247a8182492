"""The scripts in examples/ run against a real server: the agent serves what the client
submits; the model agent exits cleanly with a message when no model API key is set."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.support.server import ServerProcess

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"


def _env(server_url: str, **extra: str) -> dict[str, str]:
    env = {**os.environ, "AINS_URL": server_url, "PYTHONPATH": str(ROOT), **extra}
    env.pop("AINS_API_KEY", None)
    return env


def test_example_agent_serves_the_example_client(server: ServerProcess, uid: str) -> None:
    agent = subprocess.Popen(
        [sys.executable, str(EXAMPLES / "agent.py")],
        env=_env(server.url, AGENT_NAME=f"example-{uid}"),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        client = subprocess.run(
            [sys.executable, str(EXAMPLES / "client.py")],
            env=_env(server.url), capture_output=True, text=True, timeout=120,
        )  # fmt: skip
    finally:
        agent.send_signal(signal.SIGTERM)
        agent_out, _ = agent.communicate(timeout=30)
    assert client.returncode == 0, client.stdout + client.stderr + agent_out
    lines = client.stdout.splitlines()
    assert lines[0].startswith("COMPLETED {'summary': 'AINS routes tasks to agents.")
    assert "count COMPLETED {'words': 3}" in lines
    assert any(line.startswith("summarise FAILED") and "non-empty" in line for line in lines)
    assert agent.returncode == 0
    assert "tasks done: 2, failed: 1" in agent_out


def test_model_agent_exits_cleanly_without_a_key(server: ServerProcess) -> None:
    env = _env(server.url)
    env.pop("OPENAI_API_KEY", None)
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / "model_agent.py")],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "OPENAI_API_KEY is not set" in done.stdout
    assert "Traceback" not in done.stderr
