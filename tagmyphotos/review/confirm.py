"""Face state changes a user makes: confirm, reject, ignore, unassign, bulk accept, name a cluster.

Each call is ONE transaction that also writes its undo entry and recounts the people it
touched; suggestions that the change can affect are refreshed right after the commit, so the
next suggestion already knows the new answer. The writer needs no flag: it compares each
photo's confirmed names and boxes with Photo.written_signature.

One person appears at most once in a photo. An explicit confirm (or move) takes the name from
another face of the same photo (`displaced`, back to unknown); bulk actions skip such faces.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from tagmyphotos.errors import Conflict, NotFound
from tagmyphotos.faces.thumb import save_thumbnail
from tagmyphotos.review import undo
from tagmyphotos.review.people import find_person, get_person, person_view, recount, refresh_after, resolve_person
from tagmyphotos.review.undo import Journal
from tagmyphotos.states import MatchBand
from tagmyphotos.store import models as m
from tagmyphotos.store.db import chunked, serialized
from tagmyphotos.store.views import ReviewResult, Skipped, UndoView, iso, objs
from tagmyphotos.suggest.clusters import outlier_ids
from tagmyphotos.suggest.state import forget_vectors

if TYPE_CHECKING:
    from tagmyphotos.core import Core

_CLEAR_SUGGESTION: dict[str, Any] = {
    "suggested_person": None,
    "confidence": None,
    "band": None,
    "certainty": None,
    "explanation": None,
    "auto_batch": None,  # whatever a person does to a face, it is theirs from then on
}


def _faces(face_ids: Iterable[int]) -> list[m.Face]:
    """Rows in the caller's order; NotFound names the first missing id."""
    ids = list(dict.fromkeys(int(i) for i in face_ids))
    rows = {f.id: f for part in chunked(ids) for f in m.Face.select().where(m.Face.id.in_(part))}
    missing = [i for i in ids if i not in rows]
    if missing:
        raise NotFound(f"no face with id {missing[0]}")
    return [rows[i] for i in ids]


def _set(faces: Sequence[m.Face], **values: Any) -> None:
    values["updated_at"] = m.utcnow()
    for part in chunked(f.id for f in faces):
        m.Face.update(**values).where(m.Face.id.in_(part)).execute()


@dataclasses.dataclass(frozen=True)
class Confirmed:
    """What a confirmation did: faces now named, faces it left alone (and why), faces it displaced."""

    changed: list[int]
    skipped: list[Skipped]
    displaced: list[int]


def confirm_faces(
    journal: Journal, faces: Sequence[m.Face], person: m.Person, displace: bool, respect_rejections: bool
) -> Confirmed:
    """Confirm `faces` as `person` inside the caller's transaction (the building block of every naming action)."""
    return confirm_pairs(journal, [(f, person) for f in faces], displace, respect_rejections)


def confirm_pairs(
    journal: Journal, pairs: Sequence[tuple[m.Face, m.Person]], displace: bool, respect_rejections: bool
) -> Confirmed:
    """Confirm each face as its person, in a few statements however many people are involved.

    Within a photo a person is named once: the first face wins, later ones are skipped; a face
    already confirmed as that person in the photo is displaced (or the new one skipped).
    """
    rejected: set[tuple[int, int]] = set()
    for part in chunked(f.id for f, _ in pairs):
        query = m.FaceRejection.select(m.FaceRejection.face, m.FaceRejection.person)
        rejected.update((int(f), int(p)) for f, p in m.rows(query.where(m.FaceRejection.face.in_(part))))
    holders: dict[tuple[int, int], m.Face] = {}
    for part in chunked({f.photo_id for f, _ in pairs}):
        same = m.Face.select().where(m.Face.photo.in_(part) & (m.Face.state == m.FaceState.CONFIRMED))
        holders.update({(int(f.photo_id), int(f.person_id)): f for f in objs(same)})
    renamed = {int(f.id): int(p.id) for f, p in pairs}
    changed: list[tuple[m.Face, m.Person]] = []
    skipped: list[Skipped] = []
    displaced: list[m.Face] = []
    taken: set[tuple[int, int]] = set()
    for face, person in pairs:
        key = (int(face.photo_id), int(person.id))
        if face.person_id == person.id and face.state == m.FaceState.CONFIRMED:
            taken.add(key)
            continue
        if key in taken:
            skipped.append(Skipped(face.id, f"another face of this photo is being named {person.name}"))
            continue
        if respect_rejections and (face.id, person.id) in rejected:
            skipped.append(Skipped(face.id, f"rejected for {person.name} before"))
            continue
        holder = holders.get(key)
        if holder is not None and holder.id != face.id and renamed.get(holder.id, person.id) == person.id:
            if not displace:
                skipped.append(Skipped(face.id, f"this photo already has {person.name} (face {holder.id})"))
                continue
            displaced.append(holder)
        taken.add(key)
        changed.append((face, person))
    journal.touch([*(f for f, _ in changed), *displaced])
    _set(displaced, state=m.FaceState.UNKNOWN, person=None, **_CLEAR_SUGGESTION)
    _write_confirmed([(int(f.id), int(p.id)) for f, p in changed])
    gone = [(int(f.id), int(p.id)) for f, p in changed if (f.id, p.id) in rejected]
    for fid, pid in gone:  # an explicit confirmation overrides an old rejection
        m.FaceRejection.delete().where((m.FaceRejection.face == fid) & (m.FaceRejection.person == pid)).execute()
    journal.rejections_removed += gone
    recount({int(p.id) for _, p in changed} | {f.person_id for f, _ in changed} | {f.person_id for f in displaced})
    return Confirmed([int(f.id) for f, _ in changed], skipped, [int(f.id) for f in displaced])


