"""Request dependencies: the process Core, the authenticated caller, and pagination.

Why auth is one router-wide dependency: every route under /api/v1 gets it from build_router,
so a new route cannot forget it; a read-only key may use GET/HEAD only, so a new write route
cannot forget that either.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Path, Query, Request
from fastapi.security import APIKeyCookie, APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field

from tagmyphotos.core import Core
from tagmyphotos.system import auth, throttle
from tagmyphotos.system.origins import origin_allowed

from .problems import ApiProblem
from .schemas import MAX_ID

# Largest page a list endpoint returns; a client pages through with offset.
MAX_PAGE_LIMIT = 500
DEFAULT_PAGE_LIMIT = 50
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Where the gate (ui/api/gate.py) leaves the caller it identified, in the request's state.
GATE_PRINCIPAL = "tagmyphotos_principal"
# Ids are positive integers up to schemas.MAX_ID: anything else is a 422, never a database error.
IdPath = Annotated[int, Path(ge=1, le=MAX_ID, description="numeric id")]

_api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="an API key")
_bearer = HTTPBearer(auto_error=False, description="an API key as `Authorization: Bearer <key>`")
_session_cookie = APIKeyCookie(
    name=auth.SESSION_COOKIE, auto_error=False, description="the web UI's signed session cookie"
)


def get_core(request: Request) -> Core:
    core = getattr(request.app.state, "core", None)
    if core is None:
        raise ApiProblem(503, "the server is starting; try again in a moment")
    return core


def _same_origin(request: Request) -> bool:
    """A cookie-authenticated write must come from our own pages (CSRF guard)."""
    origin = request.headers.get("origin") or request.headers.get("referer")
    if not origin:
        return True  # not a browser cross-site request (browsers send Origin on cross-site writes)
    headers = request.headers
    return origin_allowed(get_core(request).cfg, origin, headers.get("host"), headers.get("x-forwarded-host"))


def identify(
    cfg: Any, api_key: str | None, session: str | None, headers: Any, peer: str | None
) -> auth.Principal:
    """The caller, from an API key (throttled per address after failures), the session cookie or
    a trusted proxy header; ApiProblem 401/429 otherwise. Shared by the route dependency and the
    gate that runs before any body is read (ui/api/gate.py)."""
    principal: auth.Principal | None = None
    if api_key:
        client = auth.client_address(cfg, peer, headers.get("x-forwarded-for"))
        keys = throttle.KEY_THROTTLE
        wait = keys.wait_s(client, cfg.auth.key_failures_per_address)
        if wait > 0:
            keys.refused(client, wait)
            raise ApiProblem(429, f"too many wrong API keys from this address; try again in {math.ceil(wait)} s",
                             "throttled", {"Retry-After": str(math.ceil(wait))})  # fmt: skip
        principal = auth.authenticate_key(cfg, api_key)
        if principal is None:
            keys.failed(client)
            raise ApiProblem(
                401,
                "the API key is not valid (revoked or mistyped)",
                "bad-key",
                {"WWW-Authenticate": "Bearer"},
            )
    if principal is None and session:
        principal = auth.read_session(cfg, session)
    if principal is None:
        principal = auth.proxy_principal(cfg, headers, peer)
    if principal is None:
        raise ApiProblem(
            401,
            "send an API key as X-API-Key or Authorization: Bearer (create one with "
            "`tagmyphotos apikey create`), or log in to the web UI",
            "unauthenticated",
            {"WWW-Authenticate": "Bearer"},
        )
    return principal


def authenticate(
    request: Request,
    api_key: str | None = Depends(_api_key_header),
    bearer: HTTPAuthorizationCredentials | None = Depends(_bearer),
    session: str | None = Depends(_session_cookie),
) -> auth.Principal:
    """The caller, from X-API-Key, Bearer, the session cookie or a trusted proxy header."""
    core = get_core(request)
    principal = request.scope.get("state", {}).get(GATE_PRINCIPAL)  # the gate identified it already
    if not isinstance(principal, auth.Principal):
        peer = request.client.host if request.client else None
        presented = api_key or (bearer.credentials if bearer else None)
        principal = identify(core.cfg, presented, session, request.headers, peer)
    if principal.kind == "session" and request.method not in READ_METHODS and not _same_origin(request):
        raise ApiProblem(403, "cross-site request refused; use the app's own pages or an API key")
    if request.method not in READ_METHODS and not principal.can_write:
        raise ApiProblem(403, "this API key is read-only; use a key with full scope to change things", "read-only")
    request.state.principal = principal
    return principal


def require_full(principal: auth.Principal = Depends(authenticate)) -> auth.Principal:
    """For routes that even a read must not reach with a read-only key (key management)."""
    if not principal.can_write:
        raise ApiProblem(403, "this needs a key with full scope", "read-only")
    return principal


class PageParams(BaseModel):
    limit: int
    offset: int


def page_params(
    limit: int = Query(DEFAULT_PAGE_LIMIT, ge=1, le=MAX_PAGE_LIMIT, description="items per page"),
    offset: int = Query(0, ge=0, le=10_000_000, description="items to skip"),
) -> PageParams:
    return PageParams(limit=limit, offset=offset)


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """One page of a list: the items, and the total that matched (for paging)."""

    items: list[T]
    total: int = Field(description="how many items match, over all pages")
    limit: int
    offset: int


def paginate(query: Any, page: PageParams, convert: Any) -> dict[str, Any]:
    """Run a peewee query for one page; `convert` turns a row into the item model."""
    total = query.count()
    rows = query.limit(page.limit).offset(page.offset)
    return {"items": [convert(r) for r in rows], "total": total, "limit": page.limit, "offset": page.offset}


def order_by(model: Any, order: str, allowed: dict[str, Any]) -> list[Any]:
    """Map 'name' / '-name' to peewee ordering, with the id as a stable tie-breaker."""
    key = order.lstrip("-")
    if key not in allowed:
        raise ApiProblem(400, f"order must be one of {', '.join(sorted(allowed))}, optionally with '-'")
    field = allowed[key]
    return [field.desc() if order.startswith("-") else field.asc(), model.id.asc()]
