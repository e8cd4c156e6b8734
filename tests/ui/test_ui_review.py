"""The review page on a really analysed library: accept and reject by group, face and key."""

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


def suggested(person: str) -> list[m.Face]:
    return list(
        m.Face.select()
        .join(m.Person, on=m.Face.suggested_person == m.Person.id)
        .where((m.Person.name == person) & (m.Face.state == m.FaceState.SUGGESTED))
    )


async def test_empty_review_says_what_to_do(core: Core) -> None:
    async with simulated_ui(core) as user:
        await user.open("/")
        await user.should_see("Nothing to review")
        await user.should_see("Name unknown faces")


async def test_accept_group_confirms_the_selected_likely_faces(taught) -> None:
    user, core, names = taught
    name = next(n for n in names if any(f.band == "likely" for f in suggested(n)))
    person = m.Person.get(m.Person.name == name)
    likely = {f.id for f in suggested(name) if f.band == "likely"}
    await user.open("/")
    await user.should_see(marker=f"group-{person.id}")
    user.find(marker=f"accept-{person.id}").click()
    await user.should_see(f"Accepted as {name}", retries=30)
    for face_id in likely:
        face = m.Face.get_by_id(face_id)
        assert (face.state, face.person_id) == (m.FaceState.CONFIRMED, person.id)
    assert m.Person.get_by_id(person.id).face_count == len(names[name]) + len(likely)


async def test_reject_group_never_suggests_that_person_again(taught) -> None:
    user, core, names = taught
    name = next(n for n in names if suggested(n))
    person = m.Person.get(m.Person.name == name)
    await user.open("/")
    await user.should_see(marker=f"group-{person.id}")
    shown = {f.id for f in suggested(name)}
    with user.scope(marker=f"group-{person.id}"):
        user.find("All").click()
        user.find(marker=f"reject-{person.id}").click()
    await user.should_see(f"Rejected for {name}", retries=30)
    rejected = {r.face_id for r in m.FaceRejection.select().where(m.FaceRejection.person == person.id)}
    assert rejected == shown
    assert not (rejected & {f.id for f in suggested(name)})  # the matcher respects the rejections


async def test_keyboard_accepts_the_face_under_the_cursor_and_undo_restores_it(taught) -> None:
    user, core, names = taught
    await user.open("/")
    await user.should_see("Not person", retries=20)  # the groups are rendered
    keyboard = user.find(ui.keyboard)
    before = m.Face.select().where(m.Face.state == m.FaceState.CONFIRMED).count()

    def press(key: str, code: str) -> None:
        keyboard.trigger(
            "key",
            {
                "action": "keydown",
                "repeat": False,
                "altKey": False,
                "ctrlKey": False,
                "metaKey": False,
                "shiftKey": False,
                "key": key,
                "code": code,
                "location": 0,
            },
        )

    press("ArrowRight", "ArrowRight")
    press("a", "KeyA")
    await user.should_see("Accepted as", retries=30)
    assert m.Face.select().where(m.Face.state == m.FaceState.CONFIRMED).count() == before + 1
    press("u", "KeyU")
    await user.should_see("Undone", retries=30)
    assert m.Face.select().where(m.Face.state == m.FaceState.CONFIRMED).count() == before


async def test_name_a_cluster_in_one_action(analysed_core: Core) -> None:
    from tagmyphotos.suggest.clusters import list_clusters, refresh_clusters

    refresh_clusters(analysed_core, full=True)
    cluster = list_clusters(limit=1, sample=100)[0]
    assert cluster.size >= 2
    async with simulated_ui(analysed_core) as user:
        await user.open("/unknown")
        await user.should_see(marker=f"cluster-{cluster.id}")
        user.find(marker=f"name-{cluster.id}").type("Grandma")
        user.find(marker=f"name-{cluster.id}-go").click()
        await user.should_see("Named Grandma", retries=30)
    person = m.Person.get(m.Person.name == "Grandma")
    confirmed = {f.id for f in m.Face.select().where(m.Face.person == person.id)}
    assert confirmed and confirmed <= {f.id for f in cluster.faces}
    assert person.face_count == len(confirmed)


async def test_ignore_a_cluster_of_strangers(analysed_core: Core) -> None:
    from tagmyphotos.suggest.clusters import list_clusters, refresh_clusters

    refresh_clusters(analysed_core, full=True)
    cluster = list_clusters(limit=1, sample=100)[0]
    async with simulated_ui(analysed_core) as user:
        await user.open("/unknown")
        await user.should_see(marker=f"cluster-{cluster.id}")
        user.find(marker=f"ignore-{cluster.id}").click()
        await user.should_see("Ignored", retries=30)
    states = {m.Face.get_by_id(f.id).state for f in cluster.faces}
    assert states == {m.FaceState.IGNORED}


async def test_results_of_a_background_job_are_offered_not_forced(taught, monkeypatch) -> None:
    import sys

    from tagmyphotos.review import confirm

    user, core, names = taught
    monkeypatch.setattr(sys.modules["ui.components.job_progress"], "CHECK_EVERY_S", 0.2)
    await user.open("/")
    await user.should_see("Not person", retries=20)
    await user.should_not_see(marker="refresh")
    unknown = m.Face.select().where(m.Face.state == m.FaceState.UNKNOWN).first()
    confirm.ignore(core, [unknown.id])  # as another tab or the API would
    await user.should_see(marker="refresh", retries=30)
    user.find(marker="refresh").click()
    await user.should_not_see(marker="refresh", retries=30)
