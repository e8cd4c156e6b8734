"""The UI's side of login: who is looking at a page, and the HTTP hops that set the cookie.

Why a one-time ticket: the login form talks over NiceGUI's websocket, which cannot set an
HttpOnly cookie. After the password is checked there, the page navigates to /login/complete
with a random single-use ticket (valid seconds, kept in memory); that plain HTTP response sets
the signed session cookie from tagmyphotos.system.auth, the same cookie the REST API accepts (so face
thumbnails load with it).

Why every page is bound to its session: a page talks over its websocket long after the HTTP
request that checked the cookie. Without a check per event, a tab left open on /settings kept
full rights after a logout or a password change (issue 25, item 2). `bind` records the cookie a
page was built for and puts one check in front of every event the browser sends to it; logout
and a password change also close the pages at once (`end_pages`).
"""

from __future__ import annotations

import re
import secrets
import time
from typing import Any

from fastapi import Request
from fastapi.responses import PlainTextResponse, RedirectResponse
from nicegui import Client, app, ui

from tagmyphotos.core import Core
from tagmyphotos.system import auth

# A login ticket must be redeemed within this many seconds (the browser follows it at once).
TICKET_TTL_S = 30.0

_tickets: dict[str, tuple[float, str]] = {}
# client id -> the session cookie its page was built for (pages behind a cookie login only),
# and the pages whose session was ended here (logout, password change, or found ended).
_bound: dict[str, str] = {}
_ended: set[str] = set()
# NiceGUI's upload route of a page's upload element: /_nicegui/client/<client id>/upload/<id>
UPLOAD_PATH = re.compile(r"/_nicegui/client/([^/]+)/upload/")


def _core() -> Core:
    return app.state.core  # type: ignore[no-any-return]


def principal(request: Request) -> auth.Principal | None:
    """The logged-in user behind a page request: session cookie, else a trusted proxy header."""
    cfg = _core().cfg
    token = request.cookies.get(auth.SESSION_COOKIE)
    if token:
        found = auth.read_session(cfg, token)
        if found is not None:
            return found
    client = request.client.host if request.client else None
    return auth.proxy_principal(cfg, request.headers, client)


def gate(request: Request) -> str | None:
    """None when the page may be shown; else where to send the browser (first run or login)."""
    if principal(request) is not None:
        return None
    return "/welcome" if not auth.password_is_set(_core().cfg) else "/login"


def issue_ticket(user: str = "admin") -> str:
    """Called after the password was checked: a single-use ticket for /login/complete."""
    now = time.monotonic()
    for key, (expires, _) in list(_tickets.items()):
        if expires < now:
            _tickets.pop(key, None)
    ticket = secrets.token_urlsafe(24)
    _tickets[ticket] = (now + TICKET_TTL_S, user)
    return ticket


def safe_next(target: str | None) -> str:
    """Only a path on this site (no scheme, no //host) may follow a login."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def complete_login(request: Request, ticket: str, next_path: str | None) -> RedirectResponse:
    entry = _tickets.pop(ticket, None)
    if entry is None or entry[0] < time.monotonic():
        return RedirectResponse("/login?expired=1", status_code=303)
    response = RedirectResponse(safe_next(next_path), status_code=303)
    response.set_cookie(
        auth.SESSION_COOKIE, auth.make_session(_core().cfg, entry[1]), max_age=auth.SESSION_MAX_AGE_S,
        httponly=True, samesite="lax", secure=_https(request), path="/",
    )  # fmt: skip
    return response


def _https(request: Request) -> bool:
    """The browser is on https: directly, through a trusted proxy's header, or per server.public_url."""
    return request.url.scheme == "https" or _core().cfg.server.public_url.startswith("https:")


def bind(client: Client, request: Request) -> None:
    """Tie a page to the session cookie it was built for; every event it sends is checked.

    A page let in by a trusted proxy header has no session of ours to end: the proxy decides.
    """
    token = request.cookies.get(auth.SESSION_COOKIE)
    if not token or auth.read_session(_core().cfg, token) is None:
        return
    _bound[client.id] = token
    client.on_delete(lambda: _forget(client.id))
    forward = client.handle_event

    def checked(msg: dict[str, Any]) -> None:
        if session_alive(client):
            forward(msg)
        else:
            end_pages(client_id=client.id)

    client.handle_event = checked  # type: ignore[method-assign]


def _forget(client_id: str) -> None:
    _bound.pop(client_id, None)
    _ended.discard(client_id)


def session_alive(client: Client) -> bool:
    """The page's session is still logged in (not ended, not from before a password change)."""
    return _alive(client.id)


def _alive(client_id: str) -> bool:
    token = _bound.get(client_id)
    return token is not None and client_id not in _ended and auth.read_session(_core().cfg, token) is not None


class UploadGate:
    """An upload goes to a page's own HTTP route, not over its websocket: refused (403, before
    its body is read) when the page it belongs to is bound to a session that has ended."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            found = UPLOAD_PATH.search(scope.get("path", ""))
            if found and found[1] in _bound and not _alive(found[1]):
                end_pages(client_id=found[1])
                refused = PlainTextResponse("This page's login has ended; log in again.", status_code=403)
                await refused(scope, receive, send)
                return
        await self.app(scope, receive, send)


def end_pages(token: str | None = None, client_id: str | None = None, sparing: str | None = None) -> int:
    """Send the pages of one session (token), one page, or all sessions (neither) to the login
    page and stop handling their events; returns how many were open. `sparing`: a page that
    goes elsewhere itself. Call on the event loop."""
    ended = 0
    for cid, bound in list(_bound.items()):
        if (token is not None and bound != token) or (client_id is not None and cid != client_id):
            continue
        if cid == sparing or cid in _ended:
            continue
        _ended.add(cid)
        client = Client.instances.get(cid)
        if client is not None and not client.is_deleted:
            with client:
                ui.navigate.to("/login")
            ended += 1
    return ended


def logout_response(request: Request) -> RedirectResponse:
    token = request.cookies.get(auth.SESSION_COOKIE)
    if token:
        auth.end_session(_core().cfg, token)  # the session ends on the server, not only here
        end_pages(token)  # and its other open tabs stop acting now, not at their next click
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(auth.SESSION_COOKIE, path="/")
    return response
