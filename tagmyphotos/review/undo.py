"""The undo journal: every review or people action records its own inverse as an UndoEntry.

Why a journal of before/after snapshots instead of inverse commands: an action touches faces,
rejections, aliases and people at once (a merge does all four). Recording what each row was
before, inside the same transaction, makes undo exact; recording what it became lets undo
leave alone any face that something else changed since (undo never clobbers newer work).
"""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from tagmyphotos.errors import EXIT_USAGE, TagMyPhotosError
from tagmyphotos.store import models as m
from tagmyphotos.store.db import chunked

# Undo keeps this many recent actions (each entry holds the before/after of the faces it touched).
UNDO_KEEP = 20

# Automatic naming runs that can still be undone (one entry each, kept apart from UNDO_KEEP).
UNDO_AUTO_KEEP = 60

# Face columns an action may change. Undo puts back state, person and cluster; suggestions are
# derived data, recomputed by the refresh that follows every undo.
FACE_FIELDS = (
    "state", "person_id", "suggested_person_id", "confidence", "band", "explanation", "cluster", "auto_batch",
)  # fmt: skip
# An automatic naming run (review/auto.py) is undone from its own button ("Named while you were
# away"), not by the page's Undo, and its entries are kept apart: the newest AUTO_KEEP of them.
AUTO_KIND = "auto-accept"


class UndoError(TagMyPhotosError, ValueError):
    """Nothing to undo, or the entry can no longer be applied (a name was taken since)."""

    http_status = 409
    slug = "cannot-undo"
    exit_code = EXIT_USAGE


def _face_state(face: m.Face) -> dict[str, Any]:
    return {name: getattr(face, name) for name in FACE_FIELDS}


@dataclass
class Journal:
    """Collects the inverse of one action while it runs inside its transaction."""

    kind: str
    label: str = ""
    faces: dict[int, dict[str, Any]] = field(default_factory=dict)  # face id -> before
    rejections_added: list[tuple[int, int]] = field(default_factory=list)
    rejections_removed: list[tuple[int, int]] = field(default_factory=list)
    people_created: list[int] = field(default_factory=list)
    people_deleted: list[dict[str, Any]] = field(default_factory=list)
    people_changed: dict[int, dict[str, Any]] = field(default_factory=dict)  # id -> name, hidden
    aliases_added: list[tuple[int, str]] = field(default_factory=list)
    aliases_removed: list[tuple[int, str]] = field(default_factory=list)
    faces_created: list[int] = field(default_factory=list)  # marked by hand: undo deletes them
    faces_deleted: list[dict[str, Any]] = field(default_factory=list)  # rows undo puts back

    def touch(self, faces: Iterable[m.Face]) -> None:
        """Remember faces as they are now (before this action changes them); first call wins."""
        for face in faces:
            self.faces.setdefault(int(face.id), _face_state(face))

    def touch_person(self, person: m.Person) -> None:
        self.people_changed.setdefault(int(person.id), {"name": person.name, "hidden": person.hidden})

    def delete_person_snapshot(self, person: m.Person) -> None:
        """Call before deleting a person: row, aliases and rejections come back on undo."""
        aliases = [a.name for a in m.PersonAlias.select().where(m.PersonAlias.person == person.id)]
        rejections = m.rows(m.FaceRejection.select(m.FaceRejection.face).where(m.FaceRejection.person == person.id))
        self.people_deleted.append(
            {
                "id": int(person.id),
                "name": person.name,
                "hidden": bool(person.hidden),
                "created_at": person.created_at.isoformat(),
                "aliases": aliases,
                "rejected_faces": [int(f) for (f,) in rejections],
            }
        )

    def delete_face_snapshot(self, face: m.Face, thumb: bytes | None) -> None:
        """Call before deleting a face: its row, rejections and thumbnail come back on undo."""
        row = {name: getattr(face, name) for name in _SNAPSHOT_FIELDS}
        row["embedding"] = base64.b64encode(bytes(face.embedding)).decode() if face.embedding is not None else None
        row["created_at"] = face.created_at.isoformat()
        rejections = m.rows(m.FaceRejection.select(m.FaceRejection.person).where(m.FaceRejection.face == face.id))
        self.faces_deleted.append(
            {
                "row": row,
                "rejected_people": [int(p) for (p,) in rejections],
                "thumb_data": base64.b64encode(thumb).decode() if thumb is not None else None,
            }
        )

    @property
    def empty(self) -> bool:
        return not (
            self.faces
            or self.faces_created
            or self.faces_deleted
            or self.rejections_added
            or self.rejections_removed
            or self.people_created
            or self.people_deleted
            or self.people_changed
            or self.aliases_added
            or self.aliases_removed
        )

    def save(self) -> int | None:
        """Write the entry (inside the action's transaction); keep only the newest few."""
        if self.empty:
            return None
        after = {}
        for ids in chunked([*self.faces, *self.faces_created]):
            query = m.Face.select(m.Face.id, m.Face.state, m.Face.person).where(m.Face.id.in_(ids))
            after.update({int(f): [state, person] for f, state, person in m.rows(query)})
        payload = {
            "faces": [[fid, before, after.get(fid)] for fid, before in self.faces.items()],
            "rejections_added": self.rejections_added,
            "rejections_removed": self.rejections_removed,
            "people_created": self.people_created,
            "people_deleted": self.people_deleted,
            "people_changed": {str(k): v for k, v in self.people_changed.items()},
            "aliases_added": self.aliases_added,
            "aliases_removed": self.aliases_removed,
            "faces_created": [[fid, after.get(fid)] for fid in self.faces_created],
            "faces_deleted": self.faces_deleted,
        }
        entry = m.UndoEntry.create(kind=self.kind, payload={"label": self.label, **payload})
        auto = m.UndoEntry.kind == AUTO_KIND
        kind = auto if self.kind == AUTO_KIND else ~auto
        keep = UNDO_AUTO_KEEP if self.kind == AUTO_KIND else UNDO_KEEP
        old = m.UndoEntry.select(m.UndoEntry.id).where(kind).order_by(m.UndoEntry.id.desc()).offset(keep)
        m.UndoEntry.delete().where(m.UndoEntry.id.in_(old)).execute()
        return int(entry.id)


