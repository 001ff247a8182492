"""The server's edge against slow clients (slowloris): header and body read timeouts, the
connection cap, and the file descriptors the database keeps. Every attack here is bounded,
loopback-only and stops by itself."""

from __future__ import annotations

import os
import resource
import select
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.support.server import ServerProcess, running_server

SLOW_HEADERS = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "


@dataclass
class SlowClients:
    """Sockets that send ``prefix`` then one byte every ``pace`` seconds, for ``limit`` seconds
    at most; records when the server closed each one and what it answered."""

    port: int
    count: int
    prefix: bytes
    pace: float = 0.5
    limit: float = 12.0
    opened_at: dict[int, float] = field(default_factory=dict)
    closed_at: dict[int, float] = field(default_factory=dict)
    answers: dict[int, bytes] = field(default_factory=dict)
    socks: list[socket.socket] = field(default_factory=list)

    def open(self) -> None:
        for i in range(self.count):
            s = socket.create_connection(("127.0.0.1", self.port), timeout=5)
            self.opened_at[i] = time.monotonic()
            try:
                s.sendall(self.prefix)
            except OSError:
                self.closed_at[i] = time.monotonic()
            s.setblocking(False)
            self.socks.append(s)

    def open_ones(self) -> list[int]:
        return [i for i in range(len(self.socks)) if i not in self.closed_at]

    def run(self, stop: threading.Event) -> None:
        deadline = time.monotonic() + self.limit
        next_byte = time.monotonic() + self.pace
        while self.open_ones() and time.monotonic() < deadline and not stop.is_set():
            self._notice_closed()
            if time.monotonic() >= next_byte:
                next_byte += self.pace
                for i in self.open_ones():
                    try:
                        self.socks[i].send(b"a")
                    except (BlockingIOError, InterruptedError):
                        pass
                    except OSError:
                        self.closed_at.setdefault(i, time.monotonic())
            time.sleep(0.02)

    def _notice_closed(self) -> None:
        alive = {self.socks[i].fileno(): i for i in self.open_ones()}
        if not alive:
            return
        readable, _, _ = select.select(list(alive), [], [], 0)
        for fd in readable:
            i = alive[fd]
            try:
                data = self.socks[i].recv(4096)
            except BlockingIOError:
                continue
            except OSError:
                data = b""
            self.answers[i] = self.answers.get(i, b"") + data
            if not data or b"connection: close" in self.answers[i]:
                self.closed_at.setdefault(i, time.monotonic())

    def close(self) -> None:
        for s in self.socks:
            s.close()


@contextmanager
def slow_clients(
    server: ServerProcess, count: int, prefix: bytes = SLOW_HEADERS
) -> Iterator[SlowClients]:
    clients = SlowClients(server.port, count, prefix)
    clients.open()
    stop = threading.Event()
    thread = threading.Thread(target=clients.run, args=(stop,), daemon=True)
    thread.start()
    try:
        yield clients
    finally:
        stop.set()
        thread.join(timeout=15)
        clients.close()


def open_fds(server: ServerProcess) -> int:
    assert server.proc is not None
    return len(os.listdir(f"/proc/{server.proc.pid}/fd"))


def fresh_client_is_served(server: ServerProcess, within: float) -> None:
    """/health and a task submission, each on a brand-new connection, answered in time."""
    for method, path, body in (
        ("GET", "/health", None),
        (
            "POST",
            "/aitp/tasks",
            {"client_id": "edge", "task_type": "t", "capability_required": "edge:v1"},
        ),
    ):
        started = time.monotonic()
        with httpx.Client(base_url=server.url, timeout=within) as client:
            r = client.request(method, path, json=body)
        took = time.monotonic() - started
        assert r.status_code in (200, 201), r.text
        assert took < within, f"{method} {path} took {took:.2f}s"


