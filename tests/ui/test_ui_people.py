"""People and person pages: merge several, rename, delete after confirming, remove a wrong face."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from nicegui import ui
from nicegui.testing import User

from tagmyphotos.core import Core
from tagmyphotos.store import models as m
from tests.support.ui_harness import simulated_ui, teach

pytestmark = pytest.mark.asyncio


@pytest_asyncio.fixture
async def taught(analysed_core: Core) -> AsyncIterator[tuple[User, Core, dict[str, list[int]]]]:
    names = teach(analysed_core, people=3, per_person=2)
    async with simulated_ui(analysed_core) as user:
        yield user, analysed_core, names


def person(name: str) -> m.Person:
    return m.Person.get(m.Person.name == name)


async def test_no_people_yet_points_to_unknown_faces(core: Core) -> None:
    async with simulated_ui(core) as user:
        await user.open("/people")
        await user.should_see("No people yet")


async def test_merge_two_people_keeps_every_face_and_the_old_name(taught) -> None:
    user, core, names = taught
    a, b = sorted(names)[:2]
    faces = set(names[a]) | set(names[b])
    await user.open("/people")
    await user.should_see(marker=f"person-{person(b).id}", retries=20)
    for name in (a, b):
        with user.scope(marker=f"person-{person(name).id}"):
            user.find(ui.checkbox).click()
    user.find(marker="merge").click()
    await user.should_see(marker="merge-target")
    user.find(marker="merge-target").elements.pop().set_value(person(a).id)
    user.find(marker="merge-go").click()
    await user.should_see("Merged", retries=30)
    target = person(a)
    assert not m.Person.select().where(m.Person.name == b).exists()
    assert {f.id for f in m.Face.select().where(m.Face.person == target.id)} >= faces
    assert target.face_count >= len(faces)
    assert b in [alias.name for alias in target.aliases]


async def test_rename_then_delete_after_confirming(taught) -> None:
    user, core, names = taught
    name = sorted(names)[0]
    pid = person(name).id
    await user.open(f"/people/{pid}")
    await user.should_see(marker="person-name")
    user.find(marker="rename").clear().type("Aunt Mary")
    user.find("Rename").click()
    await user.should_see("Renamed to Aunt Mary", retries=30)
    assert m.Person.get_by_id(pid).name == "Aunt Mary"
    user.find(marker="delete").click()
    await user.should_see(marker="confirm-cancel")
    user.find(marker="confirm-cancel").click()
    await user.should_not_see("Delete Aunt Mary?", retries=20)
    assert m.Person.get_or_none(m.Person.id == pid) is not None  # cancelled: nothing happened
    user.find(marker="delete").click()
    await user.should_see(marker="confirm-ok")
    user.find(marker="confirm-ok").click()
    await user.should_see("Deleted Aunt Mary", retries=30)
    assert m.Person.get_or_none(m.Person.id == pid) is None
    assert {m.Face.get_by_id(f).state for f in names[name]} == {m.FaceState.UNKNOWN}


async def test_remove_a_wrong_face_from_a_person(taught) -> None:
    user, core, names = taught
    name = sorted(names)[0]
    pid = person(name).id
    wrong = names[name][0]
    await user.open(f"/people/{pid}")
    await user.should_see("Click faces to select them", retries=20)
    user.find(marker=f"face-{wrong}").click()
    await user.should_see("1 selected")
    user.find(marker="remove").click()
    await user.should_see("Removed", retries=30)
    face = m.Face.get_by_id(wrong)
    assert face.person_id is None and face.state == m.FaceState.UNKNOWN
    assert m.FaceRejection.select().where((m.FaceRejection.face == wrong) & (m.FaceRejection.person == pid)).exists()


async def test_use_a_face_as_the_cover(taught) -> None:
    user, core, names = taught
    name = sorted(names)[0]
    pid = person(name).id
    first, second = names[name][:2]
    cover = person(name).cover_face_id
    chosen = second if cover == first else first
    await user.open(f"/people/{pid}")
    await user.should_see("Click faces to select them", retries=20)
    user.find("Use as cover").click()
    await user.should_see("Select faces first")  # nothing selected: nothing changes
    user.find(marker=f"face-{first}").click()
    user.find(marker=f"face-{second}").click()
    await user.should_see("2 selected")
    user.find("Use as cover").click()
    await user.should_see("Select exactly one face for the cover")
    assert person(name).cover_face_id == cover
    other = second if chosen == first else first
    user.find(marker=f"face-{other}").click()  # deselect it: only the chosen one stays
    await user.should_see("1 selected")
    user.find("Use as cover").click()
    await user.should_see("Cover set", retries=30)
    assert person(name).cover_face_id == chosen
