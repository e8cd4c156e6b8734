"""Import conflicts: a name there that disagrees with ours here, listed, then decided by the user.

Why apart from the import: an import never changes a face already named (or rejected) here; it
records the disagreement, and deciding it later is an explicit review action ('theirs' confirms
the other app's name, 'ours' keeps ours) that the next import respects.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tagmyphotos.review.confirm import confirm
from tagmyphotos.review.people import Conflict, NotFound, PeopleError
from tagmyphotos.store import models as m
from tagmyphotos.store.views import iso


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
