"""A real HTTP webhook receiver on loopback, in a thread, recording every request."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """``status_for(n)`` picks the answer to the n-th request (0-based); 200 by default.
    ``status_by_request(n, headers)``, when given, picks it instead (headers lower-cased)."""

    status_for: Callable[[int], int] = lambda _n: 200
    status_by_request: Callable[[int, dict[str, str]], int] | None = None
    requests: list[Received] = field(default_factory=list)
    port: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def events(self, ok_only: bool = True) -> list[dict[str, Any]]:
        with self.lock:
            return [r.json for r in self.requests if not ok_only or r.headers.get("_ok") == "1"]

    def types(self) -> list[str]:
        return [e["type"] for e in self.events()]


@contextmanager
def receiver(
    status_for: Callable[[int], int] = lambda _n: 200,
    status_by_request: Callable[[int, dict[str, str]], int] | None = None,
) -> Iterator[Receiver]:
    rec = Receiver(status_for=status_for, status_by_request=status_by_request)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            with rec.lock:
                n = len(rec.requests)
                headers = {k.lower(): v for k, v in self.headers.items()}
                if rec.status_by_request is not None:
                    status = rec.status_by_request(n, headers)
                else:
                    status = rec.status_for(n)
                headers["_ok"] = "1" if status < 300 else "0"
                rec.requests.append(Received(self.path, headers, body, time.time()))
            self.send_response(status)
            self.send_header("content-length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *_args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    rec.server = server
    rec.port = int(server.server_address[1])
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield rec
    finally:
        server.shutdown()
        server.server_close()
