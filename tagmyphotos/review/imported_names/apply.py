"""One name import applied: the plans of its photos, in one transaction with one undo entry.

Why here and not in integrations/: what an import does to the database is a review action like
any other (one transaction, one undo entry, rejections respected, one person per photo), and
the integrations only fetch. Faces with no overlap here are marked by hand afterwards
(mark.add_face: checked by the detector, embedded when it holds a face). Every imported face gets
a ForeignFace row (its source), so a second import changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from tagmyphotos.geometry import oriented_size
from tagmyphotos.review.confirm import confirm_faces
from tagmyphotos.review.imported_names.plan import (
    Directory,
    ImportedName,
    ImportedPhoto,
    foreign_row,
    oriented_box,
    plan_photo,
)
from tagmyphotos.review.mark import add_face
from tagmyphotos.review.people import PeopleError, clean_name, refresh_after, resolve_person, shown
from tagmyphotos.review.undo import Journal
from tagmyphotos.store import models as m
from tagmyphotos.store.db import serialized

# An import result lists at most this many conflicts and unmatched names (the counts are whole;
# every conflict stays listed in GET /api/v1/imports/conflicts).
FOREIGN_LISTED_MAX = 200


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
        out["conflict_items"] = out["conflict_items"][:FOREIGN_LISTED_MAX]
        out["unmatched_items"] = out["unmatched_items"][:FOREIGN_LISTED_MAX]
        return out


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
    people = Directory(source)
    out_notes: list[str] = []
    merged: dict[int, list[ImportedName]] = {}
    for fp in photos:  # a RAW and its JPEG are one photo here (known_photos)
        merged.setdefault(fp.photo_id, []).extend(fn for fn in fp.names if _usable_name(fn, source, out_notes))
    photos = [ImportedPhoto(pid, tuple(names)) for pid, names in merged.items()]
    out = ImportOutcome(source, dry_run, photos=len(photos), notes=out_notes)
    people.load([fp.photo_id for fp in photos])
    plans = [(fp, plan_photo(people, fp)) for fp in photos]
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
                plan.rows.append(foreign_row(source, fp.photo_id, fn, m.FOREIGN_IMPORTED, face))
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


def _mark(core: Any, people: Directory, photo_id: int, fn: ImportedName, out: ImportOutcome) -> bool:
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
        people.record([foreign_row(source, photo_id, fn, m.FOREIGN_UNMATCHED, note=str(exc))])
        return False
    face: Any = m.Face.get_by_id(result.changed[0])
    with serialized(core.db):
        named = m.Person.get_by_id(face.person_id)
        people.add(named)
        people.link(fn, named)
        note = "; ".join(result.warnings) or None
        people.record([foreign_row(source, photo_id, fn, m.FOREIGN_MARKED, face, note=note)])
    return True
