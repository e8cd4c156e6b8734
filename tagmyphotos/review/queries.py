"""Read side of the review: faces, suggestions grouped per person, rejections, photos by people.

Why apart from faces_review: the API and UI page through these many times per action; they
never write, so they need no transaction, journal or refresh.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from typing import Any

import peewee as pw

from tagmyphotos.library.paths import clean_relative
from tagmyphotos.library.scan import REFERENCE_KIND
from tagmyphotos.review.people import NotFound, find_person, get_person, person_view
from tagmyphotos.store import models as m
from tagmyphotos.store.views import ClusterView, FaceView, SuggestionGroup, face_views, faces_select
from tagmyphotos.suggest.clusters import list_clusters, outliers_among

BANDS = ("likely", "maybe")
ORDERS = ("quality", "confidence", "newest", "photo")


def get_face(face_id: int) -> FaceView:
    views = face_views(faces_select().where(m.Face.id == face_id))
    if not views:
        raise NotFound(f"no face with id {face_id}")
    return views[0]


def list_faces(
    *,
    state: str | None = None,
    person: int | str | None = None,
    suggested: int | str | None = None,
    band: str | None = None,
    photo_id: int | None = None,
    cluster: int | None = None,
    order: str = "quality",
    limit: int = 100,
    offset: int = 0,
) -> list[FaceView]:
    """Faces filtered by state, confirmed person, suggested person, band, photo or cluster."""
    if state is not None and state not in m.FACE_STATES:
        raise ValueError(f"state must be one of {', '.join(m.FACE_STATES)}")
    if band is not None and band not in BANDS:
        raise ValueError(f"band must be one of {', '.join(BANDS)}")
    query = faces_select()
    if state is not None:
        query = query.where(m.Face.state == state)
    if person is not None:
        query = query.where(m.Face.person == _person_id(person))
    if suggested is not None:
        query = query.where((m.Face.suggested_person == _person_id(suggested)) & (m.Face.state == m.FACE_SUGGESTED))
    if band is not None:
        query = query.where((m.Face.band == band) & (m.Face.state == m.FACE_SUGGESTED))
    if photo_id is not None:
        query = query.where(m.Face.photo == photo_id)
    if cluster is not None:
        query = query.where(m.Face.cluster == cluster)
    return face_views(query.order_by(*_order(order)).limit(limit).offset(offset))


def count_faces(state: str | None = None) -> int:
    query = m.Face.select()
    return (query.where(m.Face.state == state) if state else query).count()


def suggestion_groups(
    person: int | str | None = None,
    band: str | None = None,
    per_person: int = 200,
    include_hidden: bool = False,
) -> list[SuggestionGroup]:
    """Suggested faces per person (most suggestions first), most confident faces first."""
    if band is not None and band not in BANDS:
        raise ValueError(f"band must be one of {', '.join(BANDS)}")
    where = m.Face.state == m.FACE_SUGGESTED
    if person is not None:
        where &= m.Face.suggested_person == _person_id(person)
    counts: dict[int, dict[str, int]] = {}
    for pid, b, n in m.rows(
        m.Face.select(m.Face.suggested_person, m.Face.band, pw.fn.COUNT(m.Face.id))
        .where(where)
        .group_by(m.Face.suggested_person, m.Face.band)
    ):
        counts.setdefault(int(pid), {"likely": 0, "maybe": 0})[str(b)] = int(n)
    hidden = {int(i) for (i,) in m.rows(m.Person.select(m.Person.id).where(m.Person.hidden))}
    groups = []
    for pid in sorted(counts, key=lambda p: -(counts[p]["likely"] + counts[p]["maybe"])):
        if pid in hidden and not include_hidden:
            continue
        n = counts[pid]["likely"] if band == "likely" else counts[pid]["maybe"] if band == "maybe" else 1
        if n == 0:
            continue
        query = faces_select().where(where & (m.Face.suggested_person == pid))
        if band is not None:
            query = query.where(m.Face.band == band)
        faces = face_views(query.order_by(*_order("confidence")).limit(per_person))
        groups.append(SuggestionGroup(person_view(get_person(pid)), faces, counts[pid]["likely"], counts[pid]["maybe"]))
    return groups


def rejected_people(face_id: int) -> list[int]:
    """The people a face was rejected for (it is never suggested for them again)."""
    query = m.FaceRejection.select(m.FaceRejection.person).where(m.FaceRejection.face == face_id)
    return sorted(int(p) for (p,) in m.rows(query))


def _person_id(who: int | str) -> int:
    if isinstance(who, int):
        return int(get_person(who).id)
    found = find_person(who)
    if found is None:
        raise NotFound(f"no person named {who!r}")
    return int(found.id)


def _order(order: str) -> tuple[Any, ...]:
    if order == "quality":
        return (m.Face.quality.desc(), m.Face.id)
    if order == "confidence":
        return (m.Face.confidence.desc(), m.Face.id)
    if order == "newest":
        return (m.Face.id.desc(),)
    if order == "photo":
        return (m.Photo.path, m.Face.x)
    raise ValueError(f"order must be one of {', '.join(ORDERS)}")


# --- photos by people ----------------------------------------------------------------------------
PEOPLE_MODES = ("all", "any", "only")
PHOTO_ORDERS = ("path", "date", "size", "id")  # each also descending with a leading '-'
UNNAMED_STATES = (m.FACE_UNKNOWN, m.FACE_SUGGESTED)  # no confirmed name, not ignored
_FAILED = (m.PHOTO_FAILED, m.PHOTO_ERROR)


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
        query = query.where(_people_condition(sorted({_person_id(p) for p in flt.people}), flt.mode))
    if flt.folder is not None:
        query = query.where(_folder_condition(flt.folder, flt.recursive))
    if flt.date_from is not None:
        query = query.where(m.Photo.mtime >= flt.date_from)
    if flt.date_to is not None:
        query = query.where(m.Photo.mtime < flt.date_to)
    for wanted, states in ((flt.has_unnamed_faces, UNNAMED_STATES), (flt.has_unknown_faces, (m.FACE_UNKNOWN,))):
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
            if state == m.FACE_CONFIRMED and person is not None:
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
    swap = (p.orientation or 1) >= 5
    return PhotoCard(
        id=p.id, path=p.path, kind=p.kind, format=p.format, size=p.size,
        width=p.height if swap else p.width, height=p.width if swap else p.height,
        orientation=p.orientation or 1, state=p.state, error=p.last_error, mtime=p.mtime,
        faces=sum(counts.values()), unknown_faces=counts.get(m.FACE_UNKNOWN, 0),
        unnamed_faces=sum(counts.get(s, 0) for s in UNNAMED_STATES),
        confirmed_faces=counts.get(m.FACE_CONFIRMED, 0), written=bool(p.written_signature),
        write_error=p.write_error, people=people,
    )  # fmt: skip


@dataclass(frozen=True)
class ClusterChoice:
    """A group of unknown faces as the page offers it: the faces shown, and which of them look
    different from the rest (offered unselected, so the user sees what will be named)."""

    cluster: ClusterView
    outliers: frozenset[int]


def clusters_to_name(cfg: Any, limit: int, offset: int, sample: int) -> list[ClusterChoice]:
    """A page of groups, largest first, each with its best `sample` faces and their outliers."""
    found = list_clusters(limit, offset, sample)
    return [ClusterChoice(c, frozenset(outliers_among(cfg, [f.id for f in c.faces]))) for c in found]
