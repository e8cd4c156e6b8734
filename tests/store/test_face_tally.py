"""The face counts the pages read (store/tally.py, kept by database triggers) stay equal to a
full count after every kind of change, and the pages built on them show what a full count says.

Runs on SQLite and, with `--db=postgres`, on PostgreSQL (whose triggers append per statement)."""

from __future__ import annotations

import threading
from typing import Any

import peewee as pw

from tagmyphotos.library.scan import REFERENCE_KIND
from tagmyphotos.review import auto, confirm, people
from tagmyphotos.review.photos import PhotoFilter, find_photos
from tagmyphotos.review.queries import FaceFilter, find_faces, header_counts
from tagmyphotos.review.suggested import suggestion_counts
from tagmyphotos.stages.steps.purge import purge_missing
from tagmyphotos.store import models as m
from tagmyphotos.store import photo_tally, tally
from tagmyphotos.suggest import refresh as suggest
from tests.support.review import Synthetic, add_face, add_photo, check_counts, person, single


def full_count(where: Any) -> int:
    return int(m.Face.select().where(where).count())


def check_pages() -> None:
    """The tally's users against the same figures counted over the face table."""
    assert tally.differences() == {}
    heads = header_counts()
    assert heads.suggested == full_count(m.Face.state == m.FaceState.SUGGESTED)
    assert heads.unknown == full_count(m.Face.state == m.FaceState.UNKNOWN)
    likely = pw.fn.SUM(pw.Case(None, [(m.Face.band == "likely", 1)], 0))
    grouped = m.rows(
        m.Face.select(m.Face.suggested_person, likely, pw.fn.COUNT(m.Face.id))
        .join(m.Person, on=m.Face.suggested_person == m.Person.id)
        .where((m.Face.state == m.FaceState.SUGGESTED) & ~m.Person.hidden)
        .group_by(m.Face.suggested_person)
    )
    expected = sorted(
        ((int(p), int(n), int(t) - int(n)) for p, n, t in grouped), key=lambda r: (-r[1], -(r[1] + r[2]), r[0])
    )
    assert [(c.person_id, c.likely, c.maybe) for c in suggestion_counts()] == expected
    for p in m.Person.select():
        view = people.person_view(p)
        suggested = (m.Face.state == m.FaceState.SUGGESTED) & (m.Face.suggested_person == p.id)
        assert view.likely == full_count(suggested & (m.Face.band == "likely"))
        assert view.maybe == full_count(suggested & (m.Face.band == "maybe"))
        assert find_faces(FaceFilter(person=p.id), limit=1).total == p.face_count
        assert find_faces(FaceFilter(suggested=p.id), limit=1).total == full_count(suggested)
    singles = (m.Face.state == m.FaceState.UNKNOWN) & m.Face.cluster.is_null()
    assert find_faces(FaceFilter(state=m.FaceState.UNKNOWN, clustered=False), limit=1).total == full_count(singles)
    assert people.ignored_count() == full_count(m.Face.state == m.FaceState.IGNORED)
    check_photos()
    check_counts()


def check_photos() -> None:
    """Every photo's unnamed-face counter, and the Photos page's kept total, against full counts."""
    assert photo_tally.counter_differences() == []
    true = photo_tally.true_unnamed_photos(REFERENCE_KIND)
    assert photo_tally.unnamed_photos(REFERENCE_KIND) == true
    for order in ("-date", "path"):
        page = find_photos(PhotoFilter(has_unnamed_faces=True, order=order), 0, 2)
        assert page.total == true
    counted = find_photos(PhotoFilter(has_unnamed_faces=True, text="/"), 0, 2)  # counted, not kept
    assert counted.total == true


def test_counts_stay_true_through_every_kind_of_change(core) -> None:
    syn = Synthetic()
    faces = {who: [single(syn.face(who)) for _ in range(6)] for who in ("Ann", "Bo", "Cy")}
    check_pages()
    for who, mine in faces.items():  # confirm (creates the people)
        confirm.confirm(core, [f.id for f in mine[:3]], who)
    suggest.refresh_suggestions(core)  # the rest become suggestions
    assert full_count(m.Face.state == m.FaceState.SUGGESTED) > 0
    check_pages()
    confirm.reject(core, [faces["Ann"][3].id])
    confirm.ignore(core, [faces["Bo"][3].id])
    m.Face.update(cluster=5).where(m.Face.id.in_([faces["Ann"][3].id, faces["Cy"][5].id])).execute()
    check_pages()
    confirm.undo_last(core)  # the ignore
    check_pages()
    confirm.accept_likely(core)
    check_pages()
    people.rename_person(core, person("Ann").id, "Anna")
    people.set_hidden(core, person("Bo").id, True)
    check_pages()
    people.set_hidden(core, person("Bo").id, False)
    people.merge_people(core, [person("Cy").id], person("Anna").id)
    check_pages()
    confirm.undo_last(core)  # the merge
    check_pages()
    people.delete_person(core, person("Cy").id)
    check_pages()
    confirm.undo_last(core)  # the delete
    check_pages()


