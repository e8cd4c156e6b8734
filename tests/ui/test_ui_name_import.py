"""Settings > Names from Immich and PhotoPrism: a conflict is listed and decided; a failed import
says why. NiceGUI's simulated user against a real Core."""

from __future__ import annotations

import asyncio

import pytest

from tagmyphotos.core import Core
from tagmyphotos.store import models as m
from tests.support.ui_harness import run_queued, simulated_ui

pytestmark = pytest.mark.asyncio


def _conflict() -> int:
    photo = m.Photo.create(path="img1.jpg", size=1, mtime=0.0, width=400, height=300, state=m.PhotoState.DONE)
    person = m.Person.create(name="Bob Here")
    face = m.Face.create(photo=photo.id, x=10, y=10, w=50, h=50, state=m.FaceState.CONFIRMED, person=person.id)
    row = m.ForeignFace.create(source="immich", external_id="f-1", photo=photo.id, face=face.id,
                               external_person="p-1", name_there="Carol There", person_here=person.id,
                               outcome=m.FOREIGN_CONFLICT)  # fmt: skip
    return int(row.id)


async def test_a_conflict_is_listed_and_kept(core: Core) -> None:
    conflict = _conflict()
    async with simulated_ui(core) as user:
        await user.open("/settings")
        await user.should_see("Names from Immich and PhotoPrism")
        await user.should_see("1 conflicts to decide", retries=20)
        await user.should_see("'Carol There'")
        user.find(marker=f"ours-{conflict}").click()
        await user.should_not_see("1 conflicts to decide", retries=20)
    assert m.ForeignFace.get_by_id(conflict).decision == "ours"
    assert m.Face.get(m.Face.photo == m.Photo.get(m.Photo.path == "img1.jpg").id).person.name == "Bob Here"


async def test_an_import_without_immich_set_up_says_why(core: Core) -> None:
    async with simulated_ui(core) as user:
        await user.open("/settings")
        user.find(marker="import-immich").click()
        for _ in range(50):
            queued = m.Job.select().where((m.Job.type == "import-names") & (m.Job.state == m.JobState.QUEUED)).first()
            if queued is not None:
                break
            await asyncio.sleep(0.1)
        assert queued is not None and queued.params == {"source": "immich", "dry_run": False}
        run_queued(core, queued.id)
        await user.should_see("Immich: no URL set", retries=40)
        await user.should_see("The import failed", retries=5)
