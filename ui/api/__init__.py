"""The REST API (/api/v1): one router per resource, all behind one auth dependency.

build_router() is mounted into the NiceGUI app by tagmyphotos_app.web.mount. The OpenAPI
schema is built from the routes of whatever app the router was mounted in (the app's own
/openapi.json may be switched off or belong to NiceGUI), and cached per app.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.routing import iter_route_contexts

from . import (
    auto,
    clusters,
    contract,
    faces,
    hooks,
    imports,
    jobs,
    keys,
    merges,
    people,
    photos,
    settings,
    suggestions,
    system,
    teach,
    writes,
)
from .deps import authenticate
from .docs import DOCS_HTML
from .errors import ProblemRoute, not_found_or_not_allowed
from .problems import problem_responses
from .schemas import API_PREFIX

API_TITLE = "Tag My Photos API"
API_DESCRIPTION = """Everything the web UI does, for scripts.

**Auth**: create a key with `tagmyphotos apikey create --name NAME [--scope read]` (or in
Settings) and send it as `X-API-Key: <key>` or `Authorization: Bearer <key>`. Read-only keys
may use GET only. **Lists** take `limit` (at most 500) and `offset` and return `total`.
**Errors** are RFC 9457 problem details (`application/problem+json`) with a `detail` sentence.

Common scripts (`K` holds a key, `H` the server, e.g. `http://nas:8765`):

    # suggested names, grouped by person, likely ones first
    curl -s -H "X-API-Key: $K" "$H/api/v1/suggestions?band=likely&per_person=20"
    # accept every 'likely' suggestion for person 7
    curl -s -H "X-API-Key: $K" -H 'Content-Type: application/json' \\
         -d '{"person_id": 7}' "$H/api/v1/suggestions/accept-likely"
    # write the confirmed names into the photos, then follow the job
    curl -s -H "X-API-Key: $K" -H 'Content-Type: application/json' \\
         -d '{"type": "write"}' "$H/api/v1/jobs"
    curl -s -H "X-API-Key: $K" "$H/api/v1/jobs/<id>"
"""
# What any route may answer besides its own statuses: a NUL or a body that is not UTF-8 JSON
# (400), no or a bad key (401), a read-only key (403), too big (413), invalid (422), too many
# wrong API keys from the caller's address (429), a storage problem such as a locked database
# (503) and the last line of defence (500).
ANY_ROUTE_STATUSES = (400, 401, 403, 413, 422, 429, 500, 503)
# merges before people: its /people/merge-suggestions paths must win over /people/{person_id}
RESOURCES = (
    photos, faces, suggestions, merges, people, clusters, teach, jobs, writes, settings, system, keys, imports,
    auto, hooks,
)  # fmt: skip


def api_routes(app: Any) -> list[Any]:
    """The app's routes under /api/v1 (FastAPI route contexts, whatever the include nesting)."""
    return [rc for rc in iter_route_contexts(app.routes) if (rc.path or "").startswith(API_PREFIX)]


def openapi_schema(app: Any) -> dict[str, Any]:
    schema = getattr(app.state, "tagmyphotos_openapi", None)
    if schema is None:
        from .system import package_version

        schema = contract.finish(get_openapi(
            title=API_TITLE, version=package_version(), description=API_DESCRIPTION,
            routes=api_routes(app),
            tags=[{"name": r.router.tags[0], "description": (r.__doc__ or "").strip().splitlines()[0]}
                  for r in RESOURCES if r.router.tags],
        ))  # fmt: skip
        app.state.tagmyphotos_openapi = schema
    return schema  # type: ignore[no-any-return]


def build_router() -> APIRouter:
    """The /api/v1 router: every resource, the schema, the docs page and the 404/405 catch-all.

    The inbound hooks check their own signature (or an API key) and so sit outside the
    router-wide auth dependency; they are included first, before the catch-all."""
    outer = APIRouter(prefix=API_PREFIX, route_class=ProblemRoute,
                      responses=problem_responses(*ANY_ROUTE_STATUSES))  # fmt: skip
    outer.include_router(hooks.router)
    router = APIRouter(
        dependencies=[Depends(authenticate)],
        route_class=ProblemRoute,
    )
    for module in RESOURCES:
        if module is not hooks:
            router.include_router(module.router)

    @router.get("/openapi.json", include_in_schema=False)
    def openapi(request: Request) -> JSONResponse:
        return JSONResponse(openapi_schema(request.app))

    @router.get("/docs", include_in_schema=False, response_class=HTMLResponse)
    def docs() -> HTMLResponse:
        return HTMLResponse(DOCS_HTML)

    @router.api_route(
        "/{rest:path}", methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
        include_in_schema=False,
    )  # fmt: skip
    def not_found(request: Request, rest: str) -> Response:
        return not_found_or_not_allowed(request, API_PREFIX)

    outer.include_router(router)
    return outer