def _write_confirmed(rows: list[tuple[int, int]]) -> None:
    """(face, person) pairs become confirmed in one prepared statement (bulk accepts)."""
    if not rows:
        return
    db, now = m.database.obj, m.utcnow()
    q, c = db.param, m.Face
    sets = ", ".join(
        f'"{col}" = NULL'
        for col in (c.cluster.column_name, c.suggested_person.column_name, "confidence", "band", "certainty",
                    "explanation", "auto_batch")
    )
    sql = (
        f'UPDATE "{c._meta.table_name}" SET "state" = {q}, "{c.person.column_name}" = {q}, {sets}, '
        f'"updated_at" = {q} WHERE "id" = {q}'
    )
    db.cursor().executemany(sql, [(m.FaceState.CONFIRMED, pid, now, fid) for fid, pid in rows])


def _faces_n(n: int) -> str:
    """'1 face', '3 faces': undo labels are read by the user."""
    return f"{n} face" + ("s" if n != 1 else "")


def confirm(core: Core, face_ids: Iterable[int], who: int | str, *, action: str = "confirm") -> ReviewResult:
    """Assign faces to a person (an id, or a name: found by name/alias, created when new)."""
    with serialized(core.db):
        faces = _faces(face_ids)
        journal = Journal(action)
        person, created = resolve_person(who, journal)
        done = confirm_faces(journal, faces, person, displace=True, respect_rejections=False)
        changed, skipped, displaced = done.changed, done.skipped, done.displaced
        verb = "moved" if action == "move" else "named"
        journal.label = f"{verb} {_faces_n(len(changed))} {person.name}"
        undo_id = journal.save()
    refreshed = refresh_after(core, [*changed, *displaced])
    return ReviewResult(
        action, changed, skipped, displaced, person_view(get_person(person.id)), created, undo_id, refreshed
    )


def confirm_groups(
    core: Core, groups: dict[str, list[int]], *, action: str = "confirm-groups"
) -> tuple[ReviewResult, list[str]]:
    """Confirm faces for several people (by name, created when new) in ONE transaction.

    Returns the result and the names of the people created (teach uses this).
    """
    with serialized(core.db):
        journal = Journal(action)
        changed: list[int] = []
        skipped: list[Skipped] = []
        displaced: list[int] = []
        created: list[str] = []
        for name, face_ids in groups.items():
            faces = _faces(face_ids)
            person, new = resolve_person(name, journal)
            done = confirm_faces(journal, faces, person, displace=True, respect_rejections=False)
            c, s, d = done.changed, done.skipped, done.displaced
            changed, skipped, displaced = changed + c, skipped + s, displaced + d
            created += [person.name] if new else []
        journal.label = f"named {_faces_n(len(changed))} of {len(groups)} {'person' if len(groups) == 1 else 'people'}"
        undo_id = journal.save()
    refreshed = refresh_after(core, [*changed, *displaced])
    return ReviewResult(action, changed, skipped, displaced, None, bool(created), undo_id, refreshed), created


def move_faces(core: Core, face_ids: Iterable[int], to: int | str) -> ReviewResult:
    """Confirmed faces of one person belong to another (the same as confirming them as `to`)."""
    return confirm(core, face_ids, to, action="move")


