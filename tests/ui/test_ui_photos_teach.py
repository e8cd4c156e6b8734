"""The Photos page (filters, people on each photo), the Teach page (a folder, an upload) and merge
suggestions on the People page, in NiceGUI's simulated browser on the analysed testdata."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from nicegui import ui
from nicegui.elements.upload_files import SmallFileUpload
from nicegui.testing import User

from tagmyphotos.core import Core
from tagmyphotos.review import confirm
from tagmyphotos.store import models as m
from tests.support.base import FACES
from tests.support.ui_harness import identities, run_queued, simulated_ui, teach

pytestmark = pytest.mark.asyncio


@pytest_asyncio.fixture
async def taught(analysed_core: Core) -> AsyncIterator[tuple[User, Core, dict[str, list[int]]]]:
    names = teach(analysed_core, people=2, per_person=2)
    async with simulated_ui(analysed_core) as user:
        yield user, analysed_core, names


def _files_of(identity: str) -> list[str]:
    return sorted(f for f, who in identities().items() if who == identity)


def _last_job() -> m.Job:
    return m.Job.select().order_by(m.Job.id.desc()).get()


async def test_photos_page_filters_by_people_and_unnamed_faces(taught) -> None:
    user, core, names = taught
    await user.open("/photos")
    await user.should_see("64 photos", retries=30)
    name = sorted(names)[0]
    pid = m.Person.get(m.Person.name == name).id
    photos = {f.photo_id for f in m.Face.select().where(m.Face.person == pid)}
    user.find(marker="photos-people").elements.pop().set_value([pid])
    await user.should_see(f"{len(photos)} photos", retries=30)
    for photo_id in photos:
        await user.should_see(marker=f"photo-{photo_id}")
    with user.scope(marker=f"photo-{min(photos)}"):
        await user.should_see(name)
    user.find(marker="photos-mode").elements.pop().set_value("only")
    await user.should_see(f"{len(photos)} photos", retries=30)  # single-face photos: only them
    user.find(marker="photos-people").elements.pop().set_value([])
    user.find(marker="photos-mode").elements.pop().set_value("all")
    user.find(marker="photos-unnamed").elements.pop().set_value("without")
    unnamed = m.Face.select(m.Face.photo).where(m.Face.state.in_([m.FaceState.UNKNOWN, m.FaceState.SUGGESTED]))
    without = m.Photo.select().where(m.Photo.id.not_in(unnamed)).count()
    await user.should_see(f"{without} photos", retries=30)
    user.find(marker="photos-folder").type("no-such-folder")
    await user.should_see("No photos match", retries=30)


async def test_photos_page_opens_with_a_person_and_links_to_the_photo(taught) -> None:
    user, core, names = taught
    name = sorted(names)[1]
    face = m.Face.get_by_id(names[name][0])
    await user.open(f"/photos?person={face.person_id}")
    await user.should_see(marker=f"photo-{face.photo_id}", retries=30)
    link = user.find(marker=f"photo-{face.photo_id}").elements.pop()
    assert isinstance(link, ui.link) and link.props["href"] == f"/photo/{face.photo_id}"


async def test_photos_filters_are_kept_in_the_address(taught) -> None:
    """A reload (or a shared link) shows the same photos: the filters are in the URL (issue 29)."""
    user, core, names = taught
    ids = sorted(m.Face.get_by_id(faces[0]).person_id for faces in names.values())
    await user.open(f"/photos?people={ids[0]},{ids[1]}&mode=any&faces=without&order=path")
    await user.should_see(marker="photos-people", retries=30)
    assert user.find(marker="photos-people").elements.pop().value == ids[:2]
    assert user.find(marker="photos-mode").elements.pop().value == "any"
    assert user.find(marker="photos-unnamed").elements.pop().value == "without"
    user.find(marker="photos-mode").elements.pop().set_value("only")  # a change goes into the address
    await user.should_see(marker="photos-count", retries=30)
    await user.open("/photos?mode=nonsense&faces=&start=not-a-date")  # bad values: the defaults
    await user.should_see(marker="photos-mode", retries=30)
    assert user.find(marker="photos-mode").elements.pop().value == "all"
    assert user.find(marker="photos-from").elements.pop().value == ""


async def test_teach_page_from_a_folder_and_from_an_upload(analysed_core: Core) -> None:
    core = analysed_core
    refs = core.cfg.data / "refs" / "Anna"
    refs.mkdir(parents=True)
    for f in [*_files_of("person01")[:2], "couple.jpg"]:
        shutil.copyfile(FACES / f, refs / f)
    async with simulated_ui(core) as user:
        await user.open("/teach")
        await user.should_see(marker="teach-folder")
        user.find(marker="teach-root").elements.pop().set_value("data")
        user.find(marker="teach-folder").type("refs")
        user.find(marker="teach-folder-go").click()
        await user.should_see("Teaching from refs", retries=30)
        job = _last_job()
        assert (job.type, job.params) == ("teach", {"root": "data", "folder": "refs"})
        run_queued(core, job.id)
        await user.should_see("Taught: Anna (2)", retries=40)
        await user.should_see("refs/Anna/couple.jpg", retries=20)
        assert m.Person.get(m.Person.name == "Anna").face_count == 2

        user.find(marker="teach-folder").clear().type("../outside")
        user.find(marker="teach-folder-go").click()
        await user.should_see("must not contain", retries=30)
        assert _last_job().id == job.id  # refused before a job was queued

        user.find(marker="teach-person").type("Bruno")
        upload = user.find(marker="teach-upload").elements.pop()
        files = [SmallFileUpload(name=f, content_type="image/jpeg", _data=(FACES / f).read_bytes())
                 for f in _files_of("person02")[:2]]  # fmt: skip
        await upload.handle_uploads(files)
        await user.should_see("Teaching Bruno from 2 photos", retries=40)
        job = _last_job()
        assert job.params == {"root": "data", "folder": "teach", "person": "Bruno"}
        run_queued(core, job.id)
        await user.should_see("Taught: Bruno (2)", retries=40)
        assert len(list((core.cfg.data / "teach" / "Bruno").iterdir())) == 2


async def test_merge_suggestion_on_the_people_page(analysed_core: Core) -> None:
    core = analysed_core
    faces = {f: list(m.Face.select().join(m.Photo).where(m.Photo.path == f)) for f in _files_of("person01")}
    single = [int(v[0].id) for v in faces.values() if len(v) == 1]
    confirm.confirm(core, single[:3], "Anna")
    confirm.confirm(core, single[3:], "Annie")
    anna, annie = (m.Person.get(m.Person.name == n) for n in ("Anna", "Annie"))
    key = f"{anna.id}-{annie.id}" if anna.face_count >= annie.face_count else f"{annie.id}-{anna.id}"
    async with simulated_ui(core) as user:
        await user.open("/people")
        await user.should_see("Maybe the same person?", retries=30)
        await user.should_see(marker=f"merge-suggestion-{key}")
        user.find(marker=f"different-{key}").click()
        await user.should_see("are different people", retries=30)
        assert m.DistinctPeople.select().count() == 1
        await user.should_not_see("Maybe the same person?", retries=20)
        m.DistinctPeople.delete().execute()
        await user.open("/people")
        await user.should_see(marker=f"merge-pair-{key}", retries=30)
        user.find(marker=f"merge-pair-{key}").click()
        await user.should_see("Merged", retries=30)
        assert m.Person.select().count() == 1
        assert m.Person.get().face_count == len(single)
