"""The web process: NiceGUI pages + the REST API (/api/v1) + a huey consumer, on one port.

Contract with the outer rooms:
- ui.api.build_router() -> APIRouter mounted at /api/v1 (reads the Core from app.state.core)
- ui.api.ops.router -> /metrics, /healthz, /readyz
- ui.pages.register_pages() -> registers the NiceGUI pages
"""

from __future__ import annotations

import logging
import os
from typing import Any

from tagmyphotos.config import Config
from tagmyphotos.core import Core

from .runner import boot, setup_logging

log = logging.getLogger("tagmyphotos.web")


def mount(app: Any, core: Core) -> None:
    """Attach the core, the API, the ops endpoints and the pages to a NiceGUI/FastAPI app."""
    from ui.api import build_router
    from ui.api.ops import router as ops_router

    app.state.core = core
    app.include_router(build_router())
    app.include_router(ops_router)


def serve(cfg: Config, host: str, port: int) -> int:
    # NiceGUI keeps per-user UI state (dark mode) on disk: in the data volume, not the cwd
    os.environ.setdefault("NICEGUI_STORAGE_PATH", str(cfg.data / "ui-storage"))
    from nicegui import app, ui

    from jobs.consumer import start_consumer, stop_consumer
    from tagmyphotos.system.auth import session_secret, sync_configured_password
    from ui.pages import register_pages

    setup_logging(cfg)
    core = boot(cfg)
    sync_configured_password(core.cfg)
    mount(app, core)
    register_pages()
    holder: dict[str, Any] = {}

    def on_startup() -> None:
        holder["consumer"] = start_consumer(workers=2)
        log.info("Tag My Photos on http://%s:%s (library %s, data %s)", host, port, cfg.library, cfg.data)

    def on_shutdown() -> None:
        consumer = holder.pop("consumer", None)
        if consumer is not None:
            stop_consumer(consumer, graceful=False)
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
    )
    return 0
