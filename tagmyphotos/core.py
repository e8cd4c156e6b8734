"""The per-process core: validated config, the open database, and lazily made heavy tools.

One Core is made by the composition root (CLI, app, worker) and passed explicitly to the
service functions and stages, so nothing reads global config behind the caller's back.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

import peewee as pw

from tagmyphotos.config import Config
from tagmyphotos.store.db import close_database, open_database
from tagmyphotos.store.settings import apply_overrides

log = logging.getLogger("tagmyphotos")


class Core:
    def __init__(self, cfg: Config, upgrade: bool = True) -> None:
        self.cfg = cfg
        for folder in (cfg.data, cfg.thumbs_dir, cfg.index_dir):
            folder.mkdir(parents=True, exist_ok=True)
        url = cfg.database.url.get_secret_value() if cfg.database.url else None
        self.db: pw.Database = open_database(cfg.db_path, url, upgrade=upgrade)
        if upgrade:
            # settings edited in the UI/API lie over config.yaml; the environment wins over both
            self.cfg = apply_overrides(cfg)
        self._lock = threading.Lock()
        self._tools: dict[str, Any] = {}

    @property
    def library(self) -> Path:
        return self.cfg.library

    def tool(self, name: str, factory: Any) -> Any:
        """A heavy object (face analyzer, exiftool process) made once per process on first use."""
        with self._lock:
            if name not in self._tools:
                self._tools[name] = factory()
            return self._tools[name]

    def close(self) -> None:
        for obj in self._tools.values():
            closer = getattr(obj, "close", None)
            if callable(closer):
                try:
                    closer()
                except Exception:  # closing is best effort
                    log.debug("closing %r failed", obj, exc_info=True)
        self._tools.clear()
        close_database()
