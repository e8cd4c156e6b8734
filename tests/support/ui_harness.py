"""Run the real NiceGUI pages in NiceGUI's simulated `User` (no browser, no server port).

Why not the stock `user` fixture: it wants a main file to execute; our pages are registered by
the composition root with a Core, so this harness does what `user_simulation` does, with a
real Core (temp SQLite) mounted exactly as `tagmyphotos_app.web.mount` mounts it.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
from nicegui import app, ui
from nicegui import core as nicegui_core
from nicegui.functions.download import download
from nicegui.functions.navigate import Navigate
from nicegui.functions.notify import notify
from nicegui.storage import Storage
from nicegui.testing import User
from nicegui.testing.general import nicegui_reset_globals, prepare_simulation

from tagmyphotos.core import Core
from tagmyphotos.system import auth

PASSWORD = "correct horse battery"


def _fresh_storage() -> None:
    Storage.path = Path(tempfile.mkdtemp(prefix="nicegui-test-storage-")).resolve()
    app.storage = Storage()


@contextlib.asynccontextmanager
async def simulated_ui(core: Core, logged_in: bool = True) -> AsyncIterator[User]:
    """A simulated browser on the app (pages + API); with a session cookie when logged_in.

    The queue is real (SQLite in the data folder) but no consumer runs: a job a page starts
    stays queued until the test runs it with `run_queued`, so every step is deterministic.
    """
    from jobs import runtime
    from jobs.queue import configure_queue

    configure_queue(core.cfg)
    runtime.install(core)
    _fresh_storage()
    with nicegui_reset_globals():
        os.environ["NICEGUI_USER_SIMULATION"] = "true"
        try:
            from tagmyphotos_app.web import mount
            from ui.pages import register_pages

            mount(app, core)
            register_pages()
            prepare_simulation()
            ui.run(storage_secret=auth.session_secret(core.cfg))
            async with nicegui_core.app.router.lifespan_context(nicegui_core.app):
                transport = httpx.ASGITransport(nicegui_core.app)
                async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                    if logged_in:
                        await login_cookie(core, client)
                    yield User(client)
        finally:
            os.environ.pop("NICEGUI_USER_SIMULATION", None)
            ui.navigate = Navigate()
            ui.notify = notify
            ui.download = download
            runtime.install(None)


async def login_cookie(core: Core, client: httpx.AsyncClient) -> None:
    """Set the password (if unset) and log in the way the login page does (a one-time ticket)."""
    from ui.components import session

    if not auth.password_is_set(core.cfg):
        auth.set_password(core.cfg, PASSWORD)
    response = await client.get(f"/login/complete?ticket={session.issue_ticket()}&next=/jobs")
    assert response.status_code == 303 and auth.SESSION_COOKIE in response.cookies


def run_queued(core: Core, job_id: int) -> list[int]:
    """Run one queued job here and now (what a worker would do); returns the jobs it hands off to."""
    from jobs.pipeline import STAGES
    from tagmyphotos.stages.runner import run_stage
    from tagmyphotos.store import models as m

    return run_stage(core, STAGES[m.Job.get_by_id(job_id).type], job_id)


def identities() -> dict[str, str]:
    """photo file name -> person label, from the test data's identities.csv."""
    import csv

    from tests.support.base import FACES

    with open(FACES / "identities.csv", newline="") as f:
        return {row["file"]: row["identity"] for row in csv.DictReader(f)}


def teach(core: Core, people: int, per_person: int) -> dict[str, list[int]]:
    """Name `per_person` single-face photos of the first `people` identities (as a user would),
    then let the matcher suggest names for every other face. Returns name -> taught face ids."""
    from tagmyphotos.review import confirm
    from tagmyphotos.store import models as m
    from tagmyphotos.suggest.refresh import refresh_suggestions

    by_person: dict[str, list[int]] = {}
    for file, name in sorted(identities().items(), key=lambda kv: (kv[1], kv[0])):
        faces = list(m.Face.select().join(m.Photo).where(m.Photo.path == file))
        if len(faces) == 1 and (name in by_person or len(by_person) < people):
            chosen = by_person.setdefault(name, [])
            if len(chosen) < per_person:
                chosen.append(int(faces[0].id))
    for name, face_ids in by_person.items():
        confirm.confirm(core, face_ids, name)
    refresh_suggestions(core)
    return by_person