def reject(core: Core, face_ids: Iterable[int], who: int | str | None = None) -> ReviewResult:
    """Not this person, ever: remembered per face; without `who`, the face's current person."""
    with serialized(core.db):
        faces = _faces(face_ids)
        person = None if who is None else get_person(who) if isinstance(who, int) else _named(who)
        journal = Journal("reject")
        changed, skipped, persons = [], [], set()
        for face in faces:
            target = person.id if person is not None else (face.person_id or face.suggested_person_id)
            if target is None:
                skipped.append(Skipped(face.id, "no person to reject"))
                continue
            persons.add(int(target))
            known = m.FaceRejection.select().where(
                (m.FaceRejection.face == face.id) & (m.FaceRejection.person == target)
            )
            if not known.exists():
                m.FaceRejection.create(face=face.id, person=target)
                journal.rejections_added.append((int(face.id), int(target)))
            if face.person_id == target or face.suggested_person_id == target:
                journal.touch([face])
                _set([face], state=m.FaceState.UNKNOWN, person=None, **_CLEAR_SUGGESTION)
                changed.append(face.id)
        recount(persons)
        label = person.name if person is not None else "their people"
        journal.label = f"not {label}: {_faces_n(len(faces) - len(skipped))}"
        undo_id = journal.save()
    refreshed = refresh_after(core, [f.id for f in faces])
    view = person_view(get_person(person.id)) if person is not None else None
    return ReviewResult("reject", changed, skipped, [], view, False, undo_id, refreshed)


def _to_state(core: Core, face_ids: Iterable[int], state: str, action: str, label: str) -> ReviewResult:
    with serialized(core.db):
        faces = [f for f in _faces(face_ids) if f.state != state]
        journal = Journal(action, f"{label} {_faces_n(len(faces))}")
        journal.touch(faces)
        _set(faces, state=state, person=None, cluster=None, **_CLEAR_SUGGESTION)
        persons = {f.person_id for f in faces}
        recount(persons)
        undo_id = journal.save()
    refreshed = refresh_after(core, [f.id for f in faces])
    return ReviewResult(action, [f.id for f in faces], undo_id=undo_id, refreshed=refreshed)


def ignore(core: Core, face_ids: Iterable[int]) -> ReviewResult:
    """Strangers and background faces: the built-in "ignored" bucket (never suggested)."""
    return _to_state(core, face_ids, m.FaceState.IGNORED, "ignore", "ignored")


def unassign(core: Core, face_ids: Iterable[int]) -> ReviewResult:
    """Back to unknown (from confirmed or ignored); unlike reject, nothing is remembered."""
    return _to_state(core, face_ids, m.FaceState.UNKNOWN, "unassign", "unassigned")


def accept_suggestions(core: Core, face_ids: Iterable[int], action: str = "accept") -> ReviewResult:
    """Confirm faces as their suggested person (several people at once); conflicts are skipped."""
    with serialized(core.db):
        faces = [f for f in _faces(face_ids)]
        journal = Journal(action)
        skipped = [Skipped(f.id, "no suggestion") for f in faces if f.state != m.FaceState.SUGGESTED]
        pairs: list[tuple[m.Face, m.Person]] = []
        people = {int(p.id): p for p in m.Person.select()}
        for face in sorted(faces, key=lambda f: -(f.confidence or 0.0)):
            if face.state == m.FaceState.SUGGESTED and face.suggested_person_id in people:
                pairs.append((face, people[face.suggested_person_id]))
        done = confirm_pairs(journal, pairs, displace=False, respect_rejections=True)
        changed, more = done.changed, done.skipped
        skipped += more
        by_person = {p.id for _, p in pairs}
        people_n = f"{len(by_person)} {'person' if len(by_person) == 1 else 'people'}"
        journal.label = f"accepted {len(changed)} suggestion{'s' * (len(changed) != 1)} for {people_n}"
        undo_id = journal.save()
    refreshed = refresh_after(core, changed)
    return ReviewResult(action, changed, skipped, undo_id=undo_id, refreshed=refreshed)


def accept_likely(core: Core, who: int | str | None = None) -> ReviewResult:
    """Accept every "likely" suggestion (of one person, or of everybody)."""
    query = m.Face.select(m.Face.id).where((m.Face.state == m.FaceState.SUGGESTED) & (m.Face.band == MatchBand.LIKELY))
    view = None
    if who is not None:
        person = get_person(who) if isinstance(who, int) else _named(who)
        query = query.where(m.Face.suggested_person == person.id)
        view = person_view(person)
    result = accept_suggestions(core, [int(i) for (i,) in m.rows(query)], action="accept-likely")
    if view is not None:
        return dataclasses.replace(result, person=person_view(get_person(view.id)))
    return result


