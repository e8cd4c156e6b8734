"""Every API error as RFC 9457 problem details (application/problem+json), never a stack trace.

Why a route class instead of app exception handlers: the API router is mounted into the
NiceGUI app, whose handlers render HTML pages; wrapping each API route's handler keeps the
API's errors consistent whatever app it is mounted in. The same wrapper enforces the request
body limit. Paths under /api/v1 that match no route get the router's catch-all (404/405).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Coroutine
from typing import Any

import peewee as pw
from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException
from starlette.routing import compile_path

from tagmyphotos.library.paths import PathNotFound, PathRefused
from tagmyphotos.review.people import Conflict, NotFound, PeopleError
from tagmyphotos.review.undo import UndoError
from tagmyphotos.store.db import storage_problem
from tagmyphotos.store.settings import SettingsError
from tagmyphotos.system.auth import AuthError

log = logging.getLogger("tagmyphotos.api")

PROBLEM_MEDIA_TYPE = "application/problem+json"
# Largest accepted request body (bytes): bulk actions on 10k ids fit in well under this.
MAX_BODY_BYTES = 1 << 20
# Largest upload (bytes) on an UploadRoute (reference photos): the parts are spooled to disk by
# the multipart parser, never held whole in memory; 200 MB is ~30 phone photos.
MAX_UPLOAD_BYTES = 200 << 20
# Deepest accepted JSON nesting: our bodies are 3 levels deep; Python's parser recurses, so a
# body nested ~1,000 deep was a RecursionError (500) instead of a clear 400.
MAX_JSON_DEPTH = 32
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"')
_JSON_BRACKET = re.compile(rb"[\[\]{}]")
PROBLEM_BASE = "https://tagmyphotos.invalid/problems/"

_TITLES = {
    400: "Bad request",
    401: "Authentication required",
    403: "Not allowed",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    411: "Length required",
    413: "Request too large",
    415: "Unsupported media type",
    422: "Invalid request",
    429: "Too many requests",
    500: "Internal error",
    503: "Service unavailable",
}


class ProblemItem(BaseModel):
    """One invalid field: where it is and what is wrong with it."""

    loc: list[str | int] = Field(description="location, e.g. ['query', 'limit']")
    msg: str


class Problem(BaseModel):
    """RFC 9457 problem details."""

    type: str = Field(description="URI naming the kind of problem")
    title: str
    status: int
    detail: str = Field(description="what went wrong and what to do, in plain words")
    instance: str | None = Field(None, description="the request path")
    errors: list[ProblemItem] | None = Field(None, description="invalid fields (validation errors)")


class ApiProblem(Exception):
    """Raise from a route to answer with a problem; `slug` becomes the type URI's last part."""

    def __init__(self, status: int, detail: str, slug: str | None = None, headers: dict[str, str] | None = None):
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.slug = slug
        self.headers = headers or {}


