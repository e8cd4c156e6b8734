"""Every API error as a problem response (ui.api.problems), never a stack trace: the one place
that maps exceptions to answers.

Why a route class instead of app exception handlers: the API router is mounted into the
NiceGUI app, whose handlers render HTML pages; wrapping each API route's handler keeps the
API's errors consistent whatever app it is mounted in. The wrapper also runs the body checks
(ui.api.body_checks). Paths under /api/v1 that match no route get the router's catch-all (404/405).

The product's own errors (tagmyphotos.errors.TagMyPhotosError and its family) carry their status
and problem slug, so `problem_for` needs one branch for all of them; the other branches are the
framework's and the database library's exceptions, which know nothing of that family.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any

import peewee as pw
from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute, iter_route_contexts
from starlette.exceptions import HTTPException
from starlette.routing import compile_path

from tagmyphotos.errors import TagMyPhotosError
from tagmyphotos.store.db import storage_problem

from .body_checks import (
    MAX_BODY_BYTES,
    MAX_UPLOAD_BYTES,
    NUL_REFUSED,
    enforce_body_limit,
    has_nul,
    repeated_query,
    single_query_names,
)
from .problems import TITLES, error_response, problem_response

log = logging.getLogger("tagmyphotos.api")


def _validation_items(exc: RequestValidationError) -> list[dict[str, Any]]:
    items = []
    for err in exc.errors():
        loc = [p if isinstance(p, int) else str(p) for p in err.get("loc", ())]
        items.append({"loc": loc, "msg": str(err.get("msg", "invalid"))})
    return items


def _validation_detail(items: list[dict[str, Any]]) -> str:
    first = items[0] if items else {"loc": [], "msg": "invalid"}
    where = ".".join(str(p) for p in first["loc"][1:]) or "body"
    more = f" (and {len(items) - 1} more)" if len(items) > 1 else ""
    return f"{where}: {first['msg']}{more}"


def problem_for(request: Request, exc: Exception) -> Response:
    """The answer to an exception a route raised: the error family by its own attributes, the
    framework's and the database's exceptions by kind, anything else a logged 500 (or 503)."""
    if isinstance(exc, TagMyPhotosError) and exc.public:
        return error_response(request, exc)
    if isinstance(exc, RequestValidationError):
        items = _validation_items(exc)
        return problem_response(request, 422, _validation_detail(items), "validation", items)
    if isinstance(exc, HTTPException):
        detail = exc.detail if isinstance(exc.detail, str) else TITLES.get(exc.status_code, "Error")
        return problem_response(request, exc.status_code, detail, headers=dict(exc.headers or {}))
    if isinstance(exc, pw.DoesNotExist):
        return problem_response(request, 404, "no such item (it may have been deleted)")
    if isinstance(exc, pw.IntegrityError):
        return problem_response(request, 409, "that conflicts with an existing item (duplicate?)")
    return _server_failure(request, exc)


def _server_failure(request: Request, exc: Exception) -> Response:
    """The last line of defence: log it, show no internals."""
    problem = storage_problem(exc)
    if problem is not None:  # locked by another process, disk full: try again later
        log.warning("API %s %s: %s", request.method, request.url.path, exc)
        return problem_response(request, 503, problem, "storage", headers={"Retry-After": "10"})
    log.error("API error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem_response(request, 500, "something went wrong on the server; the log has the details")


class ProblemRoute(APIRoute):
    """An APIRoute whose every failure becomes a problem+json response."""

    body_limit = MAX_BODY_BYTES
    stream_body = False

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        original = super().get_route_handler()
        single = single_query_names(self.dependant)

        async def handler(request: Request) -> Response:
            try:
                if has_nul(request):
                    return problem_response(request, 400, NUL_REFUSED, "bad-text")
                repeated = repeated_query(request, single)
                if repeated is not None:
                    items = [{"loc": ["query", repeated], "msg": "give this parameter once"}]
                    return problem_response(request, 422, _validation_detail(items), "validation", items)
                refused = await enforce_body_limit(request, self.body_limit, self.stream_body)
                if refused is not None:
                    return refused
                return await original(request)
            except Exception as exc:
                return problem_for(request, exc)

        return handler


class UploadRoute(ProblemRoute):
    """A ProblemRoute for file uploads: a larger limit, and the body is streamed, not buffered."""

    body_limit = MAX_UPLOAD_BYTES
    stream_body = True


def allowed_methods(request: Request, prefix: str) -> set[str]:
    """Methods of the API routes whose path matches this request (for 405 and Allow)."""
    methods: set[str] = set()
    path = request.url.path
    for rc in iter_route_contexts(request.app.routes):
        route_path = rc.path or ""
        if not route_path.startswith(prefix) or "{rest:path}" in route_path or not rc.methods:
            continue
        regex = compile_path(route_path)[0]
        if regex.match(path):
            methods |= set(rc.methods)
    return methods


def not_found_or_not_allowed(request: Request, prefix: str) -> Response:
    """The catch-all's answer: 405 with Allow when the path exists for other methods, else 404."""
    methods = allowed_methods(request, prefix)
    if methods:
        allow = ", ".join(sorted(methods))
        return problem_response(
            request, 405, f"{request.method} is not supported here; use {allow}", headers={"Allow": allow}
        )
    return problem_response(request, 404, f"there is no API endpoint at {request.url.path}")
