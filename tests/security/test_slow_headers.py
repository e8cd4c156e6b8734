"""A connection that trickles its request headers is closed at server.header_timeout_s
(issue 25, item 10): the attack held 5,000 such connections for 75 s and more. Against the real
`tagmyphotos serve` (uvicorn), with a raw socket sending one header line every 0.3 s."""

from __future__ import annotations

import socket
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from tagmyphotos_lab.appserver import serve


def seconds_until_closed(port: int, give_up_s: float) -> float | None:
    sock = socket.create_connection(("127.0.0.1", port))
    sock.settimeout(0.3)
    t0 = time.monotonic()
    try:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        while time.monotonic() - t0 < give_up_s:
            try:
                sock.sendall(b"X-Slow: trickle\r\n")  # never the blank line that ends the headers
                if sock.recv(1024) == b"":
                    return time.monotonic() - t0
            except TimeoutError:
                continue
            except OSError:  # reset by the server
                return time.monotonic() - t0
        return None
    finally:
        sock.close()


def test_slow_headers_are_cut_and_normal_requests_still_served(library: Path, tmp_path: Path) -> None:
    with serve(library, tmp_path / "data", TAGMYPHOTOS_SERVER__HEADER_TIMEOUT_S="1.5") as app:
        port = urlsplit(app.base).port
        assert port is not None
        closed_after = seconds_until_closed(port, give_up_s=10)
        assert closed_after is not None, "the server kept a slow-header connection open for 10 s"
        assert 1.0 <= closed_after < 5, closed_after
        with httpx.Client(base_url=app.base) as client:  # keep-alive: two requests, one connection
            assert client.get("/healthz").status_code == 200
            time.sleep(0.5)
            assert client.get("/healthz").status_code == 200
        assert app.alive()