def test_slow_headers_are_cut_off_and_new_clients_are_served(backend: str, tmp_path: Path) -> None:
    with running_server(
        backend, tmp_path, AINS_MAX_CONNECTIONS="50", AINS_HEADER_TIMEOUT="2"
    ) as server:
        baseline = open_fds(server)
        with slow_clients(server, 300) as attack:
            time.sleep(0.5)
            fresh_client_is_served(server, within=2.0)
            assert open_fds(server) <= baseline + 50 + 5  # the cap, not one fd per attacker
            time.sleep(3.5)
            fresh_client_is_served(server, within=2.0)
            still_open = attack.open_ones()
            assert not still_open, f"{len(still_open)} slow sockets still open after 4 s"
            slowest = max(attack.closed_at[i] - attack.opened_at[i] for i in attack.closed_at)
            assert slowest < 2 + 1.5
            timed_out = [a for a in attack.answers.values() if a.startswith(b"HTTP/1.1 408")]
            assert timed_out  # those not evicted by newer connections got a 408
            assert b"AINS_HEADER_TIMEOUT" in timed_out[0]


def test_a_slowly_sent_body_is_cut_off_with_408(backend: str, tmp_path: Path) -> None:
    headers = (
        b"POST /aitp/tasks HTTP/1.1\r\nHost: 127.0.0.1\r\ncontent-type: application/json\r\n"
        b"content-length: 4000\r\n\r\n{"
    )
    with (
        running_server(backend, tmp_path, AINS_BODY_TIMEOUT="2") as server,
        slow_clients(server, 20, prefix=headers) as attack,
    ):
        time.sleep(0.3)
        fresh_client_is_served(server, within=2.0)
        time.sleep(3.5)
        assert not attack.open_ones()
        for i, answer in attack.answers.items():
            assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
            assert b"AINS_BODY_TIMEOUT" in answer
            assert attack.closed_at[i] - attack.opened_at[i] < 2 + 1.5
        assert len(attack.answers) == 20


def test_slow_clients_cannot_take_the_databases_file_descriptors(
    backend: str, tmp_path: Path
) -> None:
    """300 slow sockets against a process allowed 256 open files (default cap): the cap stays
    under the limit, so the server keeps answering and the database keeps its descriptors."""
    with running_server(backend, tmp_path, nofile=(256, 256)) as server:
        with slow_clients(server, 300):
            time.sleep(0.5)
            fresh_client_is_served(server, within=2.0)
            assert open_fds(server) < 200
            time.sleep(1.0)
            fresh_client_is_served(server, within=2.0)
        log = server.log()
        assert "Too many open files" not in log
        assert "unable to open database file" not in log


def test_serve_raises_the_open_file_limit_to_the_hard_limit(backend: str, tmp_path: Path) -> None:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    with running_server(backend, tmp_path, nofile=(128, hard)) as server:
        assert server.proc is not None
        limits = Path(f"/proc/{server.proc.pid}/limits").read_text()
        line = next(x for x in limits.splitlines() if x.startswith("Max open files"))
        soft_now, hard_now = line.split()[3:5]
        assert int(soft_now) == hard
        assert hard_now == str(hard)


def test_a_keep_alive_connection_dribbling_its_next_request_is_cut_off(
    backend: str, tmp_path: Path
) -> None:
    with running_server(backend, tmp_path, AINS_HEADER_TIMEOUT="1.5") as server:
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as s:
            s.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            first = b""
            while not first.endswith(b"}"):  # the whole /health answer, headers and body
                first += s.recv(4096)
            assert first.startswith(b"HTTP/1.1 200")
            s.sendall(SLOW_HEADERS)
            started = time.monotonic()
            answer = b""
            while time.monotonic() - started < 5:
                readable, _, _ = select.select([s], [], [], 0.3)
                if readable:
                    answer = s.recv(4096)
                    break
                s.sendall(b"a")
            took = time.monotonic() - started
        assert answer.startswith(b"HTTP/1.1 408"), answer
        assert took < 1.5 + 1.0
