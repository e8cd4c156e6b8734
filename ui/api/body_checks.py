"""The checks every API request passes before a route parses it: body size, UTF-8, nesting, NUL,
and a single-valued query parameter given once.

Why before parsing: an oversized body is refused by its Content-Length (or by counting a
stream) without being held in memory; Python's JSON parser recurses, so a body nested ~1,000
deep was a RecursionError (500) instead of a clear 400; PostgreSQL stores no NUL character in
text (SQLite does), so a NUL is refused at the door on both. FastAPI reads the last of a repeated
query parameter (`?q=a&q=b`) where the schema says one value: such a request is refused, not half
read. ui.api.errors runs these checks in each route's wrapper; each refusal is a problem response
(ui.api.problems).
"""

from __future__ import annotations

import json
import re
import types
import typing
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from fastapi import Request, Response

from .problems import problem_response

if TYPE_CHECKING:
    from fastapi.dependencies.models import Dependant

# Largest accepted request body (bytes): bulk actions on 10k ids fit in well under this.
MAX_BODY_BYTES = 1 << 20
# Largest upload (bytes) on an UploadRoute (reference photos): the parts are spooled to disk by
# the multipart parser, never held whole in memory; 200 MB is ~30 phone photos.
MAX_UPLOAD_BYTES = 200 << 20
# Deepest accepted JSON nesting: our bodies are 3 levels deep.
MAX_JSON_DEPTH = 32
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"')
_JSON_BRACKET = re.compile(rb"[\[\]{}]")

NUL_REFUSED = "a path or text with a NUL character (0x00) is not accepted"


async def enforce_body_limit(request: Request, limit: int = MAX_BODY_BYTES, stream: bool = False) -> Response | None:
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
    return json_body_problem(request, body) if "json" in request.headers.get("content-type", "") else None


def json_body_problem(request: Request, body: bytes) -> Response | None:
    """A JSON body that is not UTF-8, nests too deep or holds a NUL: its refusal; else None."""
    if not is_utf8(body):
        return problem_response(request, 400, "the JSON body is not UTF-8 text", "bad-json")
    if json_depth(body) > MAX_JSON_DEPTH:
        return problem_response(request, 400, f"the JSON body is nested deeper than {MAX_JSON_DEPTH} levels")
    if b"\\u0000" in body:
        where = nul_location(body)
        return problem_response(request, 400, f"{where}: {NUL_REFUSED}" if where else NUL_REFUSED, "bad-text")
    return None


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


def is_utf8(body: bytes) -> bool:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def has_nul(request: Request) -> bool:
    """A NUL in the path or the query string (percent-encoded or not)."""
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


def single_query_names(dependant: Dependant) -> frozenset[str]:
    """The query parameters of a route (its dependencies' too) that take one value, not a list."""
    names: set[str] = set()
    todo = [dependant]
    while todo:
        current = todo.pop()
        names |= {f.alias for f in current.query_params if not _takes_many(f.field_info.annotation)}
        todo.extend(current.dependencies)
    return frozenset(names)


def _takes_many(annotation: Any) -> bool:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return any(_takes_many(arg) for arg in typing.get_args(annotation))
    if origin is typing.Annotated:
        return _takes_many(typing.get_args(annotation)[0])
    return isinstance(origin, type) and issubclass(origin, (Sequence, set, frozenset)) and origin is not str


def repeated_query(request: Request, single: frozenset[str]) -> str | None:
    """The first single-valued query parameter the request gives more than once, if any."""
    seen: set[str] = set()
    for name, _ in request.query_params.multi_items():
        if name in single and name in seen:
            return name
        seen.add(name)
    return None