def name_cluster(
    core: Core,
    cluster_id: int,
    who: int | str,
    *,
    drop: Iterable[int] = (),
    drop_outliers: bool = False,
    face_ids: Iterable[int] | None = None,
) -> ReviewResult:
    """Confirm a cluster's faces as one person; `drop` (and outliers) stay unknown, unclustered.

    `face_ids` limits the action to the faces the user saw (clusters are refreshed meanwhile).
    """
    with serialized(core.db):
        query = m.Face.select().where(
            (m.Face.cluster == cluster_id) & m.Face.state.in_([m.FaceState.UNKNOWN, m.FaceState.SUGGESTED])
        )
        faces = objs(query.order_by(m.Face.quality.desc(), m.Face.id))
        if not faces:
            raise NotFound(f"no cluster {cluster_id} (it may have been named or refreshed)")
        if face_ids is not None:
            seen = {int(i) for i in face_ids}
            faces = [f for f in faces if f.id in seen]
        dropped = {int(i) for i in drop}
        if drop_outliers:
            dropped |= set(outlier_ids(core.cfg, faces))
        keep = [f for f in faces if f.id not in dropped]
        journal = Journal("name-cluster")
        person, created = resolve_person(who, journal)
        done = confirm_faces(journal, keep, person, displace=False, respect_rejections=True)
        changed, skipped = done.changed, done.skipped
        out = [f for f in faces if f.id in dropped]
        journal.touch(out)
        _set(out, cluster=None)
        skipped += [Skipped(f.id, "left out of the group, still unknown") for f in out]
        journal.label = f"named {_faces_n(len(changed))} {person.name}"
        undo_id = journal.save()
    refreshed = refresh_after(core, changed)
    return ReviewResult(
        "name-cluster", changed, skipped, [], person_view(get_person(person.id)), created, undo_id, refreshed
    )


def _named(name: str) -> m.Person:
    person = find_person(name)
    if person is None:
        raise NotFound(f"no person named {name!r}")
    return person


# --- undo ------------------------------------------------------------------------------------
def last_undo(scope: undo.UndoScope | None = None) -> UndoView | None:
    """The action an undo would take back (the newest one touching `scope`, if given)."""
    entry = undo.last_entry(scope)
    if entry is None:
        return None
    return UndoView(entry.id, entry.kind, str(entry.payload.get("label", "")), iso(entry.created_at))


def undo_last(core: Core, scope: undo.UndoScope | None = None) -> ReviewResult:
    """Undo the last action (bulk or not); faces changed by something else since stay as they are."""
    with serialized(core.db):
        entry = undo.last_entry(scope)
        if entry is None:
            raise Conflict("nothing to undo")
        undone = undo.apply(entry)
        recount(undone.people)
    _undo_files(core, undone)
    refreshed = refresh_after(core, [*undone.faces, *_mates(undone.removed_faces)], undone.people)
    warnings = [f"{len(undone.skipped_faces)} faces changed since and were left as they are"] * bool(
        undone.skipped_faces
    )
    return ReviewResult(
        "undo", undone.faces, [Skipped(f, "changed since") for f in undone.skipped_faces],
        refreshed=refreshed, warnings=[f"undid: {undone.label}", *warnings],
    )  # fmt: skip


def _undo_files(core: Core, undone: undo.Undone) -> None:
    """Thumbnails follow the faces an undo deleted or put back; deleted vectors leave the matcher."""
    for _, _, _, thumb in undone.removed_faces:
        if thumb:
            (core.cfg.data / thumb).unlink(missing_ok=True)
    for rel, data in undone.thumbs.items():
        save_thumbnail(data, core.cfg.data / rel)
    forget_vectors(core, [(fid, model) for fid, _, model, _ in undone.removed_faces])


def _mates(removed: list[tuple[int, int, str | None, str | None]]) -> list[int]:
    """Faces left in the photos an undo deleted faces from (their one-per-photo names may move)."""
    photos = sorted({photo for _, photo, _, _ in removed})
    return [
        int(i) for part in chunked(photos) for (i,) in m.rows(m.Face.select(m.Face.id).where(m.Face.photo.in_(part)))
    ]
