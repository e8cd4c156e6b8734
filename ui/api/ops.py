"""/metrics, /healthz, /readyz: for Prometheus, Docker and orchestrators, outside /api/v1.

No API key: a healthcheck or a scraper has none, and none of these answers carries a photo,
a name or a secret (only counts and check results).
"""

from __future__ import annotations

import threading
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from jobs.queue import queue_depth
from tagmyphotos import VERSION
from tagmyphotos.system import metrics
from tagmyphotos.system.health import readiness

router = APIRouter(tags=["ops"])
_lock = threading.Lock()


def _core(request: Request) -> Any:
    core = getattr(request.app.state, "core", None)
    if core is None:
        raise RuntimeError("no Core on app.state: mount the app through tagmyphotos_app.web.mount")
    return core


def _collector(request: Request) -> metrics.LibraryCollector:
    """One collector per app: it caches finished jobs between scrapes."""
    state = request.app.state
    with _lock:
        collector = getattr(state, "metrics_collector", None)
        if collector is None:
            collector = state.metrics_collector = metrics.LibraryCollector(queue_depth=queue_depth)
    return collector


@router.get("/metrics", include_in_schema=False)
def get_metrics(request: Request) -> Response:
    """Prometheus text exposition: library figures from the database + this process."""
    _core(request)
    return Response(metrics.render(_collector(request)), media_type=metrics.CONTENT_TYPE)


@router.get("/healthz", include_in_schema=False)
def healthz() -> dict[str, str]:
    """The process is up and serving requests (liveness): nothing else is checked. The release
    rides along, so an upgrade can be confirmed without an API key."""
    return {"status": "ok", "version": VERSION}


@router.get("/readyz", include_in_schema=False)
def readyz(request: Request) -> JSONResponse:
    """200 when the database, the queue, exiftool and the model weights are usable, else 503
    with one reason per failed check."""
    core = _core(request)
    result = readiness(core.cfg, core.db, queue_depth)
    return JSONResponse(result.as_dict(), status_code=200 if result.ok else 503)
