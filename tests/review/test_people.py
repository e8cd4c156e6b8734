"""People: rename keeps aliases, merge moves every face once, delete loses no face, hide, counts."""

from __future__ import annotations

import pytest

from tagmyphotos.review import confirm, people
from tagmyphotos.store import models as m
from tagmyphotos.suggest import refresh as suggest
from tests.support.review import Synthetic, add_face, add_photo, check_counts, person, reload, single


def _confirmed(core, syn: Synthetic, name: str, n: int, quality: float = 0.5) -> list:
    faces = [single(syn.face(name), quality=quality + i / 100) for i in range(n)]
    confirm.confirm(core, [f.id for f in faces], name)
    return [reload(f) for f in faces]


def test_create_find_and_clean_names(core) -> None:
    view = people.create_person(core, "  Anna   Maria ")
    assert view.name == "Anna Maria" and view.face_count == 0
    assert people.find_person("anna maria").id == view.id  # case-insensitive
    with pytest.raises(people.Conflict):
        people.create_person(core, "ANNA MARIA")
    with pytest.raises(people.PeopleError):
        people.create_person(core, "   ")
    with pytest.raises(people.PeopleError):
        people.create_person(core, "bad\x00name")
    with pytest.raises(people.PeopleError):
        people.create_person(core, "x" * 500)


def test_rename_keeps_old_name_as_alias_and_undo(core) -> None:
    syn = Synthetic()
    faces = _confirmed(core, syn, "Bob", 3)
    bob = person("Bob")
    view = people.rename_person(core, bob.id, "Robert")
    assert view.name == "Robert" and view.aliases == ["Bob"] and view.face_count == 3
    assert people.find_person("Bob").id == bob.id  # imports and searches still find him
    assert all(reload(f).person_id == bob.id for f in faces)
    # renaming back to an own alias drops that alias instead of keeping both
    view = people.rename_person(core, bob.id, "Bob")
    assert view.name == "Bob" and view.aliases == ["Robert"]
    people.create_person(core, "Carl")
    with pytest.raises(people.Conflict):
        people.rename_person(core, bob.id, "carl")
    confirm.undo_last(core)  # undoes "create Carl"
    confirm.undo_last(core)  # undoes the rename back to Bob
    assert people.find_person("Carl") is None
    assert person("Robert").id == bob.id
    assert people.person_view(person("Robert")).aliases == ["Bob"]
    check_counts()


def test_merge_moves_every_face_once_keeps_aliases_and_rejections(core) -> None:
    syn = Synthetic()
    anna = _confirmed(core, syn, "Anna", 3)
    annie = _confirmed(core, syn, "Annie", 2, quality=0.9)
    people.rename_person(core, person("Annie").id, "Anne")  # Anne has alias Annie
    stranger = single(syn.face("Zed"))
    confirm.reject(core, [stranger.id], "Anne")
    total_faces = m.Face.select().count()
    target = person("Anna")
    cover = target.cover_face_id
    result = people.merge_people(core, [person("Anne").id], target.id)

    assert sorted(result.changed) == sorted(f.id for f in annie)
    assert m.Face.select().count() == total_faces  # nothing duplicated, nothing lost
    assert m.Person.select().count() == 1
    view = people.person_view(person("Anna"))
    assert view.face_count == 5
    assert view.cover_face_id == cover  # a valid cover stays (the user may have picked it)
    assert sorted(view.aliases) == ["Anne", "Annie"]
    assert people.find_person("Annie").id == target.id
    assert {f.id for f in anna + annie} == {f.id for f in m.Face.select().where(m.Face.person == target.id)}
    # "not Anne" becomes "not Anna"
    assert (
        m.FaceRejection.select()
        .where((m.FaceRejection.face == stranger.id) & (m.FaceRejection.person == target.id))
        .exists()
    )
    check_counts()

    confirm.undo_last(core)
    anne = person("Anne")
    assert anne.face_count == 2 and people.person_view(anne).aliases == ["Annie"]
    assert {f.id for f in m.Face.select().where(m.Face.person == anne.id)} == {f.id for f in annie}
    assert people.person_view(person("Anna")).aliases == []
    assert m.FaceRejection.select().where(m.FaceRejection.face == stranger.id).get().person_id == anne.id
    check_counts()


def test_merge_reports_photos_with_the_person_twice(core) -> None:
    syn = Synthetic()
    photo = add_photo()
    a = add_face(photo, syn.face("A"), box=(0, 0, 200, 200))
    b = add_face(photo, syn.face("B"), box=(500, 0, 200, 200))
    confirm.confirm(core, [a.id], "A")
    confirm.confirm(core, [b.id], "B")
    result = people.merge_people(core, [person("B").id], person("A").id)
    assert result.warnings and "more than once" in result.warnings[0]
    assert person("A").face_count == 2


def test_delete_sends_faces_back_to_unknown_and_undo(core) -> None:
    syn = Synthetic()
    faces = _confirmed(core, syn, "Dora", 3)
    other = single(syn.face("Dora"))
    suggest.refresh_suggestions(core)  # as after an analysis: a suggestion for Dora
    confirm.reject(core, [single(syn.face("Eve")).id], "Dora")
    assert reload(other).suggested_person_id == person("Dora").id
    dora_id = person("Dora").id
    result = people.delete_person(core, dora_id)
    assert sorted(result.changed) == sorted(f.id for f in faces)
    for f in [*faces, other]:
        row = reload(f)  # never lost: still there, unknown, no dangling suggestion
        assert row.state == m.FaceState.UNKNOWN and row.person_id is None and row.suggested_person_id is None
    assert not m.FaceRejection.select().exists()

    confirm.undo_last(core)
    dora = person("Dora")
    assert dora.id == dora_id and dora.face_count == 3
    assert all(reload(f).state == m.FaceState.CONFIRMED for f in faces)
    assert m.FaceRejection.select().where(m.FaceRejection.person == dora_id).count() == 1
    assert reload(other).suggested_person_id == dora_id  # suggestions refreshed after the undo
    check_counts()


