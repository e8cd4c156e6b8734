"""Read side of the review: faces, suggestions grouped per person, rejections (views only).

Why apart from faces_review: the API and UI page through these many times per action; they
never write, so they need no transaction, journal or refresh.
"""

from __future__ import annotations

from typing import Any

import peewee as pw

from tagmyphotos.review.people import NotFound, find_person, get_person, person_view
from tagmyphotos.store import models as m
from tagmyphotos.store.views import FaceView, SuggestionGroup, face_views, faces_select

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
