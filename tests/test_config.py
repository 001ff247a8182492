"""Issue 16, settings: every bad `AINS_*` setting or `ains serve` flag is refused at start with
one line on stderr naming the setting, its value and what is expected; exit code 2, no
traceback. Each case starts a real `ains serve` process (in parallel threads)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.support.server import (
    PG_ADMIN_URL,
    ROOT,
    free_port,
    running_server,
)


@dataclass(frozen=True)
class Case:
    env: dict[str, str]
    names: str  # the setting (or flag) the line must name
    says: tuple[str, ...] = ()  # further words the line must carry (value, expectation)
    args: tuple[str, ...] = field(default=())


def _serve(case: Case, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "AINS_DATABASE_URL": f"sqlite:///{tmp_path}/settings-{abs(hash(case.names))}.db",
        "AINS_PORT": str(free_port()),
        "AINS_LOG_LEVEL": "warning",
        **case.env,
    }
    return subprocess.run(
        [sys.executable, "-m", "ains.cli", "serve", *case.args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        timeout=90,
        text=True,
    )


def _assert_refused(cases: list[Case], tmp_path: Path) -> list[str]:
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda c: _serve(c, tmp_path), cases))
    failures = []
    for case, out in zip(cases, results, strict=True):
        lines = [line for line in out.stderr.splitlines() if line.strip()]
        line = lines[0] if lines else ""
        ok = (
            out.returncode == 2
            and len(lines) == 1
            and "Traceback" not in out.stderr + out.stdout
            and case.names in line
            and all(word in line for word in case.says)
        )
        if not ok:
            failures.append(f"{case.env} {case.args}: rc={out.returncode}\n{out.stderr[-1500:]}")
    assert not failures, "\n\n".join(failures)
    return [out.stderr for out in results]


def test_every_bad_setting_is_refused_in_one_line(tmp_path: Path) -> None:
    cases = [
        Case({"AINS_PORT": "abc"}, "AINS_PORT=abc", ("whole number",)),
        Case({"AINS_PORT": "99999"}, "AINS_PORT=99999", ("1 to 65535",)),
        Case({"AINS_PORT": "0"}, "AINS_PORT=0", ("1 to 65535",)),
        Case(
            {"AINS_AGENT_OFFLINE_AFTER": "-5"}, "AINS_AGENT_OFFLINE_AFTER=-5", ("greater than 0",)
        ),
        Case({"AINS_LEASE_SECONDS": "soon"}, "AINS_LEASE_SECONDS=soon", ("number",)),
        Case({"AINS_WORKERS": "0"}, "AINS_WORKERS=0", ("at least 1",)),
        Case(
            {"AINS_DATABASE_URL": "mysql://root@localhost/ains"},
            "AINS_DATABASE_URL=mysql://",
            ("sqlite", "postgresql"),
        ),
        Case({"AINS_LOG_LEVEL": "loud"}, "AINS_LOG_LEVEL=loud", ("debug", "info")),
        Case(
            {"AINS_TASK_TYPE_TIMEOUTS": '{"translate": 30'},
            "AINS_TASK_TYPE_TIMEOUTS=",
            ("malformed JSON", "JSON object"),
        ),
        Case(
            {"AINS_TASK_TYPE_TIMEOUTS": '{"translate": -1}'},
            "AINS_TASK_TYPE_TIMEOUTS=",
            ("translate", "greater than 0"),
        ),
        Case(
            {"AINS_WEBHOOK_ALLOWED_HOSTS": '["10.0.0.0/8"'},
            "AINS_WEBHOOK_ALLOWED_HOSTS=",
            ("malformed JSON",),
        ),
        Case(
            {"AINS_WEBHOOK_ALLOWED_HOSTS": "hooks.internal,http://10.0.0.1/x"},
            "AINS_WEBHOOK_ALLOWED_HOSTS=",
            ("'http://10.0.0.1/x'", "CIDR"),
        ),
        Case(
            {"AINS_WEBHOOK_ALLOWED_HOSTS": "10.0.0.0/33"}, "AINS_WEBHOOK_ALLOWED_HOSTS=10.0.0.0/33"
        ),
        Case(
            {"AINS_METRICS_ALLOW": "10.0.0.0/8,everyone"},
            "AINS_METRICS_ALLOW=",
            ("'everyone'", "CIDR"),
        ),
        Case({"AINS_REDIS_URL": "localhost:6379"}, "AINS_REDIS_URL=localhost:6379", ("redis://",)),
        Case({"AINS_MIGRATE_ON_START": "maybe"}, "AINS_MIGRATE_ON_START=maybe", ("true or false",)),
        Case(
            {"AINS_ENCRYPTION_KEYS": "k1:tooshort"}, "AINS_ENCRYPTION_KEYS=(hidden)", ("32 bytes",)
        ),
        Case(
            {"AINS_DATABASE_URL": "sqlite:////nonexistent-dir/x/ains.db"},
            "AINS_DATABASE_URL=",
            ("/nonexistent-dir/x", "does not exist"),
        ),
        Case({"AINS_DATABASE_URL": "sqlite:////proc/ains.db"}, "AINS_DATABASE_URL=", ("writable",)),
        Case({"AINS_HOST": "no-such-host.invalid"}, "AINS_HOST=no-such-host.invalid"),
        Case({}, "--port=abc", ("whole number",), args=("--port", "abc")),
        Case({}, "--port=70000", ("1 to 65535",), args=("--port", "70000")),
        Case({}, "--log-level=chatty", ("debug",), args=("--log-level", "chatty")),
        Case({}, "--workers=two", ("whole number",), args=("--workers", "two")),
    ]
    _assert_refused(cases, tmp_path)


def test_a_port_in_use_is_refused_in_one_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        _assert_refused(
            [Case({"AINS_PORT": str(port)}, f"AINS_PORT={port}", ("in use",))], tmp_path
        )


def test_an_unreachable_or_misspelled_postgresql_is_refused_in_one_line(tmp_path: Path) -> None:
    from tests.conftest import require_postgres

    require_postgres()
    closed = free_port()  # nothing listens there
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    host_base = base.replace("127.0.0.1:5432", f"127.0.0.1:{closed}")
    cases = [
        Case(
            {"AINS_DATABASE_URL": f"{host_base}/ains"},
            "AINS_DATABASE_URL=postgresql://",
            (f":{closed}", "cannot connect"),
        ),
        Case(
            {"AINS_DATABASE_URL": f"{base}/ains_no_such_database_x"},
            "AINS_DATABASE_URL=postgresql://",
            ("ains_no_such_database_x", "does not exist"),
        ),
        Case(
            {"AINS_DATABASE_URL": f"{base}/ains_no_such_database_x"},
            "--database-url=",
            ("does not exist",),
            args=("--database-url", f"{base}/ains_no_such_database_x"),
        ),
    ]
    _assert_refused(cases, tmp_path)


def test_a_database_password_is_never_printed(tmp_path: Path) -> None:
    url = f"postgresql://someone:hunter2-s3cret@127.0.0.1:{free_port()}/ains"
    case = Case({"AINS_DATABASE_URL": url}, "AINS_DATABASE_URL=postgresql://someone:***@")
    [stderr] = _assert_refused([case], tmp_path)
    assert "hunter2" not in stderr


@pytest.mark.parametrize("allowed", ["127.0.0.1", "127.0.0.1, hooks.internal", '["127.0.0.1"]'])
def test_list_settings_accept_comma_separated_and_json(
    backend: str, tmp_path: Path, allowed: str
) -> None:
    """`AINS_WEBHOOK_ALLOWED_HOSTS=127.0.0.1` means: webhooks may call 127.0.0.1 (exempt from
    the SSRF check); other private addresses stay refused."""
    hook = {"url": "http://127.0.0.1:9/hook", "events": ["task.completed"]}
    with running_server(
        backend, tmp_path, AINS_WEBHOOK_ALLOWED_HOSTS=allowed, AINS_METRICS_ALLOW="127.0.0.0/8, ::1"
    ) as server:
        assert httpx.post(f"{server.url}/aitp/webhooks", json=hook).status_code == 201
        other = {**hook, "url": "http://10.1.2.3/hook"}
        assert httpx.post(f"{server.url}/aitp/webhooks", json=other).status_code == 422
        assert httpx.get(f"{server.url}/metrics").status_code == 200


def test_a_misspelled_setting_is_named_with_the_setting_it_resembles(tmp_path: Path) -> None:
    with running_server("sqlite", tmp_path, AINS_LEASE_SECNDS="5") as server:
        log = server.log()
    assert "AINS_LEASE_SECNDS is not an AINS setting (did you mean AINS_LEASE_SECONDS?)" in log
