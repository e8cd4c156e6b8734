"""The web process: NiceGUI pages + the REST API (/api/v1) + a huey consumer, on one port.

Contract with the outer rooms:
- ui.api.build_router() -> APIRouter mounted at /api/v1 (reads the Core from app.state.core)
- ui.api.ops.router -> /metrics, /healthz, /readyz
- ui.pages.register_pages() -> registers the NiceGUI pages
- ui.headers.SecurityHeaders -> Content-Security-Policy and security headers on every answer
"""

from __future__ import annotations

import logging
import os
from typing import Any

from tagmyphotos.config import Config
from tagmyphotos.core import Core
from tagmyphotos.stages.runner import release_running_jobs
from tagmyphotos.system.origins import origin_allowed

from .boot import boot, setup_logging
from .http_limits import server_options

log = logging.getLogger("tagmyphotos.web")


def mount(app: Any, core: Core) -> None:
    """Attach the core, the API, the ops endpoints and the pages to a NiceGUI/FastAPI app."""
    from ui.api import build_router
    from ui.api.gate import AuthGate
    from ui.api.ops import router as ops_router
    from ui.components.session import UploadGate
    from ui.headers import ForwardedPrefixGuard, SecurityHeaders

    app.state.core = core
    app.add_middleware(AuthGate)  # credentials before any body is read; uploads capped
    app.add_middleware(SecurityHeaders)  # CSP and friends on every answer, pages and API
    app.add_middleware(UploadGate)  # a page's upload only while its login lasts
    build = app.build_middleware_stack  # outside every middleware, also those ui.run adds later:

    def guarded_stack() -> Any:  # X-Forwarded-Prefix from trusted proxies only
        return ForwardedPrefixGuard(build())

    app.build_middleware_stack = guarded_stack
    app.include_router(build_router())
    app.include_router(ops_router)


def guard_websocket_origin(sio: Any, cfg: Config) -> None:
    """NiceGUI accepts a websocket from any origin; ours accepts only our own (and public_url's)."""

    def allowed(origin: str | None, environ: dict[str, Any]) -> bool:
        return origin_allowed(cfg, origin, environ.get("HTTP_HOST"), environ.get("HTTP_X_FORWARDED_HOST"))

    sio.eio.cors_allowed_origins = allowed


def serve(cfg: Config, host: str, port: int) -> int:
    # NiceGUI keeps per-user UI state (dark mode) on disk: in the data volume, not the cwd
    os.environ.setdefault("NICEGUI_STORAGE_PATH", str(cfg.data / "ui-storage"))
    from nicegui import app, ui
    from nicegui import core as nicegui_core

    from jobs.consumer import start_consumer, stop_consumer
    from jobs.tasks import run_job
    from tagmyphotos.system.auth import session_secret, sync_configured_password
    from ui.pages import register_pages

    setup_logging(cfg)
    core = boot(cfg)
    sync_configured_password(core.cfg)
    mount(app, core)
    guard_websocket_origin(nicegui_core.sio, core.cfg)
    register_pages()
    holder: dict[str, Any] = {}

    def on_startup() -> None:
        holder["consumer"] = start_consumer(workers=2)
        log.info("Tag My Photos on http://%s:%s (library %s, data %s)", host, port, cfg.library, cfg.data)

    def on_shutdown() -> None:
        consumer = holder.pop("consumer", None)
        if consumer is not None:
            stop_consumer(consumer, graceful=False)
        for job_id in release_running_jobs():  # persisted in the queue: the next start resumes it
            log.info("job %s interrupted by the stop; queued again", job_id)
            run_job(job_id)
        core.close()

    app.on_startup(on_startup)
    app.on_shutdown(on_shutdown)
    ui.run(
        host=host,
        port=port,
        reload=False,
        show=False,
        title="Tag My Photos",
        storage_secret=session_secret(core.cfg),
        reconnect_timeout=10,
        uvicorn_logging_level="warning",
        **server_options(cfg.server.header_timeout_s),  # slow-header connections are closed
    )
    return 0
