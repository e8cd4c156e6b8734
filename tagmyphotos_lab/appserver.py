"""The real app (`tagmyphotos serve`) in a subprocess on a free port, for tests that need the
whole process: its huey consumer threads, its signal handling, its log."""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.support.base import EXIFTOOL, ROOT
from tests.support.servers import free_port

START_TIMEOUT_S = 60
API_KEY = "tmpk_test-key-for-the-real-server-0123456789"


@dataclass
class App:
    base: str
    proc: subprocess.Popen[bytes]
    log: Path

    def client(self, key: str | None = API_KEY) -> httpx.Client:
        return httpx.Client(base_url=self.base, headers={"X-API-Key": key} if key else {}, timeout=30)

    def alive(self) -> bool:
        return self.proc.poll() is None


@contextlib.contextmanager
def serve(library: Path, data: Path, **env: str) -> Iterator[App]:
    """Serve `library` with `data`; env adds TAGMYPHOTOS_* settings (no periodic scan)."""
    port = free_port()
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("TAGMYPHOTOS_", "PYTEST", "NICEGUI"))}
    environ.update(
        TAGMYPHOTOS_CONFIG=str(data.parent / "none.yaml"), TAGMYPHOTOS_LIBRARY=str(library),
        TAGMYPHOTOS_DATA=str(data), TAGMYPHOTOS_SCAN__INTERVAL_MINUTES="0", TAGMYPHOTOS_AUTH__API_KEY=API_KEY,
        TAGMYPHOTOS_WRITE__EXIFTOOL=str(EXIFTOOL), PYTHONPATH=str(ROOT),
    )  # fmt: skip
    environ.update(env)
    data.mkdir(parents=True, exist_ok=True)
    log = data.parent / f"serve-{port}.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [str(ROOT / ".venv" / "bin" / "python"), "-m", "tagmyphotos_app", "serve", "--host", "127.0.0.1",
             "--port", str(port)], env=environ, stdout=out, stderr=subprocess.STDOUT, cwd=data.parent,
        )  # fmt: skip
    app = App(f"http://127.0.0.1:{port}", proc, log)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            try:
                if httpx.get(app.base + "/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(log.read_text(errors="replace")[-3000:])
            time.sleep(0.3)
        yield app
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
