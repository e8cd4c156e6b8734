"""The UI's side of login: who is looking at a page, and the HTTP hops that set the cookie.

Why a one-time ticket: the login form talks over NiceGUI's websocket, which cannot set an
HttpOnly cookie. After the password is checked there, the page navigates to /login/complete
with a random single-use ticket (valid seconds, kept in memory); that plain HTTP response sets
the signed session cookie from tagmyphotos.system.auth, the same cookie the REST API accepts (so face
thumbnails load with it).
"""

from __future__ import annotations

import secrets
import time

from fastapi import Request
from fastapi.responses import RedirectResponse
from nicegui import app

from tagmyphotos.core import Core
from tagmyphotos.system import auth

# A login ticket must be redeemed within this many seconds (the browser follows it at once).
TICKET_TTL_S = 30.0

_tickets: dict[str, tuple[float, str]] = {}


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


def logout_response(request: Request) -> RedirectResponse:
    token = request.cookies.get(auth.SESSION_COOKIE)
    if token:
        auth.end_session(_core().cfg, token)  # the session ends on the server, not only here
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(auth.SESSION_COOKIE, path="/")
    return response
