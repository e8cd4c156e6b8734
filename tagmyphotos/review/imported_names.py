"""Imported names: names people already gave in another app (Immich, PhotoPrism, a Google Takeout
export read by integrations/stages/import_names.py) become names on our faces. (Names read from
the files themselves at analysis are *embedded* names: stages/steps/embedded_names.py.)

Why here and not in integrations/: what an import does to the database is a review action like
any other (one transaction, one undo entry, rejections respected, one person per photo), and
the integrations only fetch. Each imported face is matched one-to-one to our faces by IoU
(tuning.FOREIGN_FACE_MIN_IOU); an overlap that is still open here is confirmed; no overlap
becomes a hand-marked face (mark.add_face: checked by the detector, embedded when it holds a
face). A face already confirmed (or rejected) otherwise here is never changed: it is recorded as
a conflict, listed to decide. Every imported face gets a ForeignFace row (its source), so a
second import changes nothing and a decided conflict is not raised again.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from tagmyphotos import tuning
from tagmyphotos.geometry import NormBox, oriented_size, to_oriented
from tagmyphotos.metadata.read import match_regions_to_faces
from tagmyphotos.review.confirm import confirm, confirm_faces
from tagmyphotos.review.mark import add_face
from tagmyphotos.review.people import (
    Conflict,
    NotFound,
    PeopleError,
    clean_name,
    refresh_after,
    resolve_person,
    shown,
)
from tagmyphotos.review.undo import Journal
from tagmyphotos.store import models as m
from tagmyphotos.store.db import serialized
from tagmyphotos.store.views import iso

# An import result lists at most this many conflicts and unmatched names (the counts are whole;
# every conflict stays listed in GET /api/v1/imports/conflicts).
FOREIGN_LISTED_MAX = 200


@dataclass(frozen=True)
class ImportedName:
    """One named face of another app, its box normalized on the photo as displayed."""

    external_id: str
    person_id: str  # the person's id there
    name: str
    box: NormBox
    # The pixel size of the image the box was measured on, when known: tells the displayed frame
    # from the stored one (see oriented_box); None = the photo as displayed.
    frame: tuple[int, int] | None = None


@dataclass(frozen=True)
class ImportedPhoto:
    photo_id: int
    names: tuple[ImportedName, ...]


@dataclass
class ImportOutcome:
    """What an import did (or would do, in a dry run); `to_dict()` is the CLI/API JSON."""

    source: str
    dry_run: bool
    photos: int = 0
    imported: int = 0  # our faces confirmed with the other app's name
    marked: int = 0  # faces made by hand-marking the other app's box
    already: int = 0  # nothing to do: the name is on the face (or in the photo) here
    conflicts: int = 0
    unmatched: int = 0
    people_created: list[str] = field(default_factory=list)
    conflict_items: list[dict[str, Any]] = field(default_factory=list)
    unmatched_items: list[dict[str, Any]] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)  # filled by the integration
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["conflict_items"] = out["conflict_items"][: FOREIGN_LISTED_MAX]
        out["unmatched_items"] = out["unmatched_items"][: FOREIGN_LISTED_MAX]
        return out


@dataclass
class _Plan:
    """Decisions for one photo before any change."""

    confirm: list[tuple[Any, str, ImportedName]] = field(default_factory=list)  # (face, name, fn)
    mark: list[ImportedName] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)  # ForeignFace values


class _Directory:
    """Our people and the links of one source, read once per import (not one query per name)."""

    def __init__(self, source: str) -> None:
        self.source = source
        query = m.ForeignPerson.select(m.ForeignPerson.external_id, m.ForeignPerson.person)
        self.links: dict[str, int] = dict(m.rows(query.where(m.ForeignPerson.source == source)))
        self.people: dict[int, Any] = {int(p.id): p for p in m.Person.select()}
        self.by_name: dict[str, Any] = {p.name.casefold(): p for p in self.people.values()}
        for alias in m.rows_as_objects(m.PersonAlias.select()):
            if alias.person_id in self.people:
                self.by_name.setdefault(alias.name.casefold(), self.people[alias.person_id])
        self.records: dict[str, dict[str, Any]] = {}  # external face id -> what was recorded
        fields = ("external_id", "photo", "face", "external_person", "name_there", "person_here", "outcome",
                  "decision", "note")  # fmt: skip
        recorded = m.ForeignFace.select(*(getattr(m.ForeignFace, f) for f in fields), m.ForeignFace.id)
        for row in m.rows(recorded.where(m.ForeignFace.source == source)):
            self.records[row[0]] = dict(zip((*fields, "id"), row, strict=True))

    def load(self, photo_ids: Sequence[int]) -> None:
        """The photos, their faces and rejections, in a few queries per 500 photos."""
        self.photos: dict[int, Any] = {}
        self.faces: dict[int, list[Any]] = {}
        self.rejected: set[tuple[int, int]] = set()
        for start in range(0, len(photo_ids), tuning.SQL_IN_MAX):
            part = list(photo_ids[start : start + tuning.SQL_IN_MAX])
            self.photos.update({int(p.id): p for p in m.Photo.select().where(m.Photo.id.in_(part))})
            faces = m.rows_as_objects(m.Face.select().where(m.Face.photo.in_(part)).order_by(m.Face.id))
            for face in faces:
                self.faces.setdefault(int(face.photo_id), []).append(face)
            query = m.FaceRejection.select(m.FaceRejection.face, m.FaceRejection.person).join(m.Face)
            self.rejected.update(m.rows(query.where(m.Face.photo.in_(part))))

    def person(self, fn: ImportedName) -> Any:
        """Our person for their person: the linked one first (renames on either side), else by name."""
        linked = self.links.get(fn.person_id)
        if linked is not None and linked in self.people:
            return self.people[linked]
        return self.by_name.get(" ".join(fn.name.split()).casefold())

    def add(self, person: Any) -> None:
        self.people[int(person.id)] = person
        self.by_name.setdefault(person.name.casefold(), person)

    def link(self, fn: ImportedName, person: Any) -> None:
        if fn.person_id not in self.links:
            m.ForeignPerson.create(source=self.source, external_id=fn.person_id, person=person.id,
                                   name_there=fn.name, name_here=person.name)  # fmt: skip
            self.links[fn.person_id] = int(person.id)

    def record(self, rows: Iterable[dict[str, Any]]) -> None:
        """Upsert ForeignFace rows (by source and external id): the import's memory."""
        now = m.utcnow()
        fresh = []
        for values in rows:
            known = self.records.get(values["external_id"])
            if known is None:
                fresh.append({**values, "updated_at": now})
            elif any(known.get(k) != v for k, v in values.items() if k != "source"):
                m.ForeignFace.update(**values, updated_at=now).where(m.ForeignFace.id == known["id"]).execute()
            self.records[values["external_id"]] = {**(known or {}), **values}
        for start in range(0, len(fresh), 200):
            m.ForeignFace.insert_many(fresh[start : start + 200]).execute()


