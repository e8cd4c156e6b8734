"""Settings > Names from Google Photos (Takeout): the import says in words what it placed and
which file it could not read; a folder outside the library is refused. NiceGUI's simulated user
against a real Core (the import-names job runs for real)."""

from __future__ import annotations

import asyncio
import json

import pytest

from tagmyphotos.core import Core
from tagmyphotos.store import models as m
from tests.support.ui_harness import run_queued, simulated_ui

pytestmark = pytest.mark.asyncio


async def _run_from_page(core: Core, user: object, folder: str = "") -> m.Job:
    if folder:
        user.find(marker="takeout-folder").type(folder)  # type: ignore[attr-defined]
    user.find(marker="import-takeout").click()  # type: ignore[attr-defined]
    for _ in range(50):
        queued = m.Job.select().where((m.Job.type == "import-names") & (m.Job.state == m.JobState.QUEUED)).first()
        if queued is not None:
            break
        await asyncio.sleep(0.1)
    assert queued is not None and queued.params["source"] == "takeout"
    run_queued(core, queued.id)
    return m.Job.get_by_id(queued.id)


async def test_takeout_names_are_read_and_reported_in_words(core: Core) -> None:
    lib = core.cfg.library
    photo = m.Photo.create(path="img1.jpg", size=1, mtime=0.0, width=400, height=300, state=m.PhotoState.DONE)
    face = m.Face.create(photo=photo.id, x=10, y=10, w=50, h=50, state=m.FaceState.UNKNOWN)
    m.Photo.create(path="img2.jpg", size=1, mtime=0.0, width=400, height=300, state=m.PhotoState.DONE)
    (lib / "img1.jpg.supplemental-metadata.json").write_text(
        json.dumps({"title": "img1.jpg", "photoTakenTime": {"timestamp": "0"}, "people": [{"name": "Ann"}]})
    )
    (lib / "img2.jpg.json").write_text("{broken")
    async with simulated_ui(core) as user:
        await user.open("/settings")
        await user.should_see("Names from Google Photos (Takeout)")
        job = await _run_from_page(core, user)
        assert job.state == m.JobState.DONE, job.error
        await user.should_see("Google Takeout: 1 names on 1 photos; placed 1 on faces", retries=40)
        await user.should_see("Could not read img2.jpg.json: not valid JSON", retries=5)
    assert m.Face.get_by_id(face.id).person.name == "Ann"


async def test_a_folder_outside_the_library_is_refused(core: Core) -> None:
    async with simulated_ui(core) as user:
        await user.open("/settings")
        job = await _run_from_page(core, user, folder="../..")
        assert job.state == m.JobState.FAILED
        await user.should_see("The import failed", retries=40)
