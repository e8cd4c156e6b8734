"""One photo of a name import, decided before any change: which of our faces gets which name there.

Why apart from applying: a dry run is this plan counted, and the real run applies the same
plan, so what a dry run promises is what the import does. Each imported face is matched
one-to-one to our faces by IoU (tuning.FOREIGN_FACE_MIN_IOU); an overlap that is still open here
is confirmed; no overlap becomes a hand-marked face. A face already confirmed (or rejected)
otherwise here is never changed: it is recorded as a conflict, listed to decide.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from tagmyphotos import tuning
from tagmyphotos.geometry import NormBox, oriented_size, to_oriented
from tagmyphotos.metadata.read import match_regions_to_faces
from tagmyphotos.store import models as m


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
class PhotoPlan:
    """Decisions for one photo before any change."""

    confirm: list[tuple[Any, str, ImportedName]] = field(default_factory=list)  # (face, name, fn)
    mark: list[ImportedName] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)  # ForeignFace values


class Directory:
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


def foreign_row(source: str, photo_id: int, fn: ImportedName, outcome: str, face: Any = None,
                here: Any = None, note: str | None = None) -> dict[str, Any]:  # fmt: skip
    """The ForeignFace values that record what became of one imported face (Directory.record)."""
    return {"source": source, "external_id": fn.external_id, "photo": photo_id,
            "face": face.id if face is not None else None, "external_person": fn.person_id,
            "name_there": fn.name, "person_here": here, "outcome": outcome, "note": note}  # fmt: skip


def plan_photo(people: Directory, fp: ImportedPhoto) -> PhotoPlan:
    """What the import does to one photo: faces to confirm, boxes to mark, outcomes to record."""
    plan, source = PhotoPlan(), people.source
    photo: Any = people.photos.get(fp.photo_id)
    if photo is None or photo.state != m.PhotoState.DONE or not photo.width or not photo.height:
        why = "the photo is not analysed here yet" if photo is not None else "the photo is gone"
        plan.rows += [foreign_row(source, fp.photo_id, fn, m.FOREIGN_UNMATCHED, note=why) for fn in fp.names]
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
            plan.rows.append(foreign_row(source, photo.id, fn, outcome, face, note=note))
            continue
        taken[key] = oriented_box(fn, photo)
        if face is None:
            if holder is not None:
                plan.rows.append(foreign_row(source, photo.id, fn, m.FOREIGN_ALREADY, holder))
            else:
                plan.mark.append(fn)
            continue
        if face.state == m.FaceState.CONFIRMED:
            same = person is not None and face.person_id == person.id
            outcome = m.FOREIGN_ALREADY if same else m.FOREIGN_CONFLICT
            plan.rows.append(foreign_row(source, photo.id, fn, outcome, face, None if same else face.person_id))
        elif person is not None and (face.id, person.id) in rejected:
            plan.rows.append(
                foreign_row(source, photo.id, fn, m.FOREIGN_CONFLICT, face, note=f"rejected for {person.name} here")
            )
        elif face.state == m.FaceState.IGNORED:
            plan.rows.append(
                foreign_row(source, photo.id, fn, m.FOREIGN_CONFLICT, face, note="ignored here (not a face?)")
            )
        elif holder is not None:
            note = f"{holder.person.name} is on another face of this photo here"
            plan.rows.append(foreign_row(source, photo.id, fn, m.FOREIGN_CONFLICT, face, holder.person_id, note=note))
        else:
            plan.confirm.append((face, fn.name if person is None else person.name, fn))
    return plan


def known_photos() -> dict[str, int]:
    """Library-relative path -> the photo id that holds its faces, for every photo an import can
    name (not missing). A RAW that shares the faces of its JPEG (faces_from) maps to the JPEG, so
    a name given on either file lands on the one set of faces."""
    query = m.Photo.select(m.Photo.id, m.Photo.path, m.Photo.faces_from).where(m.Photo.state != m.PhotoState.MISSING)
    return {path: int(twin or pid) for pid, path, twin in m.rows(query)}