def oriented_box(fn: ImportedName, photo: Any) -> NormBox:
    """The imported box on the photo as displayed (our faces' frame).

    Immich and PhotoPrism measure faces on their oriented previews, so boxes are normally in the
    displayed frame already. Older Immich releases imported file regions without applying the
    EXIF orientation: for a photo turned sideways (orientation 5-8) a frame whose aspect is the
    stored one, not the displayed one, marks such a box, and it is turned here.
    """
    orientation = photo.orientation or 1
    if fn.frame is None or orientation < 5 or photo.width == photo.height:
        return fn.box
    frame_landscape = fn.frame[0] > fn.frame[1]
    if frame_landscape == (photo.width > photo.height) and fn.frame[0] != fn.frame[1]:
        return to_oriented(fn.box, orientation)
    return fn.box


def _face_box(face: Any, width: int, height: int) -> NormBox:
    return NormBox(face.x / width, face.y / height, face.w / width, face.h / height)


def _row(source: str, photo_id: int, fn: ImportedName, outcome: str, face: Any = None,
         here: Any = None, note: str | None = None) -> dict[str, Any]:  # fmt: skip
    return {"source": source, "external_id": fn.external_id, "photo": photo_id,
            "face": face.id if face is not None else None, "external_person": fn.person_id,
            "name_there": fn.name, "person_here": here, "outcome": outcome, "note": note}  # fmt: skip


