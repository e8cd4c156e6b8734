"""Issue 26 as a user lives it, on a running `tagmyphotos serve` (SQLite, its own huey
consumer): reference people taught, new photos arrive, names land in the files with no click,
and one undo puts the files back (tests/support/unattended.py; the same scenario runs on
PostgreSQL + Redis with two workers in tests/scaleout/test_unattended_scaleout.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tagmyphotos.config import load_config
from tagmyphotos.core import Core
from tagmyphotos_lab.appserver import serve
from tests.support import unattended


def test_new_photos_are_named_and_written_without_a_click(tmp_path: Path) -> None:
    library, data = tmp_path / "library", tmp_path / "data"
    library.mkdir()
    with serve(library, data, **unattended.ENV) as app, app.client() as http:

        def api(method: str, path: str, **kw: Any) -> Any:
            resp = http.request(method, "/api/v1" + path, **kw)
            assert resp.status_code < 300, f"{method} {path}: {resp.status_code} {resp.text}"
            return resp.json()

        def alive() -> None:
            assert app.alive(), app.log.read_text(errors="replace")[-3000:]

        core = Core(load_config(path=tmp_path / "none.yaml", environ={
            "TAGMYPHOTOS_LIBRARY": str(library), "TAGMYPHOTOS_DATA": str(data)}))  # reads the same database
        try:
            unattended.run(api, library, data, alive, timeout_s=600)
        finally:
            core.close()