@dataclass
class Undone:
    """What an undo touched, so the caller can recount people and refresh suggestions."""

    kind: str
    label: str
    faces: list[int]
    people: set[int]
    skipped_faces: list[int]  # changed by something else since: left as they are
    # faces marked by hand that the undo deleted: (id, photo id, embedding model, thumbnail path)
    removed_faces: list[tuple[int, int, str | None, str | None]] = field(default_factory=list)
    thumbs: dict[str, bytes] = field(default_factory=dict)  # thumbnails of faces put back


def apply(entry: m.UndoEntry) -> Undone:
    """Put back what `entry` recorded; run inside a transaction, then delete the entry."""
    p = entry.payload
    people: set[int] = set()
    for snap in p["people_deleted"]:
        if m.Person.select().where(m.Person.name == snap["name"]).exists():
            raise UndoError(f"cannot undo: the name {snap['name']!r} has been taken since")
        created = dt.datetime.fromisoformat(snap["created_at"])
        m.Person.insert(id=snap["id"], name=snap["name"], hidden=snap["hidden"], created_at=created).execute()
        for alias in snap["aliases"]:
            m.PersonAlias.create(person=snap["id"], name=alias)
        people.add(snap["id"])
    for pid, before in p["people_changed"].items():
        person = m.Person.get_or_none(m.Person.id == int(pid))
        if person is None:
            continue
        clash = m.Person.get_or_none((m.Person.name == before["name"]) & (m.Person.id != person.id))
        if clash is not None:
            raise UndoError(f"cannot undo: the name {before['name']!r} has been taken since")
        m.Person.update(name=before["name"], hidden=before["hidden"]).where(m.Person.id == person.id).execute()
        people.add(person.id)
    existing = {int(i) for (i,) in m.rows(m.Person.select(m.Person.id))}
    restored: list[int] = []
    skipped: list[int] = []
    removed = _remove_created(p.get("faces_created", []), people, skipped)
    thumbs = _put_back(p.get("faces_deleted", []), existing, people, restored, skipped)
    created_ids = {fid for fid, _ in p.get("faces_created", [])}
    current: dict[int, list[Any]] = {}
    for ids in chunked(fid for fid, _, _ in p["faces"]):
        query = m.Face.select(m.Face.id, m.Face.state, m.Face.person).where(m.Face.id.in_(ids))
        current.update({int(f): [state, person] for f, state, person in m.rows(query)})
    groups: dict[tuple[str, int | None, int | None, int | None], list[int]] = {}
    for fid, before, after in p["faces"]:
        if fid in created_ids:
            continue  # deleted above (or left alone, changed since)
        now = current.get(fid)
        if now is None or after is None or now != after:
            skipped.append(fid)  # changed by something else since: left alone
            continue
        state, owner = before["state"], before["person_id"]
        if owner is not None and owner not in existing:
            state, owner = m.FaceState.UNKNOWN, None
        if state == m.FaceState.SUGGESTED:
            state = m.FaceState.UNKNOWN  # the refresh after the undo suggests it again
        batch = before.get("auto_batch") if state == m.FaceState.CONFIRMED else None
        groups.setdefault((state, owner, before["cluster"], batch), []).append(fid)
        people.update(x for x in (now[1], owner) if x is not None)
        restored.append(fid)
    for (state, owner, cluster, batch), fids in groups.items():
        for ids in chunked(fids):
            m.Face.update(
                state=state, person=owner, cluster=cluster, suggested_person=None, confidence=None,
                band=None, certainty=None, explanation=None, auto_batch=batch, updated_at=m.utcnow(),
            ).where(m.Face.id.in_(ids)).execute()  # fmt: skip
    for fid, pid in p["rejections_added"]:
        m.FaceRejection.delete().where((m.FaceRejection.face == fid) & (m.FaceRejection.person == pid)).execute()
    unrejected = [tuple(r) for r in p["rejections_removed"]]
    unrejected += [(f, s["id"]) for s in p["people_deleted"] for f in s["rejected_faces"]]
    for fid, pid in unrejected:
        if pid in existing and m.Face.select().where(m.Face.id == fid).exists():
            m.FaceRejection.insert(face=fid, person=pid).on_conflict_ignore().execute()
    for pid, name in p["aliases_added"]:
        m.PersonAlias.delete().where((m.PersonAlias.person == pid) & (m.PersonAlias.name == name)).execute()
    for pid, name in p["aliases_removed"]:
        if pid in existing:
            m.PersonAlias.create(person=pid, name=name)
    for pid in p["people_created"]:
        confirmed = m.Face.select().where(m.Face.person == pid).exists()
        if not confirmed:
            m.Face.update(suggested_person=None, confidence=None, band=None, explanation=None,
                          state=m.FaceState.UNKNOWN).where(
                (m.Face.suggested_person == pid) & (m.Face.state == m.FaceState.SUGGESTED)
            ).execute()  # fmt: skip
            m.Person.delete().where(m.Person.id == pid).execute()
            people.discard(pid)
    entry.delete_instance()
    return Undone(entry.kind, p.get("label", ""), restored, people, skipped, removed, thumbs)