def _plan_photo(people: _Directory, fp: ImportedPhoto) -> _Plan:
    plan, source = _Plan(), people.source
    photo: Any = people.photos.get(fp.photo_id)
    if photo is None or photo.state != m.PhotoState.DONE or not photo.width or not photo.height:
        why = "the photo is not analysed here yet" if photo is not None else "the photo is gone"
        plan.rows += [_row(source, fp.photo_id, fn, m.FOREIGN_UNMATCHED, note=why) for fn in fp.names]
        return plan
    width, height = oriented_size(photo.width, photo.height, photo.orientation or 1)
    faces: list[Any] = people.faces.get(int(photo.id), [])
    matches = {
        mt.region_index: faces[mt.face_index]
        for mt in match_regions_to_faces(
            [oriented_box(n, photo) for n in fp.names],
            [_face_box(f, width, height) for f in faces],
            min_iou=tuning.FOREIGN_FACE_MIN_IOU,
        )  # fmt: skip
    }
    named_here = {f.person_id: f for f in faces if f.state == m.FaceState.CONFIRMED}
    rejected = people.rejected
    taken: dict[str, NormBox] = {}
    for index, fn in enumerate(fp.names):
        prior = people.records.get(fn.external_id)
        if prior is not None and prior.get("decision") is not None:
            continue  # a conflict the user decided: not raised again
        person = people.person(fn)
        key = person.name.casefold() if person is not None else fn.name.casefold()
        face = matches.get(index)
        holder = named_here.get(person.id) if person is not None else None
        if key in taken:  # the same head on the RAW and the JPEG of a pair is the same name once
            same = taken[key].iou(oriented_box(fn, photo)) >= tuning.FOREIGN_FACE_MIN_IOU
            outcome, note = (
                (m.FOREIGN_ALREADY, None) if same else (m.FOREIGN_CONFLICT, "named twice in that photo there")
            )
            plan.rows.append(_row(source, photo.id, fn, outcome, face, note=note))
            continue
        taken[key] = oriented_box(fn, photo)
        if face is None:
            if holder is not None:
                plan.rows.append(_row(source, photo.id, fn, m.FOREIGN_ALREADY, holder))
            else:
                plan.mark.append(fn)
            continue
        if face.state == m.FaceState.CONFIRMED:
            same = person is not None and face.person_id == person.id
            outcome = m.FOREIGN_ALREADY if same else m.FOREIGN_CONFLICT
            plan.rows.append(_row(source, photo.id, fn, outcome, face, None if same else face.person_id))
        elif person is not None and (face.id, person.id) in rejected:
            plan.rows.append(
                _row(source, photo.id, fn, m.FOREIGN_CONFLICT, face, note=f"rejected for {person.name} here")
            )
        elif face.state == m.FaceState.IGNORED:
            plan.rows.append(_row(source, photo.id, fn, m.FOREIGN_CONFLICT, face, note="ignored here (not a face?)"))
        elif holder is not None:
            plan.rows.append(_row(source, photo.id, fn, m.FOREIGN_CONFLICT, face, holder.person_id,
                                  note=f"{holder.person.name} is on another face of this photo here"))  # fmt: skip
        else:
            plan.confirm.append((face, fn.name if person is None else person.name, fn))
    return plan


