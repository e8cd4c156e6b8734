"""The gate in front of every request body: who is calling is checked before a byte is read,
and uploads are capped by configuration (server.max_upload_mb) before they are stored.

Why an ASGI middleware and not the route dependency: FastAPI parses a request's body (spools a
multipart upload to temporary files) before it runs the route's dependencies, so the 401 came
after the whole body was read — the third attack held 683 MB of temporary files with 190 MB
bodies that carried no credentials. Here a write to the API (the signed hooks excepted: they
check their own signature on a capped body) or to an upload route is answered 401/403 before
`receive` is ever called; an upload over the cap is refused 413 by its Content-Length, or, when
it is sent in chunks, as soon as the count passes the cap.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.requests import Request

from tagmyphotos.errors import TagMyPhotosError
from tagmyphotos.system import auth

from .deps import GATE_PRINCIPAL, READ_METHODS, identify
from .problems import ApiProblem, error_response, problem_response
from .schemas import API_PREFIX

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# Routes that take files: the API's reference-photo upload and NiceGUI's upload element.
UPLOAD_PATHS = re.compile(rf"^({re.escape(API_PREFIX)}/teach/upload|/_nicegui/client/[^/]+/upload/[^/]+)/?$")
# Writes that authenticate themselves (a signature over the body, capped at 1 MB by the route).
SELF_CHECKED = (f"{API_PREFIX}/hooks/",)


class BodyTooLarge(TagMyPhotosError):
    """An upload passed the configured cap while it was being received."""

    http_status = 413
    slug = "request-too-large"


class AuthGate:
    """Pure ASGI middleware: credentials first, then (for uploads) a counted body."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        core = getattr(getattr(scope.get("app"), "state", None), "core", None)
        if scope["type"] != "http" or scope["method"] in READ_METHODS or core is None:
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        upload = bool(UPLOAD_PATHS.match(path))
        guarded = path.startswith(API_PREFIX + "/") and not path.startswith(SELF_CHECKED)
        if not (upload or guarded):
            await self.app(scope, receive, send)
            return
        request = Request(scope)  # headers and cookies only: the body is never touched here
        try:
            principal = await run_in_threadpool(_caller, core.cfg, request)
        except ApiProblem as exc:
            await error_response(request, exc)(scope, receive, send)
            return
        scope.setdefault("state", {})[GATE_PRINCIPAL] = principal
        if not upload:
            await self.app(scope, receive, send)
            return
        await self._capped(scope, receive, send, request, core.cfg.server.max_upload_mb)

    async def _capped(self, scope: Scope, receive: Receive, send: Send, request: Request, limit_mb: int) -> None:
        limit = limit_mb << 20
        too_large = problem_response(
            request, 413, f"uploads are limited to {limit_mb} MB (server.max_upload_mb); send fewer or smaller photos"
        )
        length = Headers(scope=scope).get("content-length")
        if length is not None and length.isdigit() and int(length) > limit:
            await too_large(scope, receive, send)
            return
        state = {"received": 0, "over": False, "answered": False}

        async def counted() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                state["received"] += len(message.get("body", b""))
                if state["received"] > limit:
                    state["over"] = True
                    raise BodyTooLarge(f"over {limit_mb} MB")
            return message

        async def guarded_send(message: Message) -> None:
            if not state["over"]:
                await send(message)
            elif not state["answered"]:  # whatever the route made of the cut body: our 413
                state["answered"] = True
                await too_large(scope, receive, send)

        with contextlib.suppress(BodyTooLarge):  # raised by counted(), through the route
            await self.app(scope, counted, guarded_send)
        if state["over"] and not state["answered"]:
            state["answered"] = True
            await too_large(scope, receive, send)


def _caller(cfg: Any, request: Request) -> auth.Principal:
    """identify() with the request's key, bearer, cookie and address; writes only (see deps)."""
    headers = request.headers
    scheme, _, credentials = headers.get("authorization", "").partition(" ")
    key = headers.get("x-api-key") or (credentials.strip() if scheme.lower() == "bearer" else None)
    peer = request.client.host if request.client else None
    principal = identify(cfg, key or None, request.cookies.get(auth.SESSION_COOKIE), headers, peer)
    if not principal.can_write:
        raise ApiProblem(403, "this API key is read-only; use a key with full scope to change things", "read-only")
    return principal