def test_counts_stay_true_through_auto_naming_purge_and_cascades(core) -> None:
    syn = Synthetic()
    confirm.confirm(core, [single(syn.face("Dee")).id for _ in range(4)], "Dee")
    probes = [single(syn.face("Dee")) for _ in range(3)]
    suggest.refresh_suggestions(core)
    m.Face.update(certainty="sure").where(m.Face.id.in_([f.id for f in probes])).execute()
    batch = auto.name_batch(core, [f.id for f in probes])
    assert batch is not None and batch.faces == len(probes)
    check_pages()
    auto.undo_batch(core, batch.id)
    check_pages()
    gone = add_photo()
    for k in range(3):
        add_face(gone, syn.face("Dee"), box=(400 * k, 0, 200, 200))
    m.Photo.update(state=m.PhotoState.MISSING).where(m.Photo.id == gone.id).execute()
    check_pages()
    report = purge_missing(core, dry_run=False)
    assert report.faces == 3
    check_pages()
    m.Photo.delete().where(m.Photo.id == probes[0].photo_id).execute()  # the face goes by cascade
    m.Person.delete().where(m.Person.id == person("Dee").id).execute()  # SET NULL on its faces
    m.Face.update(state=m.FaceState.UNKNOWN, person=None).where(m.Face.person.is_null()).execute()
    assert tally.differences() == {}
    check_photos()


def test_photos_with_unnamed_faces_stay_true(core) -> None:
    syn = Synthetic()
    first, second = add_photo(), add_photo()
    faces = [add_face(p, syn.face("Fay"), box=(300 * k, 0, 200, 200)) for p in (first, second) for k in range(2)]
    check_photos()
    assert photo_tally.unnamed_photos(REFERENCE_KIND) == 2
    confirm.confirm(core, [faces[0].id], "Fay")  # first keeps one unnamed face
    confirm.ignore(core, [faces[1].id])  # and now has none
    check_photos()
    assert photo_tally.unnamed_photos(REFERENCE_KIND) == 1
    confirm.undo_last(core)
    check_photos()
    m.Face.update(photo=first.id).where(m.Face.id == faces[2].id).execute()  # a face moves photo
    m.Photo.update(kind=REFERENCE_KIND).where(m.Photo.id == second.id).execute()
    check_photos()
    m.Photo.update(kind="image").where(m.Photo.id == second.id).execute()
    second.path = "synthetic/renamed.jpg"
    second.save()  # a photo saved whole leaves the counter to the triggers
    check_photos()
    m.Face.update(state=m.FaceState.IGNORED).execute()  # one statement, many photos
    check_photos()
    assert photo_tally.unnamed_photos(REFERENCE_KIND) == 0
    m.Face.update(state=m.FaceState.SUGGESTED).execute()
    check_photos()
    m.Photo.delete().where(m.Photo.id == first.id).execute()  # its faces go by cascade
    m.Face.delete().where(m.Face.id == faces[3].id).execute()
    check_photos()
    assert photo_tally.unnamed_photos(REFERENCE_KIND) == 0


def test_photo_tally_install_is_safe_to_rerun(core) -> None:
    syn = Synthetic()
    for _ in range(3):
        single(syn.face("Gus"))
    before = photo_tally.unnamed_photos(REFERENCE_KIND)
    photo_tally.install(m.database.obj)
    photo_tally.install(m.database.obj)
    assert photo_tally.unnamed_photos(REFERENCE_KIND) == before == 3
    if isinstance(m.database.obj, pw.PostgresqlDatabase):
        photo_tally.compact()
    check_photos()


def test_rebuild_and_compact_keep_the_counts(core) -> None:
    syn = Synthetic()
    for _ in range(5):
        single(syn.face("Eve"))
    for n in range(40):  # many small statements: on PostgreSQL, many appended rows
        m.Face.update(cluster=n % 3 or None).where(m.Face.id == m.Face.select(pw.fn.MIN(m.Face.id))).execute()
    before = tally.counts()
    assert before == tally.true_counts()
    if isinstance(m.database.obj, pw.PostgresqlDatabase):
        tally.compact()
    tally.rebuild()
    assert tally.counts() == before and tally.differences() == {}


def test_two_writers_naming_the_last_unnamed_faces_of_one_photo_side_by_side(core) -> None:
    """Each writer sees the other's face still unnamed in its own snapshot; the counter is an
    in-place update of the photo row, so the second waits for the first and adds to its result:
    the photo leaves the total exactly once (PostgreSQL, READ COMMITTED; SQLite: one writer)."""
    syn = Synthetic()
    photo = add_photo()
    a, b = (add_face(photo, syn.face("Hal"), box=(300 * k, 0, 200, 200)) for k in range(2))
    assert photo_tally.unnamed_photos(REFERENCE_KIND) == 1
    done = threading.Event()

    def other_writer() -> None:
        with m.database.atomic():
            m.Face.update(state=m.FaceState.IGNORED).where(m.Face.id == b.id).execute()
        m.database.close()
        done.set()

    with m.database.atomic():
        m.Face.update(state=m.FaceState.IGNORED).where(m.Face.id == a.id).execute()
        second = threading.Thread(target=other_writer)
        second.start()
        assert not done.wait(0.5)  # it waits for this transaction (the photo row's lock)
    second.join(30)
    assert done.is_set()
    assert photo_tally.unnamed_photos(REFERENCE_KIND) == 0
    check_photos()
