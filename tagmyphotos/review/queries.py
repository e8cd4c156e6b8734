"""Read side of the review, faces: one filter and one set of orders for every list of faces.

Why apart from confirm/mark: the pages, the API and the CLI page through these many times per
action; they never write, so they need no transaction, journal or refresh. The Review page,
GET /faces, GET /people/{id}/faces and the person page all list faces through `find_faces`, so a
face is in the same place of a list wherever it is shown. Suggestions grouped per person are in
`review/suggested.py`, photos in `review/photos.py`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import peewee as pw

from tagmyphotos.review.people import NotFound, person_id_of
from tagmyphotos.states import MatchBand
from tagmyphotos.store import models as m
from tagmyphotos.store import tally
from tagmyphotos.store.views import ClusterView, FaceView, face_views, faces_select
from tagmyphotos.suggest.clusters import count_clusters, list_clusters, outliers_among

BANDS = tuple(MatchBand)  # for membership tests (3.11: `"x" in MatchBand` raises)
# "confidence": likely before maybe, then the most confident first: what a reviewer accepts
# fastest (the band follows the confidence, so within a band this is simply the most confident).
FACE_ORDERS: dict[str, tuple[Any, ...]] = {
    "quality": (m.Face.quality.desc(), m.Face.id),
    "confidence": (pw.Case(None, [(m.Face.band == MatchBand.LIKELY, 0)], 1), m.Face.confidence.desc(), m.Face.id),
    "newest": (m.Face.id.desc(),),
    "oldest": (m.Face.id,),
    "photo": (m.Photo.path, m.Face.x, m.Face.id),
}


@dataclass(frozen=True)
class FaceFilter:
    """Which faces a list shows (None: no condition; all conditions together).

    person: confirmed as this person; suggested: suggested (and still unconfirmed) for this
    person; a person by id or by name. clustered: True only faces in a group of look-alikes,
    False only faces in none."""

    state: str | None = None
    person: int | str | None = None
    suggested: int | str | None = None
    band: str | None = None
    photo_id: int | None = None
    cluster: int | None = None
    clustered: bool | None = None
    min_quality: float | None = None


@dataclass(frozen=True)
class FacePage:
    items: list[FaceView]
    total: int


@dataclass(frozen=True)
class HeaderCounts:
    """What the header shows on every page: faces waiting for a decision."""

    suggested: int
    unknown: int


def face_condition(flt: FaceFilter) -> Any:
    """`flt` as one condition on the face table alone (counted without a join)."""
    if flt.state is not None and flt.state not in m.FACE_STATES:
        raise ValueError(f"state must be one of {', '.join(m.FACE_STATES)}")
    if flt.band is not None and flt.band not in BANDS:
        raise ValueError(f"band must be one of {', '.join(BANDS)}")
    where = m.Face.id.is_null(False)
    if flt.state is not None:
        where &= m.Face.state == flt.state
    if flt.person is not None:
        where &= (m.Face.person == _person_key(flt.person)) & (m.Face.state == m.FaceState.CONFIRMED)
    if flt.suggested is not None:
        where &= (m.Face.suggested_person == _person_key(flt.suggested)) & (m.Face.state == m.FaceState.SUGGESTED)
    if flt.band is not None:
        where &= (m.Face.band == flt.band) & (m.Face.state == m.FaceState.SUGGESTED)
    if flt.photo_id is not None:
        where &= m.Face.photo == flt.photo_id
    if flt.cluster is not None:
        where &= m.Face.cluster == flt.cluster
    if flt.clustered is not None:
        where &= m.Face.cluster.is_null(not flt.clustered)
    if flt.min_quality is not None:
        where &= m.Face.quality >= flt.min_quality
    return where


def _person_key(who: int | str) -> int:
    """An id as given (no such person: an empty list), a name resolved (unknown: NotFound)."""
    return who if isinstance(who, int) else person_id_of(who)


def face_order(order: str) -> tuple[Any, ...]:
    if order not in FACE_ORDERS:
        raise ValueError(f"order must be one of {', '.join(FACE_ORDERS)}")
    return FACE_ORDERS[order]


def list_faces(flt: FaceFilter, order: str = "quality", offset: int = 0, limit: int = 100) -> list[FaceView]:
    """One page of the faces `flt` selects, in `order` (a key of FACE_ORDERS).

    The page's ids are chosen on the face table alone (an index covers the Review's order), then
    only those rows are read, with their photo: not every matching row before the sort."""
    keys = face_order(order)
    if order == "photo":  # sorted by the photo's path: the join is needed to choose the page
        return face_views(faces_select().where(face_condition(flt)).order_by(*keys).offset(offset).limit(limit))
    page = m.Face.select(m.Face.id).where(face_condition(flt)).order_by(*keys).offset(offset).limit(limit)
    return face_views(faces_select().where(m.Face.id.in_(page)).order_by(*keys))


def find_faces(flt: FaceFilter, order: str = "quality", offset: int = 0, limit: int = 100) -> FacePage:
    """One page of faces and how many there are in all (kept by the tally when the filter is
    one of its keys, else counted on the face table, no join)."""
    items = list_faces(flt, order, offset, limit)
    total = count_matching(flt)
    return FacePage(items, total)


def count_matching(flt: FaceFilter) -> int:
    """How many faces `flt` selects: from the tally (store/tally.py) unless it filters by photo,
    group or quality, which only the face table knows."""
    if flt.photo_id is not None or flt.cluster is not None or flt.min_quality is not None:
        return int(m.Face.select(m.Face.id).where(face_condition(flt)).count())
    states = {s for s in (flt.state,) if s is not None}
    states |= {m.FaceState.CONFIRMED} if flt.person is not None else set()
    states |= {m.FaceState.SUGGESTED} if flt.suggested is not None or flt.band is not None else set()
    people = {_person_key(p) for p in (flt.person, flt.suggested) if p is not None}
    if len(states) > 1 or len(people) > 1:
        return 0  # two states (or two people) at once: no face is both
    return tally.count(next(iter(states), None), next(iter(people), None), flt.band, flt.clustered)


def get_face(face_id: int) -> FaceView:
    views = face_views(faces_select().where(m.Face.id == face_id))
    if not views:
        raise NotFound(f"no face with id {face_id}")
    return views[0]


def thumb_of(face_id: int) -> str | None:
    """A face's thumbnail, relative to the data folder (one indexed read: served per tile)."""
    found = m.rows(m.Face.select(m.Face.thumb).where(m.Face.id == face_id))
    if not found:
        raise NotFound(f"no face with id {face_id}")
    return found[0][0]