def _tally(out: ImportOutcome, rows: list[dict[str, Any]]) -> None:
    for r in rows:
        if r["outcome"] == m.FOREIGN_ALREADY:
            out.already += 1
        elif r["outcome"] == m.FOREIGN_CONFLICT:
            out.conflicts += 1
            here = m.Person.get_or_none(m.Person.id == r["person_here"]) if r["person_here"] else None
            out.conflict_items.append({"photo_id": r["photo"], "face_id": r["face"], "name_there": r["name_there"],
                                       "name_here": here.name if here else None, "note": r["note"]})  # fmt: skip
        elif r["outcome"] == m.FOREIGN_UNMATCHED:
            out.unmatched += 1
            out.unmatched_items.append({"photo_id": r["photo"], "name_there": r["name_there"], "why": r["note"]})


def import_names(core: Any, source: str, photos: Sequence[ImportedPhoto], dry_run: bool = False) -> ImportOutcome:
    """Apply (or, dry, only count) the names of one import round. Safe to rerun: idempotent."""
    people = _Directory(source)
    out_notes: list[str] = []
    merged: dict[int, list[ImportedName]] = {}
    for fp in photos:  # a RAW and its JPEG are one photo here (known_photos)
        merged.setdefault(fp.photo_id, []).extend(fn for fn in fp.names if _usable_name(fn, source, out_notes))
    photos = [ImportedPhoto(pid, tuple(names)) for pid, names in merged.items()]
    out = ImportOutcome(source, dry_run, photos=len(photos), notes=out_notes)
    people.load([fp.photo_id for fp in photos])
    plans = [(fp, _plan_photo(people, fp)) for fp in photos]
    new_names = {fn.name.casefold(): fn.name for _, p in plans for fn in [*(c[2] for c in p.confirm), *p.mark]
                 if people.person(fn) is None}  # fmt: skip
    out.people_created = sorted(new_names.values())
    for _, plan in plans:
        _tally(out, plan.rows)
    out.imported = sum(len(p.confirm) for _, p in plans)
    out.marked = sum(len(p.mark) for _, p in plans)
    if dry_run:
        return out
    changed: list[int] = []
    with serialized(core.db):
        journal = Journal("import-names", f"names imported from {source}")
        by_person: dict[int, tuple[m.Person, list[Any]]] = {}
        for fp, plan in plans:
            for face, name, fn in plan.confirm:
                person = people.person(fn)
                if person is None:
                    person, _ = resolve_person(clean_name(name), journal)
                    people.add(person)
                people.link(fn, person)
                by_person.setdefault(int(person.id), (person, []))[1].append(face)
                plan.rows.append(_row(source, fp.photo_id, fn, m.FOREIGN_IMPORTED, face))
        for person, faces in by_person.values():
            done = confirm_faces(journal, faces, person, displace=False, respect_rejections=True)
            changed += done.changed
            out.notes += [f"face {s.face_id}: {s.reason}" for s in done.skipped]
        out.imported = len(changed)
        journal.save()
        people.record(row for _, plan in plans for row in plan.rows)
    refresh_after(core, changed)
    for fp, plan in plans:
        for fn in plan.mark:
            if not _mark(core, people, fp.photo_id, fn, out):
                out.marked -= 1
    return out


def _usable_name(fn: ImportedName, source: str, notes: list[str]) -> bool:
    """A name we can give a person here; else False and a note naming it (escaped, cut short).
    One bad name there costs that face, never the import (issue 25, item 5)."""
    try:
        clean_name(fn.name)
    except PeopleError as exc:
        notes.append(f"a name from {source} was skipped: {shown(fn.name)} ({exc})")
        return False
    return True


