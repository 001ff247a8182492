"""`ains task …` and `ains agent` commands, with the HTTP side faked."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from sdk_fakes import FakeServer, make_task
from typer.testing import CliRunner

import ains_agent.cli
import ains_client.cli
from ains_agent.cli import agent_app
from ains_agent.sample import build_agent
from ains_client import Client
from ains_client.cli import task_app

runner = CliRunner()


def fake_api(monkeypatch: pytest.MonkeyPatch, *responses: httpx.Response) -> list[httpx.Request]:
    seen: list[httpx.Request] = []
    queue = list(responses)

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return queue.pop(0) if len(queue) > 1 else queue[0]

    def make(url: str | None, key: str | None) -> Client:
        return Client(url, key, transport=httpx.MockTransport(handle))

    monkeypatch.setattr(ains_client.cli, "make_client", make)
    return seen


def a_task(status: str = "PENDING", **extra: Any) -> dict[str, Any]:
    return {
        "task_id": "task_1", "status": status, "task_type": "t", "capability_required": "x:v1",
        "priority": 5, "assigned_agent_id": None, "retry_count": 0, "max_retries": 3,
        "created_at": "2030-01-01T00:00:00Z", **extra,
    }  # fmt: skip


def test_submit_prints_the_task(monkeypatch: pytest.MonkeyPatch) -> None:
    seen = fake_api(monkeypatch, httpx.Response(201, json=a_task()))
    result = runner.invoke(task_app, [
        "submit", "--client-id", "c1", "--task-type", "t", "--capability", "x:v1",
        "--input", '{"text": "hi"}', "--priority", "7", "--max-retries", "1",
    ])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["task_id"] == "task_1"
    body = json.loads(seen[0].content)
    assert body["input_data"] == {"text": "hi"} and body["priority"] == 7
    assert body["retry_policy"] == {"max_retries": 1}


def test_submit_rejects_invalid_json() -> None:
    result = runner.invoke(task_app, ["submit", "--task-type", "t", "--capability", "x",
                                      "--input", "{nope"])  # fmt: skip
    assert result.exit_code == 2
    assert "JSON" in result.output


def test_submit_wait_prints_the_outcome(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_api(
        monkeypatch,
        httpx.Response(201, json=a_task()),
        httpx.Response(200, json=a_task("COMPLETED", result_data={"echo": 1})),
    )
    result = runner.invoke(task_app, ["submit", "--task-type", "t", "--capability", "x:v1",
                                      "--wait", "--timeout", "5"])  # fmt: skip
    assert result.exit_code == 0, result.output
    outcome = json.loads(result.stdout)
    assert outcome["status"] == "COMPLETED" and outcome["result_data"] == {"echo": 1}


def test_wait_exits_1_when_the_task_failed(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_api(monkeypatch, httpx.Response(200, json=a_task("FAILED", last_error="boom")))
    result = runner.invoke(task_app, ["wait", "task_1", "--timeout", "1"])
    assert result.exit_code == 1
    assert json.loads(result.stdout)["last_error"] == "boom"


def test_wait_times_out(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_api(monkeypatch, httpx.Response(200, json=a_task("RUNNING")))
    result = runner.invoke(task_app, ["wait", "task_1", "--timeout", "0.05",
                                      "--poll-interval", "0.01"])  # fmt: skip
    assert result.exit_code == 1
    assert "timed out" in result.stderr


def test_get_and_cancel(monkeypatch: pytest.MonkeyPatch) -> None:
    seen = fake_api(monkeypatch, httpx.Response(200, json=a_task("CANCELLED")))
    assert runner.invoke(task_app, ["get", "task_1"]).exit_code == 0
    result = runner.invoke(task_app, ["cancel", "task_1", "--reason", "dup"])
    assert result.exit_code == 0
    assert seen[-1].method == "DELETE" and json.loads(seen[-1].content) == {"reason": "dup"}


def test_list_renders_a_table(monkeypatch: pytest.MonkeyPatch) -> None:
    page = {"items": [a_task("RUNNING", assigned_agent_id="agt_9")], "next_cursor": None}
    seen = fake_api(monkeypatch, httpx.Response(200, json=page))
    result = runner.invoke(task_app, ["list", "--status", "running", "--limit", "5"])
    assert result.exit_code == 0, result.output
    assert "task_1" in result.stdout and "agt_9" in result.stdout and "RUNNING" in result.stdout
    assert seen[0].url.params["status"] == "RUNNING"
    as_json = runner.invoke(task_app, ["list", "--json"])
    assert json.loads(as_json.stdout)["items"][0]["task_id"] == "task_1"


def test_errors_are_printed_with_exit_1(monkeypatch: pytest.MonkeyPatch) -> None:
    problem = {"title": "Unprocessable Content", "status": 422, "detail": "bad priority",
               "errors": [{"field": "priority", "reason": "must be between 1 and 10"}]}  # fmt: skip
    fake_api(monkeypatch, httpx.Response(422, json=problem))
    result = runner.invoke(task_app, ["get", "task_1"])
    assert result.exit_code == 1
    assert "bad priority" in result.stderr and "priority: must be" in result.stderr


def test_agent_command_prints_its_id_and_a_summary(monkeypatch: pytest.MonkeyPatch) -> None:
    server = FakeServer(queue=[make_task(1, capability="x:v1")])

    def build(*args: Any, **kwargs: Any) -> Any:
        agent = build_agent(*args, transport=server.transport(), **kwargs)
        server.on_report = lambda report: agent.stop()
        return agent

    monkeypatch.setattr(ains_agent.cli, "build_agent", build)
    result = runner.invoke(agent_app, ["-c", "x:v1", "--handler", "upper", "--wait-seconds", "1",
                                       "--url", "http://ains.test"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "agent_id: agt_1" in result.stdout
    assert "tasks done: 1, failed: 0" in result.stdout
    assert server.reports[0]["result_data"] == {"n": 1}


def test_agent_command_rejects_unknown_handlers() -> None:
    result = runner.invoke(agent_app, ["--handler", "nope"])
    assert result.exit_code == 2


def test_sigterm_stops_the_agent_with_exit_0() -> None:
    env = {**os.environ, "AINS_URL": "http://127.0.0.1:9", "AINS_LOG_LEVEL": "warning"}
    root = Path(__file__).resolve().parents[2]
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(root), env.get("PYTHONPATH")]))
    proc = subprocess.Popen(
        [sys.executable, "-m", "ains_agent", "-c", "x:v1"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        # its first "cannot register" warning means the signal handlers are installed
        assert proc.stderr is not None
        first = proc.stderr.readline()
        assert "cannot register" in first, first
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0
    assert "tasks done: 0" in out
