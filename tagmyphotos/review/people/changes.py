"""Changes to people: create, rename, merge, hide, delete; keeps face counts and covers right.

Why every function here takes the Core and runs ONE transaction: a person's confirmed faces,
face_count, cover face, aliases and the undo entry must change together or not at all (two
browser tabs, the API and a worker may act at the same time). Suggestions are derived data:
they are refreshed after the commit (suggest.refresh_affected), never inside it.
Invariant kept by this module and faces_review: face.person is set iff face.state is confirmed.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import peewee as pw

from tagmyphotos.errors import Conflict
from tagmyphotos.review.people.names import clean_name, find_person, get_person
from tagmyphotos.review.people.views import person_view
from tagmyphotos.review.undo import Journal
from tagmyphotos.store import models as m
from tagmyphotos.store.db import chunked, serialized
from tagmyphotos.store.views import PersonView, ReviewResult, objs
from tagmyphotos.suggest.refresh import refresh_affected

if TYPE_CHECKING:
    from tagmyphotos.core import Core


# --- counts and covers -----------------------------------------------------------------------
def recount(person_ids: Iterable[int | None]) -> None:
    """Set face_count and a valid cover face (kept if still confirmed, else the best face).

    A few grouped queries for any number of people (a bulk accept touches thousands).
    """
    ids = sorted({int(p) for p in person_ids if p is not None})
    for part in chunked(ids):
        people = {int(p.id): p for p in m.Person.select().where(m.Person.id.in_(part))}
        confirmed = (m.Face.state == m.FaceState.CONFIRMED) & m.Face.person.in_(list(people))
        counts = dict(
            m.rows(m.Face.select(m.Face.person, pw.fn.COUNT(m.Face.id)).where(confirmed).group_by(m.Face.person))
        )
        covers = [p.cover_face_id for p in people.values() if p.cover_face_id]
        valid = set(m.rows(m.Face.select(m.Face.id, m.Face.person).where(confirmed & m.Face.id.in_(covers))))
        for pid, person in people.items():
            count = int(counts.get(pid, 0))
            cover = person.cover_face_id
            if (cover, pid) not in valid:
                best = (
                    m.Face.select(m.Face.id)
                    .where((m.Face.person == pid) & (m.Face.state == m.FaceState.CONFIRMED))
                    .order_by(m.Face.quality.desc(), m.Face.det_score.desc(), m.Face.id)
                    .first()
                )
                cover = int(best.id) if best is not None else None
            if (count, cover) != (person.face_count, person.cover_face_id):
                m.Person.update(face_count=count, cover_face_id=cover).where(m.Person.id == pid).execute()


def set_cover(core: Core, person_id: int, face_id: int) -> PersonView:
    with serialized(core.db):
        person = get_person(person_id)
        face = m.Face.get_or_none((m.Face.id == face_id) & (m.Face.person == person.id))
        if face is None or face.state != m.FaceState.CONFIRMED:
            raise Conflict(f"face {face_id} is not a confirmed face of {person.name}")
        m.Person.update(cover_face_id=face_id).where(m.Person.id == person_id).execute()
    return person_view(get_person(person_id))


# --- changes ---------------------------------------------------------------------------------
def create_person(core: Core, name: str) -> PersonView:
    with serialized(core.db):
        cleaned = clean_name(name)
        existing = find_person(cleaned)
        if existing is not None and existing.name.casefold() == cleaned.casefold():
            raise Conflict(f"{existing.name!r} already exists")
        person = m.Person.create(name=cleaned)
        journal = Journal("create", f"created {cleaned}")
        journal.people_created.append(int(person.id))
        journal.save()
    return person_view(person)


def rename_person(core: Core, person_id: int, new_name: str) -> PersonView:
    """Rename; the old name is kept as an alias (imports and searches still find it)."""
    with serialized(core.db):
        person = get_person(person_id)
        cleaned = clean_name(new_name)
        if cleaned == person.name:
            return person_view(person)
        for other in m.Person.select().where(m.Person.id != person.id):
            if other.name.casefold() == cleaned.casefold():
                raise Conflict(f"{other.name!r} is another person; merge them instead")
        journal = Journal("rename", f"renamed {person.name} to {cleaned}")
        journal.touch_person(person)
        mine = {a.name: a for a in m.PersonAlias.select().where(m.PersonAlias.person == person.id)}
        if cleaned in mine:
            mine[cleaned].delete_instance()
            journal.aliases_removed.append((person.id, cleaned))
        if person.name not in mine:
            m.PersonAlias.create(person=person.id, name=person.name)
            journal.aliases_added.append((person.id, person.name))
        m.Person.update(name=cleaned).where(m.Person.id == person.id).execute()
        journal.save()
    return person_view(get_person(person_id))


def set_hidden(core: Core, person_id: int, hidden: bool) -> PersonView:
    """Hidden people keep their faces and names in files but get no new suggestions."""
    with serialized(core.db):
        person = get_person(person_id)
        if bool(person.hidden) == hidden:
            return person_view(person)
        journal = Journal("hide" if hidden else "unhide", f"{'hid' if hidden else 'showed'} {person.name}")
        journal.touch_person(person)
        m.Person.update(hidden=hidden).where(m.Person.id == person.id).execute()
        journal.save()
    refresh_after(core, _confirmed_ids([person_id]), [person_id])
    return person_view(get_person(person_id))


def set_ask_first(core: Core, person_id: int, ask: bool) -> PersonView:
    """ "Always ask me" (children, twins): the product never names this person by itself; their
    suggestions wait in Review whatever their level."""
    with serialized(core.db):
        person = get_person(person_id)
        m.Person.update(ask_first=ask).where(m.Person.id == person.id).execute()
    return person_view(get_person(person_id))


def merge_people(core: Core, source_ids: Iterable[int], target_id: int) -> ReviewResult:
    """Move every face of the sources to the target; their names become the target's aliases."""
    sources = sorted({int(s) for s in source_ids} - {int(target_id)})
    with serialized(core.db):
        target = get_person(target_id)
        people = [get_person(s) for s in sources]
        journal = Journal("merge", f"merged {', '.join(p.name for p in people)} into {target.name}")
        moved: list[int] = []
        known_aliases = {a.name for a in m.PersonAlias.select().where(m.PersonAlias.person == target.id)}
        for src in people:
            journal.delete_person_snapshot(src)
            confirmed = list(m.Face.select().where(m.Face.person == src.id))
            suggested = list(m.Face.select().where(m.Face.suggested_person == src.id))
            journal.touch(confirmed + suggested)
            m.Face.update(person=target.id, updated_at=m.utcnow()).where(m.Face.person == src.id).execute()
            m.Face.update(suggested_person=target.id).where(m.Face.suggested_person == src.id).execute()
            moved += [int(f.id) for f in confirmed]
            for rej in objs(m.FaceRejection.select().where(m.FaceRejection.person == src.id)):
                confirmed_target = m.Face.select().where((m.Face.id == rej.face_id) & (m.Face.person == target.id))
                known = m.FaceRejection.select().where(
                    (m.FaceRejection.face == rej.face_id) & (m.FaceRejection.person == target.id)
                )
                if not confirmed_target.exists() and not known.exists():
                    m.FaceRejection.create(face=rej.face_id, person=target.id)
                    journal.rejections_added.append((int(rej.face_id), int(target.id)))
            for name in [
                src.name,
                *(a.name for a in m.PersonAlias.select().where(m.PersonAlias.person == src.id)),
            ]:
                if name != target.name and name not in known_aliases:
                    m.PersonAlias.create(person=target.id, name=name)
                    journal.aliases_added.append((int(target.id), name))
                    known_aliases.add(name)
            _move_photo_names(int(src.id), int(target.id))
            m.Person.delete().where(m.Person.id == src.id).execute()
        for part in chunked(moved):  # rejections of the target by faces that are now its own
            query = m.FaceRejection.select(m.FaceRejection.face).where(
                (m.FaceRejection.person == target.id) & m.FaceRejection.face.in_(part)
            )
            gone = [int(f) for (f,) in m.rows(query)]
            journal.rejections_removed += [(f, int(target.id)) for f in gone]
            m.FaceRejection.delete().where(
                (m.FaceRejection.person == target.id) & m.FaceRejection.face.in_(gone)
            ).execute()
        recount([target.id])
        undo_id = journal.save()
        warnings = _same_photo_warnings(target)
    refreshed = refresh_after(core, moved, [target.id, *sources])
    return ReviewResult(
        "merge", moved, person=person_view(get_person(target_id)), undo_id=undo_id,
        refreshed=refreshed, warnings=warnings,
    )  # fmt: skip


