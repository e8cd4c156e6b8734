"""Read side of the review, photos: find photos by the people in them, and one photo in detail.

Why apart from the face lists: the Photos page, GET /photos and `tagmyphotos photos` filter the
library by people, folders and dates (a few indexed queries per page, whatever the library's
size), and the photo page, GET /photos/{id} and GET /photos/by-path show one photo with its faces
and names. Width and height are as displayed: the EXIF orientation is applied once, by
`geometry.oriented_size`.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from typing import Any

import peewee as pw

from tagmyphotos.geometry import oriented_size
from tagmyphotos.library.paths import clean_relative
from tagmyphotos.library.scan import REFERENCE_KIND
from tagmyphotos.review.people import person_id_of
from tagmyphotos.store import models as m
from tagmyphotos.store.views import FaceView, PhotoNameView, face_views, faces_select, photo_names

PEOPLE_MODES = ("all", "any", "only")
PHOTO_ORDERS = ("path", "date", "size", "id")  # each also descending with a leading '-'
UNNAMED_STATES = (m.FaceState.UNKNOWN, m.FaceState.SUGGESTED)  # no confirmed name, not ignored
_FAILED = (m.PhotoState.FAILED, m.PhotoState.ERROR)


@dataclass(frozen=True)
class PhotoFilter:
    """What the Photos page, GET /photos and scripts filter by (None: no condition).

    A person is in a photo by a confirmed face or by a photo-level name (its own tags name them
    on no face we know). people + mode: "all" = every one of them is in the photo; "any" = at
    least one; "only" = all of them and no other named person (unnamed faces allowed; add
    has_unnamed_faces=False for "nobody else at all"). Dates are the file's modification time (the photo table stores
    no EXIF taken date), as Unix seconds: date_from inclusive, date_to exclusive.
    """

    people: tuple[int, ...] = ()
    mode: str = "all"
    folder: str | None = None
    recursive: bool = True
    date_from: float | None = None
    date_to: float | None = None
    has_unnamed_faces: bool | None = None  # faces with no confirmed name (unknown or suggested)
    has_unknown_faces: bool | None = None  # faces with neither a name nor a suggestion
    state: str | None = None
    has_error: bool | None = None
    written: bool | None = None
    text: str | None = None  # the path contains it
    order: str = "path"


@dataclass(frozen=True)
class PersonTag:
    id: int
    name: str
    on_face: bool = True  # False: a photo-level name (the photo's tags name them on no face we know)


@dataclass(frozen=True)
class PhotoCard:
    """A photo as a list shows it: counts of its faces and the people named in it."""

    id: int
    path: str
    kind: str
    format: str | None
    size: int
    width: int | None  # as displayed (after EXIF orientation)
    height: int | None
    orientation: int
    state: str
    error: str | None
    mtime: float
    faces: int
    unknown_faces: int
    unnamed_faces: int
    confirmed_faces: int
    written: bool
    write_error: str | None
    people: list[PersonTag]  # confirmed people and photo-level names, by name


@dataclass(frozen=True)
class PhotoPage:
    items: list[PhotoCard]
    total: int


def day_bounds(first: dt.date | None, last: dt.date | None) -> tuple[float | None, float | None]:
    """Two calendar days (inclusive, the server's local time) as a [from, to) range of seconds."""
    start = time.mktime(first.timetuple()) if first else None
    end = time.mktime((last + dt.timedelta(days=1)).timetuple()) if last else None
    return start, end


def find_photos(flt: PhotoFilter, offset: int = 0, limit: int = 50) -> PhotoPage:
    """One page of library photos matching `flt`, with the total; a few indexed queries."""
    query = _photo_query(flt).order_by(*_photo_order(flt.order))
    total = query.count()
    photos = m.rows_as_objects(query.offset(offset).limit(limit))
    ids = [int(p.id) for p in photos]
    counts, people = _faces_of(ids)
    return PhotoPage([_card(p, counts.get(p.id, {}), people.get(p.id, [])) for p in photos], total)


def _photo_query(flt: PhotoFilter) -> Any:
    if flt.mode not in PEOPLE_MODES:
        raise ValueError(f"mode must be one of {', '.join(PEOPLE_MODES)}")
    if flt.state is not None and flt.state not in m.PHOTO_STATES:
        raise ValueError(f"state must be one of {', '.join(m.PHOTO_STATES)}")
    query = m.Photo.select().where(m.Photo.kind != REFERENCE_KIND)
    if flt.people:
        query = query.where(_people_condition(sorted({person_id_of(p) for p in flt.people}), flt.mode))
    if flt.folder is not None:
        query = query.where(_folder_condition(flt.folder, flt.recursive))
    if flt.date_from is not None:
        query = query.where(m.Photo.mtime >= flt.date_from)
    if flt.date_to is not None:
        query = query.where(m.Photo.mtime < flt.date_to)
    for wanted, states in ((flt.has_unnamed_faces, UNNAMED_STATES), (flt.has_unknown_faces, (m.FaceState.UNKNOWN,))):
        if wanted is not None:
            # EXISTS per photo (index face(photo_id, state)): a page in date or path order stops
            # after `limit` photos instead of collecting every unnamed face of the library first
            face = m.Face.alias()
            having = pw.fn.EXISTS(face.select(face.id).where((face.photo == m.Photo.id) & face.state.in_(list(states))))
            query = query.where(having if wanted else ~having)
    if flt.state is not None:
        query = query.where(m.Photo.state == flt.state)
    if flt.has_error is not None:
        bad = m.Photo.state.in_(_FAILED) | m.Photo.write_error.is_null(False)
        query = query.where(bad if flt.has_error else ~bad)
    if flt.written is not None:
        query = query.where(m.Photo.written_signature.is_null(not flt.written))
    if flt.text:
        query = query.where(m.Photo.path.contains(flt.text))
    return query


def _people_condition(ids: list[int], mode: str) -> Any:
    """A person is in a photo by a confirmed face, or by a photo-level name (the photo's own tags
    name them on no face we know: PhotoName without a face)."""
    on_face = m.Face.select(m.Face.photo.alias("photo_id"), m.Face.person.alias("person_id")).where(
        m.Face.person.in_(ids)
    )
    by_tag = m.PhotoName.select(m.PhotoName.photo.alias("photo_id"), m.PhotoName.person.alias("person_id")).where(
        m.PhotoName.person.in_(ids) & m.PhotoName.face.is_null()
    )
    named = (on_face | by_tag).alias("named")
    photos = pw.Select([named], [named.c.photo_id])
    if mode == "any" or len(ids) == 1 and mode == "all":
        return m.Photo.id.in_(photos)
    together = photos.group_by(named.c.photo_id).having(pw.fn.COUNT(pw.SQL('DISTINCT "named"."person_id"')) == len(ids))
    condition = m.Photo.id.in_(together)
    if mode == "only":
        face, tag = m.Face.alias(), m.PhotoName.alias()
        other_face = face.select(face.id).where(
            (face.photo == m.Photo.id) & face.person.is_null(False) & face.person.not_in(ids)
        )
        other_tag = tag.select(tag.id).where((tag.photo == m.Photo.id) & tag.face.is_null() & tag.person.not_in(ids))
        condition &= ~pw.fn.EXISTS(other_face) & ~pw.fn.EXISTS(other_tag)
    return condition


def _folder_condition(folder: str, recursive: bool) -> Any:
    """Photos in a library folder (and its sub-folders); "" is the library's top folder."""
    prefix = clean_relative(folder, allow_empty=True)
    if not prefix:
        return pw.SQL("1 = 1") if recursive else ~m.Photo.path.contains("/")
    prefix += "/"
    inside = pw.fn.SUBSTR(m.Photo.path, 1, len(prefix)) == prefix
    return inside if recursive else inside & ~pw.fn.SUBSTR(m.Photo.path, len(prefix) + 1).contains("/")


def _photo_order(order: str) -> tuple[Any, ...]:
    fields: dict[str, Any] = {"path": m.Photo.path, "date": m.Photo.mtime, "size": m.Photo.size, "id": m.Photo.id}
    key = order.lstrip("-")
    if key not in fields:
        raise ValueError(f"order must be one of {', '.join(PHOTO_ORDERS)}, optionally with '-'")
    field = fields[key]
    return (field.desc() if order.startswith("-") else field.asc(), m.Photo.id)


def _faces_of(photo_ids: list[int]) -> tuple[dict[int, dict[str, int]], dict[int, list[PersonTag]]]:
    """Face counts by state and the confirmed people of a page of photos, in two indexed reads
    (by photo id: the state or person index would read every named face of the library)."""
    counts: dict[int, dict[str, int]] = {}
    named: dict[int, dict[int, bool]] = {}  # photo -> person -> on a face
    if photo_ids:
        query = m.Face.select(m.Face.photo, m.Face.state, m.Face.person).where(m.Face.photo.in_(photo_ids))
        for pid, state, person in m.rows(query):
            by_state = counts.setdefault(int(pid), {})
            by_state[str(state)] = by_state.get(str(state), 0) + 1
            if state == m.FaceState.CONFIRMED and person is not None:
                named.setdefault(int(pid), {})[int(person)] = True
        tags = m.PhotoName.select(m.PhotoName.photo, m.PhotoName.person).where(
            m.PhotoName.photo.in_(photo_ids) & m.PhotoName.face.is_null()
        )
        for pid, person in m.rows(tags):
            named.setdefault(int(pid), {}).setdefault(int(person), False)
    everyone = sorted({p for by_person in named.values() for p in by_person})
    names = dict(m.rows(m.Person.select(m.Person.id, m.Person.name).where(m.Person.id.in_(everyone or [0]))))
    people = {
        pid: sorted(
            (PersonTag(p, str(names[p]), on_face) for p, on_face in by_person.items() if p in names),
            key=lambda t: (t.name.casefold(), t.id),
        )
        for pid, by_person in named.items()
    }
    return counts, people


def _card(p: Any, counts: dict[str, int], people: list[PersonTag]) -> PhotoCard:
    width, height = oriented_size(p.width, p.height, p.orientation)
    return PhotoCard(
        id=p.id, path=p.path, kind=p.kind, format=p.format, size=p.size, width=width, height=height,
        orientation=p.orientation or 1, state=p.state, error=p.last_error, mtime=p.mtime,
        faces=sum(counts.values()), unknown_faces=counts.get(m.FaceState.UNKNOWN, 0),
        unnamed_faces=sum(counts.get(s, 0) for s in UNNAMED_STATES),
        confirmed_faces=counts.get(m.FaceState.CONFIRMED, 0), written=bool(p.written_signature),
        write_error=p.write_error, people=people,
    )  # fmt: skip


@dataclass(frozen=True)
class PhotoRef:
    id: int
    path: str


@dataclass(frozen=True)
class PhotoInfo(PhotoCard):
    """A photo with its faces (left to right) and everyone named on it."""

    face_list: list[FaceView]
    names: list[PhotoNameView]  # who is named on the photo, and where each name came from
    written_signature: str | None  # fingerprint of what was last written into the file
    twin: PhotoRef | None = None  # a RAW's JPEG twin: its faces are that photo's


def photo_detail(photo_id: int) -> PhotoInfo | None:
    """One photo of the library in detail; None when there is no such photo."""
    return _detail(m.Photo.get_or_none(m.Photo.id == photo_id))


def photo_detail_at(path: str) -> PhotoInfo | None:
    """The photo at a library-relative path, in detail; None when the library has none there."""
    return _detail(m.Photo.get_or_none(m.Photo.path == clean_relative(path)))


def _detail(photo: Any) -> PhotoInfo | None:
    if photo is None:
        return None
    counts, people = _faces_of([int(photo.id)])
    card = _card(photo, counts.get(photo.id, {}), people.get(photo.id, []))
    faces = face_views(faces_select().where(m.Face.photo == photo.id).order_by(m.Face.x, m.Face.id))
    twin = m.Photo.get_or_none(m.Photo.id == photo.faces_from) if photo.faces_from else None
    return PhotoInfo(
        **card.__dict__, face_list=faces, names=photo_names(photo.id), written_signature=photo.written_signature,
        twin=PhotoRef(int(twin.id), str(twin.path)) if twin is not None else None,
    )  # fmt: skip