def _mark(core: Any, people: _Directory, photo_id: int, fn: ImportedName, out: ImportOutcome) -> bool:
    """A face we did not detect: mark the other app's box by hand with its name (embedded when
    the detector confirms a face in it). False, recorded as unmatched, when that is refused."""
    photo: Any = m.Photo.get_by_id(photo_id)
    width, height = oriented_size(photo.width, photo.height, photo.orientation or 1)
    nb = oriented_box(fn, photo)
    box = (nb.x * width, nb.y * height, nb.w * width, nb.h * height)
    person = people.person(fn)
    source = people.source
    try:
        result = add_face(core, photo_id, box, who=person.id if person is not None else fn.name)
    except PeopleError as exc:
        out.unmatched += 1
        out.unmatched_items.append({"photo_id": photo_id, "name_there": fn.name, "why": str(exc)})
        people.record([_row(source, photo_id, fn, m.FOREIGN_UNMATCHED, note=str(exc))])
        return False
    face: Any = m.Face.get_by_id(result.changed[0])
    with serialized(core.db):
        named = m.Person.get_by_id(face.person_id)
        people.add(named)
        people.link(fn, named)
        people.record([_row(source, photo_id, fn, m.FOREIGN_MARKED, face, note="; ".join(result.warnings) or None)])
    return True


# --- conflicts: listed, then decided by the user -----------------------------------------------


@dataclass(frozen=True)
class ImportConflict:
    id: int
    source: str
    photo_id: int
    photo_path: str
    face_id: int | None
    name_there: str
    name_here: str | None
    note: str | None
    updated_at: str | None


def list_conflicts(source: str | None = None, limit: int = 100, offset: int = 0) -> tuple[list[ImportConflict], int]:
    query = (
        m.ForeignFace.select(m.ForeignFace, m.Photo.id, m.Photo.path)
        .join(m.Photo)
        .where((m.ForeignFace.outcome == m.FOREIGN_CONFLICT) & m.ForeignFace.decision.is_null())
    )
    if source:
        query = query.where(m.ForeignFace.source == source)
    total = query.count()
    items = []
    for r in m.rows_as_objects(query.order_by(m.ForeignFace.id).limit(limit).offset(offset)):
        here = m.Person.get_or_none(m.Person.id == r.person_here_id) if r.person_here_id else None
        items.append(ImportConflict(r.id, r.source, r.photo.id, r.photo.path, r.face_id, r.name_there,
                                     here.name if here else None, r.note, iso(r.updated_at)))  # fmt: skip
    return items, total


def decide_conflict(core: Any, conflict_id: int, take: str) -> ImportConflict:
    """'theirs' confirms the face with the other app's name (an explicit confirm: it moves the
    name); 'ours' keeps ours, and the import never raises it again."""
    where = (m.ForeignFace.id == conflict_id) & (m.ForeignFace.outcome == m.FOREIGN_CONFLICT)
    row: Any = m.ForeignFace.get_or_none(where)
    if row is None:
        raise NotFound(f"no import conflict with id {conflict_id}")
    if take not in ("theirs", "ours"):
        raise PeopleError("take must be 'theirs' or 'ours'")
    if take == "theirs":
        if row.face_id is None:
            raise Conflict("that face is gone here; nothing to name")
        confirm(core, [row.face_id], row.name_there, action="import-decide")
    m.ForeignFace.update(decision=take, updated_at=m.utcnow()).where(m.ForeignFace.id == row.id).execute()
    item = [c for c in list_conflicts(limit=1, offset=0)[0] if c.id == conflict_id]
    photo = m.Photo.get_by_id(row.photo_id)
    return item[0] if item else ImportConflict(row.id, row.source, row.photo_id, photo.path, row.face_id,
                                                row.name_there, None, take, iso(m.utcnow()))  # fmt: skip


def known_photos() -> dict[str, int]:
    """Library-relative path -> the photo id that holds its faces, for every photo an import can
    name (not missing). A RAW that shares the faces of its JPEG (faces_from) maps to the JPEG, so
    a name given on either file lands on the one set of faces."""
    query = m.Photo.select(m.Photo.id, m.Photo.path, m.Photo.faces_from).where(m.Photo.state != m.PhotoState.MISSING)
    return {path: int(twin or pid) for pid, path, twin in m.rows(query)}