def test_hidden_person_gets_no_suggestions(core) -> None:
    syn = Synthetic()
    _confirmed(core, syn, "Hal", 3)
    probe = single(syn.face("Hal"))
    suggest.refresh_suggestions(core)
    hal = person("Hal")
    assert reload(probe).suggested_person_id == hal.id
    people.set_hidden(core, hal.id, True)
    row = reload(probe)
    assert row.state == m.FaceState.UNKNOWN and row.suggested_person_id is None
    assert [p.name for p in people.list_people(include_hidden=False)] == []
    people.set_hidden(core, hal.id, False)
    assert reload(probe).suggested_person_id == hal.id


def test_list_counts_cover_and_search(core) -> None:
    syn = Synthetic()
    ivy = _confirmed(core, syn, "Ivy", 3)
    single(syn.face("Ivy"))
    suggest.refresh_suggestions(core)  # a likely suggestion
    _confirmed(core, syn, "Jon", 1)
    views = {v.name: v for v in people.list_people()}
    assert views["Ivy"].face_count == 3 and views["Ivy"].likely == 1
    best = max(ivy, key=lambda f: f.quality)
    assert views["Ivy"].cover_face_id == best.id and views["Ivy"].cover_thumb == best.thumb
    # the cover moves when its face stops being Ivy's
    confirm.unassign(core, [best.id])
    ivy_row = person("Ivy")
    assert ivy_row.face_count == 2 and ivy_row.cover_face_id != best.id
    people.set_cover(core, ivy_row.id, ivy[0].id)
    assert person("Ivy").cover_face_id == ivy[0].id
    with pytest.raises(people.PeopleError):
        people.set_cover(core, ivy_row.id, best.id)  # not hers any more
    people.rename_person(core, person("Jon").id, "Jonathan")
    assert [v.name for v in people.list_people(search="jon")] == ["Jonathan"]
    assert [v.name for v in people.list_people(search="JON ")] == []
    assert views["Ivy"].to_dict()["aliases"] == []
    check_counts()


def test_concurrent_review_actions_keep_counts_right(core) -> None:
    """Review actions from many threads at once (browser tabs, API calls), each on its own
    connection: no deadlock, no error, counts right (on PostgreSQL too, --db=postgres)."""
    import threading

    syn = Synthetic()
    people.create_person(core, "Ada")
    faces = [single(syn.face("Ada")) for _ in range(24)]
    start = threading.Barrier(8)
    errors: list[BaseException] = []

    def work(k: int) -> None:
        try:
            start.wait(30)
            for f in faces[k::8]:
                confirm.confirm(core, [f.id], "Ada")
            confirm.unassign(core, [faces[k].id])
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)
        finally:
            m.database.close()  # this thread's connection

    threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    assert person("Ada").face_count == 24 - 8
    check_counts()


def test_a_close_new_name_finds_the_existing_person(core) -> None:
    people.create_person(core, "Scarlett Johansson")
    people.create_person(core, "Katherine")
    people.create_person(core, "Anna")
    close = lambda name: [p.name for p in people.similar_people(name)]  # noqa: E731
    assert close("Scarlett") == ["Scarlett Johansson"]  # the first word of an existing name
    assert close("catherine") == ["Katherine"]  # one letter apart, any case
    assert close("Anne") == []  # a different person with a similar name
    assert close("anna") == []  # that IS Anna: no question to ask
    assert close("  ") == []
    assert people.name_similarity("Jon", "John") >= 0.85 > people.name_similarity("Marie Curie", "Pierre Curie")
    assert [p.name for p in people.list_people()] == ["Anna", "Katherine", "Scarlett Johansson"]
    people.create_person(core, "bob")
    assert [p.name for p in people.list_people()][:2] == ["Anna", "bob"]  # case does not sort


def test_undo_offers_only_what_touched_the_person_or_photo_shown(core) -> None:
    from tagmyphotos.review.undo import UndoScope

    syn = Synthetic()
    ann = _confirmed(core, syn, "Ann", 2)
    bob = _confirmed(core, syn, "Bob", 1)
    ann_id, bob_id = person("Ann").id, person("Bob").id
    people.set_hidden(core, ann_id, True)  # the newest action: about Ann only
    assert confirm.last_undo().label == "hid Ann"
    on_bob = confirm.last_undo(UndoScope(person_id=bob_id))
    assert on_bob is not None and "Bob" in on_bob.label  # naming Bob, not hiding Ann
    on_photo = confirm.last_undo(UndoScope(photo_id=bob[0].photo_id))
    assert on_photo is not None and on_photo.id == on_bob.id
    confirm.undo_last(core, UndoScope(person_id=bob_id))
    assert reload(bob[0]).person_id is None  # Bob's naming undone
    assert person("Ann").hidden and all(reload(f).person_id == ann_id for f in ann)  # Ann's untouched
    assert confirm.last_undo(UndoScope(person_id=bob_id)) is None
