"""The `ains` client commands against a real server process, on SQLite and PostgreSQL: every
command group, `--json`, 80 columns, colours, progress, and errors as one readable message; the
sample agent stops on SIGTERM at once when idle, after reporting its task when busy."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import typer
from typer.testing import CliRunner, Result

from ains import cli
from ains_agent._live import RateLine
from ains_agent._stats import AgentStats
from ains_agent.cli import agent_app
from ains_client import Client
from ains_client.cli import add_key_commands, mount
from tests.support.flows import get_task, submit, wait_status
from tests.support.server import AgentProcess, ServerProcess, wait_for

ROOT = Path(__file__).resolve().parents[2]
app = typer.Typer()
mount(app)
keys_app = typer.Typer()
add_key_commands(keys_app)
app.add_typer(keys_app, name="keys")
runner = CliRunner()


def ains(server: ServerProcess, *args: str, columns: int = 80) -> Result:
    """Run `ains ARGS` in this process against `server`, on an 80-column terminal."""
    env = {"AINS_URL": server.url, "COLUMNS": str(columns), "AINS_API_KEY": ""}
    return runner.invoke(app, list(args), env=env)


def as_json(result: Result) -> Any:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def ains_process(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "ains.cli", *args],
        capture_output=True, text=True, env=full, cwd=ROOT, timeout=60,
    )  # fmt: skip


def _headers(output: str, first: str) -> str:
    return next(line for line in output.splitlines() if line.strip().startswith(first))


def _commands(command: Any, path: str = "ains") -> Iterator[tuple[str, Any]]:
    """Every command under `command` (typer's own click), by its full name."""
    yield path, command
    if hasattr(command, "commands"):
        for name, sub in command.commands.items():
            yield from _commands(sub, f"{path} {name}")


def test_version_and_help_on_every_flag() -> None:
    version = ains_process("--version")
    assert version.returncode == 0 and version.stdout.startswith("ains 0.")
    cli._mount_sdk_commands()
    everything = dict(_commands(typer.main.get_command(cli.app)))
    for group in ("task", "batch", "schedule", "template", "webhook", "dlq", "analytics",
                  "agents", "agent", "keys"):  # fmt: skip
        assert f"ains {group}" in everything
    assert "ains task submit-batch" in everything and "ains keys revoke" in everything
    missing = [
        f"{path} {param.name}"
        for path, command in everything.items()
        for param in command.params
        if not getattr(param, "help", None)
    ]
    assert missing == []


def test_task_submit_get_list_cancel_retry(server: ServerProcess, uid: str) -> None:
    made = as_json(ains(server, "task", "submit", "--task-type", "t", "--capability",
                        f"cap-{uid}", "--client-id", uid, "--input", '{"n": 1}', "--priority",
                        "7", "--json"))  # fmt: skip
    task_id = made["task_id"]
    shown = ains(server, "task", "get", task_id)
    assert shown.exit_code == 0 and task_id in shown.stdout and "PENDING" in shown.stdout
    assert as_json(ains(server, "task", "get", task_id, "--json"))["priority"] == 7
    ains(server, "task", "submit", "--task-type", "a-long-task-type-name", "--capability",
         f"a-long-capability-name:{uid}", "--client-id", uid)  # fmt: skip
    listed = ains(server, "task", "list", "--client-id", uid)
    assert listed.exit_code == 0
    header = _headers(listed.stdout, "id")
    assert header.split() == ["id", "status", "type", "capability", "prio"]
    assert "…" not in listed.stdout and task_id in listed.stdout
    assert all(len(line) <= 80 for line in listed.stdout.splitlines())
    page = as_json(ains(server, "task", "list", "--client-id", uid, "--limit", "1", "--json"))
    assert len(page["items"]) == 1 and page["next_cursor"]
    rest = as_json(ains(server, "task", "list", "--client-id", uid, "--limit", "1", "--cursor",
                        page["next_cursor"], "--json"))  # fmt: skip
    assert rest["items"][0]["task_id"] == task_id
    assert as_json(ains(server, "task", "cancel", task_id, "--json"))["status"] == "CANCELLED"
    assert as_json(ains(server, "task", "retry", task_id, "--json"))["status"] == "PENDING"
    assert as_json(ains(server, "task", "result", task_id, "--json"))["status"] == "PENDING"


def test_errors_are_one_readable_message(server: ServerProcess, uid: str) -> None:
    missing = ains(server, "task", "get", f"task_{uid}")
    assert missing.exit_code == 1
    assert missing.stderr.splitlines()[0] == "error: Not Found (404)"
    assert "Traceback" not in missing.output
    invalid = ains(server, "task", "submit", "--task-type", "t", "--capability", "c",
                   "--input", '{"x": 1}', "--timeout-seconds", "-1")  # fmt: skip
    assert invalid.exit_code == 1
    assert "timeout_seconds: " in invalid.stderr and "(422)" in invalid.stderr
    bad_json = ains(server, "task", "submit", "--task-type", "t", "--capability", "c",
                    "--input", "{nope")  # fmt: skip
    assert bad_json.exit_code == 2 and "not valid JSON" in bad_json.output


def test_an_unreachable_server_is_one_line() -> None:
    done = ains_process("task", "list", env={"AINS_URL": "http://127.0.0.1:9"})
    assert done.returncode == 1
    assert done.stderr.strip() == "error: the server is unreachable at http://127.0.0.1:9"


def test_statuses_are_coloured(server: ServerProcess, uid: str) -> None:
    with Client(server.url) as client:
        client.tasks.submit(uid, "t", f"cap-{uid}")
    env = {"AINS_URL": server.url, "FORCE_COLOR": "1", "COLUMNS": "80"}
    done = ains_process("task", "list", "--client-id", uid, env=env)
    assert done.returncode == 0, done.stderr
    assert "\x1b[33mPENDING\x1b[0m" in done.stdout


def test_wait_shows_each_task_until_terminal(server: ServerProcess, uid: str) -> None:
    with Client(server.url) as client:
        ids = [client.tasks.submit(uid, "t", f"cap-{uid}")["task_id"] for _ in range(2)]
        for task_id in ids:
            client.tasks.cancel(task_id)
    waited = ains(server, "task", "wait", *ids, "--json")
    assert waited.exit_code == 1  # cancelled is not completed
    assert [t["status"] for t in json.loads(waited.stdout)] == ["CANCELLED", "CANCELLED"]
    shown = ains(server, "task", "wait", *ids)
    assert "2/2 finished" in shown.stderr and ids[0] in shown.stderr
    with Client(server.url) as client:
        pending = client.tasks.submit(uid, "t", f"cap-{uid}")["task_id"]
    late = ains(server, "task", "wait", pending, "--timeout", "0.3", "--poll-interval", "0.1")
    assert late.exit_code == 1 and "timed out" in late.stderr


def test_wait_returns_0_once_an_agent_completes(server: ServerProcess, uid: str) -> None:
    agent = AgentProcess(server.url, ["-c", f"cap-{uid}", "--handler", "upper",
                                      "--wait-seconds", "1"]).start()  # fmt: skip
    try:
        with Client(server.url) as client:
            task = client.tasks.submit(uid, "t", f"cap-{uid}", {"text": "hi"})
        done = ains(server, "task", "wait", task["task_id"], "--timeout", "60", "--json")
        assert done.exit_code == 0, done.output + agent.log()
        assert json.loads(done.stdout)[0]["status"] == "COMPLETED"
    finally:
        agent.stop()
    assert agent.proc is not None and agent.proc.returncode == 0
    assert "tasks done: 1" in agent.log()


def test_submit_batch_splits_shows_progress_and_sums_up(
    server: ServerProcess, uid: str, tmp_path: Path
) -> None:
    good = {"task_type": "t", "capability_required": f"cap-{uid}", "input_data": {}}
    lines = [json.dumps({**good, "input_data": {"n": n}}) for n in range(230)]
    lines[10] = json.dumps({"task_type": "t"})  # no capability
    lines[20] = "not json"
    lines[150] = json.dumps({**good, "priority": 99})
    path = tmp_path / "tasks.jsonl"
    path.write_text("\n".join(lines) + "\n\n")
    shown = ains(server, "task", "submit-batch", "--file", str(path), "--client-id", uid)
    assert shown.exit_code == 1  # some were refused
    assert "230/230" in shown.stderr and "tasks/s" in shown.stderr and "ETA" in shown.stderr
    summary = _headers(shown.stdout, "accepted")
    assert summary.split() == ["accepted", "refused", "batches"]
    assert "227" in shown.stdout and "capability_required" in shown.stdout
    assert "not JSON" in shown.stdout
    again = as_json_or_1(ains(server, "task", "submit-batch", "--file", str(path),
                              "--client-id", uid, "--batch-size", "500", "--json"))  # fmt: skip
    assert again["accepted"] == 227 and len(again["batch_ids"]) == 3  # split at 100
    assert [(r["line"], r["field"]) for r in again["refused"]] == [
        (11, "capability_required"), (21, "-"), (151, "priority")
    ]  # fmt: skip
    with Client(server.url) as client:
        total = sum(1 for _ in client.tasks.iter_tasks(client_id=uid, limit=500))
    assert total == 2 * 227


def as_json_or_1(result: Result) -> Any:
    assert result.exit_code == 1, result.output
    return json.loads(result.stdout)


def test_resource_groups(server: ServerProcess, uid: str) -> None:
    batch_file_task = {"task_type": "t", "capability_required": f"cap-{uid}"}
    with Client(server.url) as client:
        batch = client.batches.submit([batch_file_task], client_id=uid)
        template = client.templates.create(f"tpl-{uid}", task_type="t",
                                            capability_required=f"cap-{uid}")  # fmt: skip
    bid, tid = batch["batch_id"], template["template_id"]
    assert as_json(ains(server, "batch", "get", bid, "--json"))["total_tasks"] == 1
    assert "PENDING" in ains(server, "batch", "results", bid).stdout
    assert as_json(ains(server, "batch", "cancel", bid, "--json"))["cancelled"] == 1
    made = as_json(ains(server, "schedule", "create", "--task-type", "t", "--capability",
                        f"cap-{uid}", "--every", "3600", "--client-id", uid, "--json"))  # fmt: skip
    sid = made["schedule_id"]
    assert sid in ains(server, "schedule", "list", "--client-id", uid).stdout
    assert as_json(ains(server, "schedule", "pause", sid, "--json"))["status"] == "PAUSED"
    assert as_json(ains(server, "schedule", "resume", sid, "--json"))["status"] == "ACTIVE"
    assert as_json(ains(server, "schedule", "execute", sid, "--json"))["task_id"]
    assert as_json(ains(server, "schedule", "get", sid, "--json"))["schedule_id"] == sid
    assert as_json(ains(server, "schedule", "delete", sid, "--json"))["deleted"] is True
    assert tid in ains(server, "template", "list").stdout
    assert as_json(ains(server, "template", "get", tid, "--json"))["name"] == f"tpl-{uid}"
    task = as_json(ains(server, "template", "submit", tid, "--overrides",
                        json.dumps({"client_id": uid}), "--json"))  # fmt: skip
    assert task["capability_required"] == f"cap-{uid}"
    assert as_json(ains(server, "template", "delete", tid, "--json"))["deleted"] is True
    hook = as_json(ains(server, "webhook", "create", f"https://hooks.invalid/{uid}", "--event",
                        "task.completed", "--json"))  # fmt: skip
    wid = hook["webhook_id"]
    assert wid in ains(server, "webhook", "list", columns=200).stdout
    assert as_json(ains(server, "webhook", "get", wid, "--json"))["events"] == ["task.completed"]
    assert as_json(ains(server, "webhook", "test", wid, "--json"))["success"] is False
    assert as_json(ains(server, "webhook", "delete", wid, "--json"))["deleted"] is True


def test_dlq_analytics_and_agents_groups(server: ServerProcess, uid: str) -> None:
    cap = f"cap-{uid}"
    with Client(server.url) as client:
        task = client.tasks.submit(uid, "t", cap, retry_policy={"max_retries": 0})
        agent = client.agents.register(f"a-{uid}", [cap])
        claimed = client.agents.claim(agent["agent_id"], 1, wait_seconds=5)
        client.agents.fail(task["task_id"], claimed[0]["attempt_id"], "boom", retryable=False)
    listed = ains(server, "dlq", "list", "--capability", cap)
    assert task["task_id"] in listed.stdout and "boom" in listed.stdout
    assert as_json(ains(server, "dlq", "requeue", task["task_id"], "--json"))["status"] == "PENDING"
    assert as_json(ains(server, "dlq", "purge", "--capability", cap, "--json"))["purged"] == 0
    assert ains(server, "dlq", "purge").exit_code == 2  # everything needs --yes
    assert "success_rate" in ains(server, "analytics", "summary").stdout
    assert isinstance(as_json(ains(server, "analytics", "agents", "--period", "all", "--json")),
                      dict)  # fmt: skip
    bad = ains(server, "analytics", "summary", "--period", "yesterday")
    assert bad.exit_code == 1 and bad.stderr.splitlines()[1].strip().startswith("period:")
    assert agent["agent_id"] in ains(server, "agents", "list", "--limit", "500").stdout
    assert as_json(ains(server, "agents", "get", agent["agent_id"], "--json"))["name"] == f"a-{uid}"
    assert as_json(ains(server, "agents", "remove", agent["agent_id"], "--json"))["removed"]
    with Client(server.url) as client:
        key = client.keys.create("client", f"c-{uid}", f"k-{uid}")
    assert key["key_id"] in ains(server, "keys", "list", "--limit", "500", columns=200).stdout
    assert as_json(ains(server, "keys", "revoke", key["key_id"], "--json"))["revoked"] is True


def test_agent_live_line_counts_per_second() -> None:
    stats = AgentStats()
    now = [100.0]
    line = RateLine(stats, clock=lambda: now[0])
    assert line.line().startswith("claimed 0 (0.0/s)")
    stats.claimed, stats.completed, stats.failed = 10, 8, 2
    now[0] = 102.0
    assert line.line() == "claimed 10 (5.0/s) · completed 8 (4.0/s) · failed 2 (1.0/s)"
    now[0] = 102.5  # under a second: the rates stay
    stats.completed = 9
    assert "completed 9 (4.0/s)" in line.line()


def test_agent_command_refuses_unknown_handlers() -> None:
    assert runner.invoke(agent_app, ["--handler", "nope"]).exit_code == 2


def test_sigterm_stops_the_agent_with_exit_0_and_json_counts() -> None:
    env = {**os.environ, "AINS_URL": "http://127.0.0.1:9", "AINS_LOG_LEVEL": "warning",
           "PYTHONPATH": str(ROOT)}  # fmt: skip
    proc = subprocess.Popen(
        [sys.executable, "-m", "ains_agent", "-c", "x:v1", "--json"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
    )  # fmt: skip
    try:
        assert proc.stderr is not None
        first = proc.stderr.readline()  # "cannot register": the signal handlers are installed
        assert "cannot register" in first, first
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0
    assert json.loads(out.strip().splitlines()[-1])["completed"] == 0


# A behaviour bound, not a benchmark: an idle agent is gone in well under a second (measured
# 0.15 s on a loaded 2-core machine); AgentProcess.stop waits 15 s before it kills.
EXIT_WITHIN_SECONDS = 5.0


def _agent_id(agent: AgentProcess) -> str | None:
    found = re.search(r"agent_id: (\S+)", agent.log())
    return found.group(1) if found else None


def test_sigterm_stops_an_idle_agent_at_once_and_a_busy_one_after_reporting_its_task(
    server: ServerProcess, api: httpx.Client, uid: str
) -> None:
    idle_cap, busy_cap = f"idle-{uid}:v1", f"busy-{uid}:v1"
    idle = AgentProcess(server.url, ["-c", idle_cap, "--handler", "echo"]).start()
    busy = AgentProcess(server.url, ["-c", busy_cap, "--handler", "sleep"]).start()
    try:
        idle_id = wait_for(lambda: _agent_id(idle), timeout=60, message="the idle agent to start")
        wait_for(
            lambda: api.get(f"/ains/agents/{idle_id}").json()["asking_for_work"],
            timeout=30,
            message="the idle agent to park in a claim",
        )
        task = submit(api, busy_cap, input_data={"seconds": 3})
        wait_status(api, task["task_id"], "RUNNING", timeout=60)  # in flight when signalled
        assert idle.proc is not None and busy.proc is not None
        signalled = time.monotonic()
        idle.proc.send_signal(signal.SIGTERM)
        busy.proc.send_signal(signal.SIGTERM)
        idle.proc.wait(timeout=30)
        idle_took = time.monotonic() - signalled
        busy.proc.wait(timeout=30)
        busy_took = time.monotonic() - signalled
        # the busy agent finished its task and reported it before it exited
        assert get_task(api, task["task_id"])["status"] == "COMPLETED", busy.log()
    finally:
        idle.stop()
        busy.stop()
    print(f"\nidle agent exited {idle_took:.2f} s after SIGTERM; busy one {busy_took:.2f} s")
    assert idle_took < EXIT_WITHIN_SECONDS, idle.log()
    assert idle.proc.returncode == 0, idle.log()
    assert "tasks done: 0" in idle.log()
    assert busy_took < 3 + EXIT_WITHIN_SECONDS, busy.log()
    assert busy.proc.returncode == 0, busy.log()
    assert "tasks done: 1" in busy.log()
