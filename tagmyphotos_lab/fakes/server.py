"""A real HTTP server on 127.0.0.1 in a background thread, with recording and fault injection.

Why a real server: the clients' timeouts, retries, headers and JSON encoding are exercised over
real sockets exactly as in production; only the service behind the socket is fake.
"""

from __future__ import annotations

import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

Reply = tuple[int, Any]  # (status, JSON-able body or None for an empty body)


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    at: float
    status: int = 0

    @property
    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


@dataclass
class Fault:
    pattern: re.Pattern[str]
    times: int
    status: int | None = None
    delay_s: float = 0.0
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class FakeServer:
    """Subclasses implement `dispatch(record) -> (status, body)`; everything else is shared."""

    name: str = "fake"
    requests: list[Recorded] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self.url = ""

    # --- lifecycle -------------------------------------------------------------------------------

    def start(self) -> Self:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms delayed-ACK stall

            def _any(self) -> None:
                fake._serve(self)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _any

            def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
                return

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._httpd.block_on_close = False
        threading.Thread(
            target=self._httpd.serve_forever, args=(0.02,), name=f"{self.name}-server", daemon=True
        ).start()
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- test controls -------------------------------------------------------------------------

    def fail(
        self,
        match: str,
        status: int = 500,
        times: int = 1,
        body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        """The next `times` requests whose 'METHOD /path' matches the regex get `status`."""
        self.faults.append(Fault(re.compile(match), times, status=status, body=body, headers=headers or {}))

    def slow(self, match: str, delay_s: float, times: int = 1) -> None:
        """The next `times` matching requests are answered only after `delay_s` seconds."""
        self.faults.append(Fault(re.compile(match), times, delay_s=delay_s))

    def calls(self, method: str | None = None, path: str | None = None) -> list[Recorded]:
        with self._lock:
            return [
                r
                for r in self.requests
                if (method is None or r.method == method) and (path is None or re.fullmatch(path, r.path))
            ]

    def error_body(self, status: int, message: str) -> Any:
        return {"message": message, "statusCode": status}

    def dispatch(self, rec: Recorded) -> Reply:
        raise NotImplementedError

    # --- serving -------------------------------------------------------------------------------

    def _take_fault(self, key: str) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.times > 0 and fault.pattern.search(key):
                    fault.times -= 1
                    return fault
        return None

    def _serve(self, h: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(h.path)
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in h.headers.items()}
        rec = Recorded(h.command, parts.path, parse_qs(parts.query), headers, body, time.monotonic())
        with self._lock:
            self.requests.append(rec)
        fault = self._take_fault(f"{rec.method} {rec.path}")
        if fault and fault.delay_s:
            time.sleep(fault.delay_s)
        if fault and fault.status:
            status, payload = fault.status, fault.body or self.error_body(fault.status, "injected failure")
        else:
            try:
                status, payload = self.dispatch(rec)
            except Exception as exc:  # a fake bug must show up as a violation, not a hang
                self.violations.append(f"{rec.method} {rec.path}: fake crashed: {exc!r}")
                status, payload = 500, self.error_body(500, "fake crashed")
        rec.status = status
        data = b"" if payload is None else json.dumps(payload).encode()
        try:
            h.send_response(status)
            for name, value in (fault.headers if fault else {}).items():
                h.send_header(name, value)
            if data:
                h.send_header("Content-Type", "application/json; charset=utf-8")
            h.send_header("Content-Length", str(len(data)))
            h.end_headers()
            h.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout test)