def delete_person(core: Core, person_id: int) -> ReviewResult:
    """Delete a person; their confirmed faces go back to unknown (never silently lost)."""
    with serialized(core.db):
        person = get_person(person_id)
        journal = Journal("delete", f"deleted {person.name}")
        journal.delete_person_snapshot(person)
        confirmed = list(m.Face.select().where(m.Face.person == person.id))
        suggested = list(m.Face.select().where(m.Face.suggested_person == person.id))
        journal.touch(confirmed + suggested)
        ids = [int(f.id) for f in confirmed + suggested]
        for part in chunked(ids):
            m.Face.update(
                state=m.FaceState.UNKNOWN, person=None, suggested_person=None, confidence=None, band=None,
                explanation=None, cluster=None, updated_at=m.utcnow(),
            ).where(m.Face.id.in_(part)).execute()  # fmt: skip
        m.Person.delete().where(m.Person.id == person.id).execute()
        undo_id = journal.save()
    changed = [int(f.id) for f in confirmed]
    refreshed = refresh_after(core, ids, [person_id])
    return ReviewResult("delete", changed, undo_id=undo_id, refreshed=refreshed)


# --- helpers ---------------------------------------------------------------------------------
def _move_photo_names(source: int, target: int) -> None:
    """A merged person's photo-level names (stages.steps.embedded_names) become the target's; where the
    target is named in that photo already, its own row stays."""
    have = {int(p) for (p,) in m.rows(m.PhotoName.select(m.PhotoName.photo).where(m.PhotoName.person == target))}
    for row in m.rows_as_objects(m.PhotoName.select().where(m.PhotoName.person == source)):
        if int(row.photo_id) in have:
            m.PhotoName.delete().where(m.PhotoName.id == row.id).execute()
        else:
            m.PhotoName.update(person=target).where(m.PhotoName.id == row.id).execute()


def _confirmed_ids(person_ids: Iterable[int]) -> list[int]:
    query = m.Face.select(m.Face.id).where(m.Face.person.in_(list(person_ids)))
    return [int(i) for (i,) in m.rows(query)]


def _same_photo_warnings(person: m.Person) -> list[str]:
    rows = m.rows(
        m.Face.select(m.Face.photo, pw.fn.COUNT(m.Face.id))
        .where(m.Face.person == person.id)
        .group_by(m.Face.photo)
        .having(pw.fn.COUNT(m.Face.id) > 1)
    )
    photos = [int(photo) for photo, _ in rows]
    if not photos:
        return []
    return [f"{len(photos)} photos now have {person.name} more than once (photo ids {photos[:20]}): review them"]


def refresh_after(core: Core, face_ids: Iterable[int], person_ids: Iterable[int | None] = ()) -> int:
    """Recompute suggestions that a review change can affect (after its commit); how many were looked at."""
    return refresh_affected(core, face_ids, [p for p in person_ids if p is not None]).considered
