"""Real server and agent processes for end-to-end tests."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx

PG_ADMIN_URL = os.environ.get("AINS_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REQUIRE_SERVICES = os.environ.get("AINS_TEST_REQUIRE_SERVICES", "") not in ("", "0", "false")
ROOT = Path(__file__).resolve().parents[2]
T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run_coroutine(coroutine: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run`, also from a thread whose event loop runs (Playwright's sync API, an
    async test): then in a thread of its own."""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def _pg_execute(sql: str, url: str = PG_ADMIN_URL) -> None:
    """Run one statement on the test PostgreSQL server (its admin database unless told)."""
    import asyncpg

    async def run() -> None:
        conn = await asyncpg.connect(url, timeout=5)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    run_coroutine(run())


def postgres_available() -> str | None:
    """None when PostgreSQL answers, else the reason it does not."""
    try:
        _pg_execute("SELECT 1")
    except Exception as exc:
        return f"PostgreSQL at {PG_ADMIN_URL} unavailable: {exc}"
    return None


def pg_database_url(name: str) -> str:
    """The URL of database `name` on the test PostgreSQL server."""
    return f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{name}"


def create_pg_database() -> str:
    name = f"ains_test_{uuid.uuid4().hex[:10]}"
    _pg_execute(f'CREATE DATABASE "{name}"')
    return pg_database_url(name)


def drop_pg_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    with contextlib.suppress(Exception):
        _pg_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def fresh_database_url(backend: str, tmp_dir: Path) -> str:
    """An empty database (no schema yet)."""
    if backend == "postgresql":
        return create_pg_database()
    return f"sqlite:///{tmp_dir / f'ains-{uuid.uuid4().hex[:8]}.db'}"


def migrated_database_url(backend: str, tmp_dir: Path) -> str:
    """A new database with the schema at head, copied rather than migrated (much cheaper)."""
    from tests.support import templates

    if backend == "postgresql":
        return templates.migrated_pg_database()
    return templates.migrated_sqlite_database(tmp_dir)


@dataclass
class ServerProcess:
    database_url: str
    env: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    host: str = "127.0.0.1"
    proc: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None
    # (soft, hard) RLIMIT_NOFILE the server process starts with, to test running out of fds
    nofile: tuple[int, int] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _limit_fds(self) -> None:
        import resource

        assert self.nofile is not None
        resource.setrlimit(resource.RLIMIT_NOFILE, self.nofile)

    @property
    def backend(self) -> str:
        return "postgresql" if self.database_url.startswith("postgres") else "sqlite"

    def start(self, wait: bool = True) -> ServerProcess:
        env = {**os.environ, **self.env}
        # tests and benchmarks make rows days old on purpose; a prune of its own a minute into
        # a run would race them (tests of retention turn it on)
        env.setdefault("AINS_RETENTION_INTERVAL_SECONDS", "0")
        env.update(
            AINS_DATABASE_URL=self.database_url,
            AINS_HOST=self.host,
            AINS_PORT=str(self.port),
            AINS_LOG_LEVEL=env.get("AINS_LOG_LEVEL", "warning"),
        )
        log_dir = Path(os.environ.get("AINS_TEST_LOG_DIR", "/tmp/ains-test-logs"))
        log_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = log_dir / f"server-{self.port}-{uuid.uuid4().hex[:6]}.log"
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "ains.cli", "serve"],
                env=env,
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=self._limit_fds if self.nofile else None,
            )
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}:\n{self.log()}")
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"server did not become ready:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-5000:] if self.log_path else ""

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(sig)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def kill(self) -> None:
        self.stop(signal.SIGKILL)

    def client(self, api_key: str | None = None, timeout: float = 40.0) -> httpx.Client:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=timeout)


@dataclass
class AgentProcess:
    """The sample agent (`ains agent`) as a real process."""

    server_url: str
    args: list[str]
    api_key: str | None = None
    proc: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None

    def start(self) -> AgentProcess:
        env = {**os.environ, "AINS_URL": self.server_url}
        if self.api_key:
            env["AINS_API_KEY"] = self.api_key
        log_dir = Path(os.environ.get("AINS_TEST_LOG_DIR", "/tmp/ains-test-logs"))
        log_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = log_dir / f"agent-{uuid.uuid4().hex[:8]}.log"
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "ains.cli", "agent", *self.args],
                env=env,
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        return self

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-5000:] if self.log_path else ""

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(sig)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def wait_for(
    predicate: Any, timeout: float = 20.0, interval: float = 0.05, message: str = ""
) -> Any:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out waiting: {message} (last value {last!r})")


@contextlib.contextmanager
def running_server(
    backend: str, tmp_dir: Path, nofile: tuple[int, int] | None = None, **env: str
) -> Iterator[ServerProcess]:
    url = migrated_database_url(backend, tmp_dir)
    server = ServerProcess(url, env=env, nofile=nofile).start()
    try:
        yield server
    finally:
        server.stop()
        if backend == "postgresql":
            drop_pg_database(url)


@contextlib.contextmanager
def online_echo_agent(server: ServerProcess, capability: str) -> Iterator[AgentProcess]:
    """A sample agent (echo handler) serving `capability`, online before this yields."""
    agent = AgentProcess(server.url, ["-c", capability, "--handler", "echo", "--wait-seconds", "2"])
    agent.start()
    try:
        with server.client() as api:
            wait_for(
                lambda: api.get(
                    "/ains/agents", params={"capability": capability, "online": "true"}
                ).json()["items"],
                timeout=60,
                message=f"agent for {capability} registered\n{agent.log()}",
            )
        yield agent
    finally:
        agent.stop()