def problem_response(
    request: Request | None,
    status: int,
    detail: str,
    slug: str | None = None,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    title = _TITLES.get(status, "Error")
    body = Problem(
        type=PROBLEM_BASE + (slug or re.sub(r"[^a-z]+", "-", title.lower()).strip("-")),
        title=title,
        status=status,
        detail=detail,
        instance=request.url.path if request is not None else None,
        errors=[ProblemItem(**e) for e in errors] if errors else None,
    )
    return JSONResponse(
        body.model_dump(exclude_none=True), status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers
    )


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


async def _enforce_body_limit(request: Request, limit: int = MAX_BODY_BYTES, stream: bool = False) -> Response | None:
    """Refuse oversized bodies before parsing: by Content-Length, then by counting a stream.

    A streamed route (uploads) must declare its length and is not buffered here."""
    if request.method in ("GET", "HEAD", "OPTIONS", "DELETE"):
        return None
    length = request.headers.get("content-length")
    if length is not None:
        if not length.isdigit():
            return problem_response(request, 400, "the Content-Length header is not a number")
        if int(length) > limit:
            return problem_response(request, 413, f"the request body is over {limit} bytes")
    if stream:
        return None if length is not None else problem_response(request, 411, "send a Content-Length header")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return problem_response(request, 413, f"the request body is over {MAX_BODY_BYTES} bytes")
        chunks.append(chunk)
    request._body = body = b"".join(chunks)  # the handler reads the cached body
    if "json" in request.headers.get("content-type", "") and not _is_utf8(body):
        return problem_response(request, 400, "the JSON body is not UTF-8 text", "bad-json")
    if "json" in request.headers.get("content-type", "") and json_depth(body) > MAX_JSON_DEPTH:
        return problem_response(request, 400, f"the JSON body is nested deeper than {MAX_JSON_DEPTH} levels")
    if "json" in request.headers.get("content-type", "") and b"\\u0000" in body:
        where = nul_location(body)
        return problem_response(request, 400, f"{where}: {NUL_REFUSED}" if where else NUL_REFUSED, "bad-text")
    return None


# PostgreSQL stores no NUL character in text (SQLite does): refused at the door on both.
NUL_REFUSED = "a path or text with a NUL character (0x00) is not accepted"


def nul_location(body: bytes) -> str:
    """Where in a JSON body the first NUL is ('write.keyword_prefix', 'paths[2]'); '' if unknown."""
    try:
        doc = json.loads(body)
    except ValueError:
        return ""
    stack: list[tuple[str, Any]] = [("", doc)]
    while stack:
        where, value = stack.pop()
        if isinstance(value, str) and "\x00" in value:
            return where or "the body"
        items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
        for key, child in reversed(list(items)):
            if isinstance(key, str) and "\x00" in key:
                return f"a name in {where or 'the body'}"
            stack.append((f"{where}[{key}]" if isinstance(key, int) else f"{where}.{key}".lstrip("."), child))
    return ""


def _is_utf8(body: bytes) -> bool:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _has_nul(request: Request) -> bool:
    return "%00" in request.url.query or "%00" in request.url.path or "\x00" in request.url.path


def json_depth(body: bytes) -> int:
    """How deep the arrays and objects of a JSON text nest (strings skipped), without parsing."""
    if body.count(b"[") + body.count(b"{") <= MAX_JSON_DEPTH:
        return 0  # cannot be too deep: the common case costs two counts
    depth = deepest = 0
    for bracket in _JSON_BRACKET.findall(_JSON_STRING.sub(b"", body)):
        depth += 1 if bracket in b"[{" else -1
        deepest = max(deepest, depth)
    return deepest


class ProblemRoute(APIRoute):
    """An APIRoute whose every failure becomes a problem+json response."""

    body_limit = MAX_BODY_BYTES
    stream_body = False

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        original = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                if _has_nul(request):
                    return problem_response(request, 400, NUL_REFUSED, "bad-text")
                refused = await _enforce_body_limit(request, self.body_limit, self.stream_body)
                if refused is not None:
                    return refused
                return await original(request)
            except ApiProblem as exc:
                return problem_response(request, exc.status, exc.detail, exc.slug, headers=exc.headers)
            except RequestValidationError as exc:
                items = _validation_items(exc)
                return problem_response(request, 422, _validation_detail(items), "validation", items)
            except HTTPException as exc:
                detail = exc.detail if isinstance(exc.detail, str) else _TITLES.get(exc.status_code, "Error")
                return problem_response(request, exc.status_code, detail, headers=dict(exc.headers or {}))
            except PathRefused as exc:
                return problem_response(request, 400, str(exc), "bad-path")
            except PathNotFound as exc:
                return problem_response(request, 404, str(exc), "not-found")
            except NotFound as exc:
                return problem_response(request, 404, str(exc), "not-found")
            except Conflict as exc:
                return problem_response(request, 409, str(exc), "conflict")
            except UndoError as exc:
                return problem_response(request, 409, str(exc), "cannot-undo")
            except (AuthError, PeopleError, SettingsError) as exc:
                return problem_response(request, 400, str(exc), "refused")
            except pw.DoesNotExist:
                return problem_response(request, 404, "no such item (it may have been deleted)")
            except pw.IntegrityError:
                return problem_response(request, 409, "that conflicts with an existing item (duplicate?)")
            except Exception as exc:  # the last line of defence: log it, show no internals
                problem = storage_problem(exc)
                if problem is not None:  # locked by another process, disk full: try again later
                    log.warning("API %s %s: %s", request.method, request.url.path, exc)
                    return problem_response(request, 503, problem, "storage", headers={"Retry-After": "10"})
                log.exception("API error on %s %s", request.method, request.url.path)
                return problem_response(request, 500, "something went wrong on the server; the log has the details")

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


# The problem types (the last part of `type`) each status may carry, for the OpenAPI document.
PROBLEM_TYPES: dict[int, tuple[str, ...]] = {
    400: ("bad-request", "bad-text", "bad-json", "bad-path", "refused", "bad-job-type", "bad-setting"),
    401: ("unauthenticated", "bad-key", "bad-signature"),
    403: ("not-allowed", "read-only"),
    404: ("not-found",),
    409: ("conflict", "cannot-undo"),
    411: ("length-required",),
    413: ("request-too-large",),
    422: ("validation", "no-preview"),
    429: ("throttled",),
    500: ("internal-error",),
    503: ("storage", "service-unavailable"),
}


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries documenting problem+json answers for these statuses, each
    with the problem types it may carry (ui.api.contract moves the schema to problem+json)."""
    return {
        s: {
            "model": Problem,
            "description": f"{_TITLES.get(s, 'Error')} (problem types: {', '.join(PROBLEM_TYPES.get(s, ('error',)))})",
            "content": {PROBLEM_MEDIA_TYPE: {}},
        }
        for s in statuses
    }