_SNAPSHOT_FIELDS = (
    "id", "photo_id", "x", "y", "w", "h", "det_score", "quality", "landmarks", "model", "thumb", "source",
    "state", "person_id", "cluster",
)  # fmt: skip


def _remove_created(
    created: list[list[Any]], people: set[int], skipped: list[int]
) -> list[tuple[int, int, str | None, str | None]]:
    """Delete faces the action created, unless something changed them since."""
    removed = []
    for fid, after in created:
        face: Any = m.Face.get_or_none(m.Face.id == fid)
        if face is None or after is None or [face.state, face.person_id] != after:
            skipped.append(fid)
            continue
        m.FaceRejection.delete().where(m.FaceRejection.face == fid).execute()
        face.delete_instance()
        people.update([face.person_id] if face.person_id is not None else [])
        removed.append((int(fid), int(face.photo_id), face.model, face.thumb))
    return removed


def _put_back(
    deleted: list[dict[str, Any]], existing: set[int], people: set[int], restored: list[int], skipped: list[int]
) -> dict[str, bytes]:
    """Re-insert deleted faces with their ids; a name taken in the photo since comes back unknown."""
    thumbs: dict[str, bytes] = {}
    for snap in deleted:
        row = dict(snap["row"])
        fid, photo = int(row["id"]), row.pop("photo_id")
        if m.Face.select().where(m.Face.id == fid).exists() or not m.Photo.select().where(m.Photo.id == photo).exists():
            skipped.append(fid)  # the id was reused, or the photo is gone
            continue
        person = row.pop("person_id")
        taken = (
            m.Face.select()
            .where((m.Face.photo == photo) & (m.Face.person == person) & (m.Face.state == m.FaceState.CONFIRMED))
            .exists()
        )
        if person not in existing or taken:
            person = None
        row["state"] = m.FaceState.CONFIRMED if person is not None else m.FaceState.UNKNOWN
        row["embedding"] = base64.b64decode(row["embedding"]) if row["embedding"] is not None else None
        row["created_at"] = dt.datetime.fromisoformat(row["created_at"])
        m.Face.insert(photo=photo, person=person, updated_at=m.utcnow(), **row).execute()
        for pid in snap["rejected_people"]:
            if pid in existing:
                m.FaceRejection.insert(face=fid, person=pid).on_conflict_ignore().execute()
        if snap["thumb_data"] is not None and row["thumb"]:
            thumbs[str(row["thumb"])] = base64.b64decode(snap["thumb_data"])
        people.update([person] if person is not None else [])
        restored.append(fid)
    return thumbs


