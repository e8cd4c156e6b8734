"""The face counts the pages read (store/tally.py, kept by database triggers) stay equal to a
full count after every kind of change, and the pages built on them show what a full count says.

Runs on SQLite and, with `--db=postgres`, on PostgreSQL (whose triggers append per statement)."""

from __future__ import annotations

from typing import Any

import peewee as pw

from tagmyphotos.review import auto, confirm, people
from tagmyphotos.review.queries import FaceFilter, find_faces, header_counts
from tagmyphotos.review.suggested import suggestion_counts
from tagmyphotos.stages.steps.purge import purge_missing
from tagmyphotos.store import models as m
from tagmyphotos.store import tally
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
    check_counts()


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