def header_counts() -> HeaderCounts:
    """Suggested and unknown faces, from the tally: one read of a few hundred rows."""
    per_state = tally.per_state()
    return HeaderCounts(per_state.get(m.FaceState.SUGGESTED, 0), per_state.get(m.FaceState.UNKNOWN, 0))


def count_faces(state: str | None = None) -> int:
    """Faces in `state` (all faces: None), from the tally: no scan of the face table."""
    per_state = tally.per_state()
    return per_state.get(state, 0) if state is not None else sum(per_state.values())


def rejected_people(face_id: int) -> list[int]:
    """The people a face was rejected for (it is never suggested for them again)."""
    query = m.FaceRejection.select(m.FaceRejection.person).where(m.FaceRejection.face == face_id)
    return sorted(int(p) for (p,) in m.rows(query))


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


@dataclass(frozen=True)
class UnnamedWork:
    """What is still unnamed: groups of look-alikes to name, and unknown faces in all (the
    Review page points there before it offers to write)."""

    groups: int
    faces: int


def unnamed_work() -> UnnamedWork:
    return UnnamedWork(count_clusters(), count_faces(m.FaceState.UNKNOWN))


def count_clusters_to_name() -> int:
    """How many groups `clusters_to_name` pages through (for "page 2 of 5")."""
    return count_clusters()
