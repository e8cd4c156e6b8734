"""Security headers on every answer: a Content-Security-Policy NiceGUI still works under.

Why a nonce and 'unsafe-eval' together: NiceGUI's page is inline scripts (the import map, the
app bootstrap), so they carry a fresh nonce per answer and no other inline script runs (an
injected `<script>` or `onerror=` attribute is refused). NiceGUI itself evaluates `:prop`
values and event handlers with `eval`/`new Function`, and Vue compiles component templates at
run time: 'unsafe-eval' stays, which is why no prop, class or style is ever built from data
(ui.frame.attrs). What a script may reach is closed instead: `connect-src 'self'` (no fetch,
XHR or websocket to another origin), images only from here, no plugins, no framing, forms and
<base> only to this site. The other headers stop MIME sniffing, framing and referrer leaks.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

CSP = (
    "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; media-src 'self'; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
STATIC_HEADERS = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
)
# a real opening <script> tag (attributes or '>' follow); text inside a page is HTML-escaped
_SCRIPT_TAG = re.compile(rb"<script(?=[\s>])", re.IGNORECASE)


def add_nonce(html: bytes, nonce: str) -> bytes:
    """Give every <script> tag of a page the answer's nonce."""
    return _SCRIPT_TAG.sub(b'<script nonce="' + nonce.encode() + b'"', html)


class SecurityHeaders:
    """Pure ASGI middleware (no body buffering except for HTML pages, which are small)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        nonce = secrets.token_urlsafe(18)
        start: Message | None = None
        chunks: list[bytes] = []

        async def wrapped(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"content-security-policy"]
                headers += [*STATIC_HEADERS, (b"content-security-policy", CSP.format(nonce=nonce).encode())]
                message = {**message, "headers": headers}
                if _is_html(headers):
                    start = message  # held until the body is complete: its length changes
                    return
                await send(message)
            elif message["type"] == "http.response.body" and start is not None:
                chunks.append(message.get("body", b""))
                if message.get("more_body", False):
                    return
                body = add_nonce(b"".join(chunks), nonce)
                headers = [(k, v) for k, v in start["headers"] if k.lower() != b"content-length"]
                await send({**start, "headers": [*headers, (b"content-length", str(len(body)).encode())]})
                await send({"type": "http.response.body", "body": body})
            else:
                await send(message)

        await self.app(scope, receive, wrapped)


class ForwardedPrefixGuard:
    """Drops X-Forwarded-Prefix unless the peer is a trusted proxy (auth.proxy_trusted_ips).

    NiceGUI builds its page's script and style addresses and its redirects from that header, so
    any client could make a page load from (or redirect to) a prefix of its choosing."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            headers = scope.get("headers") or []
            if any(k.lower() == b"x-forwarded-prefix" for k, _ in headers) and not _trusted_peer(scope):
                scope = {**scope, "headers": [(k, v) for k, v in headers if k.lower() != b"x-forwarded-prefix"]}
        await self.app(scope, receive, send)


def _trusted_peer(scope: Scope) -> bool:
    from tagmyphotos.system.auth import from_trusted_proxy

    core = getattr(getattr(scope.get("app"), "state", None), "core", None)
    peer = (scope.get("client") or (None,))[0]
    return core is not None and from_trusted_proxy(core.cfg, peer)


def _is_html(headers: list[tuple[bytes, bytes]]) -> bool:
    for key, value in headers:
        if key.lower() == b"content-type":
            return value.lower().startswith(b"text/html")
    return False