def last_entry(scope: UndoScope | None = None) -> m.UndoEntry | None:
    """The newest entry, or the newest that touches what `scope` names."""
    newest_first = m.UndoEntry.select().where(m.UndoEntry.kind != AUTO_KIND).order_by(m.UndoEntry.id.desc())
    if scope is None or scope.everything:
        return newest_first.first()
    return next((e for e in newest_first if touches(e.payload, scope)), None)


@dataclass(frozen=True)
class UndoScope:
    """What a page shows: one person, one photo, or (neither) the whole review.

    Why: an "Undo" button on a person's page must not undo something done to somebody else
    on another page; it offers the newest action that touched what the user is looking at."""

    person_id: int | None = None
    photo_id: int | None = None

    @property
    def everything(self) -> bool:
        return self.person_id is None and self.photo_id is None


def touches(payload: dict[str, Any], scope: UndoScope) -> bool:
    """Whether a journal payload changed the scope's person (their faces, name, aliases) or a
    face of the scope's photo."""
    people, face_ids, photos = _touched(payload)
    if scope.person_id is not None and scope.person_id in people:
        return True
    if scope.photo_id is not None:
        if scope.photo_id in photos:
            return True
        for part in chunked(sorted(face_ids)):
            query = m.Face.select().where(m.Face.id.in_(part) & (m.Face.photo == scope.photo_id))
            if query.exists():
                return True
    return False


def _touched(p: dict[str, Any]) -> tuple[set[int], set[int], set[int]]:
    """(people, face ids, photo ids) a payload names."""
    people: set[int] = set()
    faces: set[int] = set()
    photos: set[int] = set()
    for fid, before, after in p.get("faces", []):
        faces.add(int(fid))
        people.update(int(v) for v in (before.get("person_id"), before.get("suggested_person_id")) if v)
        if after and after[1]:
            people.add(int(after[1]))
    for fid, after in p.get("faces_created", []):
        faces.add(int(fid))
        if after and after[1]:
            people.add(int(after[1]))
    for snap in p.get("faces_deleted", []):
        row = snap.get("row", {})
        photos.update(int(v) for v in (row.get("photo"), row.get("photo_id")) if v)
        people.update(int(v) for v in (row.get("person"), row.get("person_id")) if v)
    for fid, pid in [*p.get("rejections_added", []), *p.get("rejections_removed", [])]:
        faces.add(int(fid))
        people.add(int(pid))
    for pid, _ in [*p.get("aliases_added", []), *p.get("aliases_removed", [])]:
        people.add(int(pid))
    people.update(int(i) for i in p.get("people_created", []))
    people.update(int(d["id"]) for d in p.get("people_deleted", []))
    people.update(int(k) for k in p.get("people_changed", {}))
    return people, faces, photos
