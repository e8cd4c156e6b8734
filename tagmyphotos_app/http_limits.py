"""The HTTP server's limits: a deadline for request headers, on uvicorn's HTTP/1.1 protocol.

Why: uvicorn waits without limit for the headers of a connection's first request (its
keep-alive timeout starts only after a response), so clients that trickle header bytes held
5,000 connections for 75 s and more (issue 25). Here a connection whose request headers are not
complete within server.header_timeout_s of opening (or of its previous response) is closed. A
request being answered, a body being uploaded and an upgraded websocket are never cut: only
the wait for headers is timed.
"""

from __future__ import annotations

import asyncio
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

# Largest request head (request line + headers) accepted, as h11's default: refused beyond.
MAX_HEADER_BYTES = 16 * 1024
# Seconds an idle keep-alive connection stays open between requests (uvicorn's default).
KEEP_ALIVE_S = 5


class HeaderDeadlineProtocol(H11Protocol):
    """H11Protocol that closes a connection still waiting for its request headers at the deadline."""

    header_timeout_s: float = 15.0
    _header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_header_deadline()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._arm_header_deadline()  # the next request on this connection gets its own deadline

    def connection_lost(self, exc: Exception | None) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
        super().connection_lost(exc)

    def _arm_header_deadline(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
        self._header_timer = self.loop.call_later(self.header_timeout_s, self._headers_late)

    def _headers_late(self) -> None:
        if self.transport.is_closing() or self.transport.get_protocol() is not self:
            return  # closed already, or upgraded to a websocket
        answered = self.cycle is None or self.cycle.response_complete
        if self.conn.their_state is h11.IDLE and answered:  # no complete request head yet
            self.transport.close()


def server_options(header_timeout_s: float) -> dict[str, Any]:
    """uvicorn settings for `ui.run(**...)`: the protocol above with the configured deadline."""
    protocol = type("HeaderDeadline", (HeaderDeadlineProtocol,), {"header_timeout_s": header_timeout_s})
    return {
        "http": protocol,
        "timeout_keep_alive": KEEP_ALIVE_S,
        "h11_max_incomplete_event_size": MAX_HEADER_BYTES,
    }
