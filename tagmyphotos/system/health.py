"""Readiness: can this process do its work right now? (database, queue, exiftool, weights)

Each check is cheap, returns a reason a person can act on, and never raises: /readyz turns
the list into 200 or 503 and the Docker healthcheck into healthy or unhealthy.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import peewee as pw

from tagmyphotos.config import Config, mask_urls_in
from tagmyphotos.faces.weights import WeightsMissingError, dlib_weights, mtcnn_weights
from tagmyphotos.store import migrations

# /readyz runs `exiftool -ver` at most this often (seconds): a Docker healthcheck every 30 s
# would otherwise start Perl each time; a removed exiftool shows within this delay.
READY_EXIFTOOL_CACHE_S = 120


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    seconds: float = 0.0


@dataclass(frozen=True)
class Readiness:
    checks: tuple[Check, ...]

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    @property
    def reasons(self) -> list[str]:
        return [f"{c.name}: {c.detail}" for c in self.checks if not c.ok]

    def as_dict(self) -> dict[str, Any]:
        return {
            "ready": self.ok,
            "reasons": self.reasons,
            "checks": {c.name: {k: v for k, v in asdict(c).items() if k != "name"} for c in self.checks},
        }


def _timed(name: str, fn: Callable[[], str]) -> Check:
    started = time.perf_counter()
    try:
        detail, ok = fn(), True
    except Exception as exc:  # a check reports, it never raises
        lines = str(exc).strip().splitlines()
        detail, ok = mask_urls_in(f"{type(exc).__name__}: {lines[0] if lines else ''}"), False
    return Check(name, ok, detail, round(time.perf_counter() - started, 4))


def check_database(db: pw.Database) -> Check:
    """A round trip, and a schema this program knows (an older program on a newer DB is not)."""

    def probe() -> str:
        if (
            isinstance(db, pw.SqliteDatabase)
            and db.database != ":memory:"
            and not Path(db.database).is_file()
        ):
            # an open connection keeps answering for a deleted file or an unmounted volume
            raise FileNotFoundError(f"database file {db.database} is gone")
        db.execute_sql("SELECT 1")
        version = migrations.current_version(db)
        if version != migrations.LATEST:
            raise RuntimeError(f"schema version {version}, this program needs {migrations.LATEST}")
        return f"{type(db).__name__}, schema {version}"

    return _timed("database", probe)


def check_queue(depth: Callable[[], int]) -> Check:
    def probe() -> str:
        n = depth()
        if n < 0:
            raise ConnectionError("the job queue's storage does not answer")
        return f"{n} tasks waiting"

    return _timed("queue", probe)


def exiftool_path(cfg: Config) -> str:
    """Configured, else the one install.sh puts in the virtualenv, else the one on PATH."""
    if cfg.write.exiftool:
        return cfg.write.exiftool
    bundled = Path(sys.prefix) / "opt" / "exiftool" / "exiftool"
    if bundled.is_file():
        return str(bundled)
    return shutil.which("exiftool") or str(bundled)


_exiftool_cache: dict[str, tuple[float, str]] = {}
_exiftool_lock = threading.Lock()


def check_exiftool(cfg: Config, max_age_s: float = READY_EXIFTOOL_CACHE_S) -> Check:
    """`exiftool -ver` answers (cached for max_age_s; a failure is never cached)."""
    path = exiftool_path(cfg)

    def probe() -> str:
        with _exiftool_lock:
            hit = _exiftool_cache.get(path)
            if hit and time.monotonic() - hit[0] < max_age_s and os.access(path, os.X_OK):
                return hit[1]
        if not os.access(path, os.X_OK):
            raise FileNotFoundError(f"{path} is missing or not executable (set write.exiftool)")
        out = subprocess.run([path, "-ver"], capture_output=True, text=True, timeout=20, check=False)
        version = out.stdout.strip()
        if out.returncode != 0 or not version:
            raise RuntimeError(f"{path} -ver failed: {(out.stderr or out.stdout).strip()[:200]}")
        detail = f"{path} {version}"
        with _exiftool_lock:
            _exiftool_cache[path] = (time.monotonic(), detail)
        return detail

    return _timed("exiftool", probe)


def check_weights(cfg: Config, loaded_model: str | None = None) -> Check:
    """The weight files the configured analysis needs are on disk (nothing is downloaded).

    dlib's landmark model is always needed (alignment); its ResNet for the default model;
    MTCNN's files for the mtcnn detector modes. Other models' files are only known to deepface
    when the model is built, so they count as verified once this process has loaded it.
    """

    def probe() -> str:
        found = []
        try:
            weights = dlib_weights()
            found += [weights.landmarks.name, weights.resnet.name]
            if cfg.analysis.engine == "onnx" or "mtcnn" in cfg.analysis.detector:
                found += [p.name for p in mtcnn_weights().values()]
        except WeightsMissingError as exc:
            raise FileNotFoundError(str(exc)) from None
        model = cfg.analysis.model
        if model != "Dlib":
            found.append(f"{model} loaded" if loaded_model == model else f"{model} verified at first load")
        return ", ".join(found)

    return _timed("weights", probe)


def readiness(
    cfg: Config, db: pw.Database, queue_depth: Callable[[], int] | None, loaded_model: str | None = None
) -> Readiness:
    checks = [check_database(db)]
    if queue_depth is not None:
        checks.append(check_queue(queue_depth))
    checks += [check_exiftool(cfg), check_weights(cfg, loaded_model)]
    return Readiness(tuple(checks))
