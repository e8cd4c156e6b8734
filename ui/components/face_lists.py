"""Read-only listings the pages show, one page at a time, as views (never peewee rows).

Why here: these are the paginated reads of the review screens; every change goes through the
services (faces_review, people). They compose `views.faces_select()` as views.py intends.
"""

from __future__ import annotations

from dataclasses import dataclass

import peewee as pw

from tagmyphotos.review.people import get_person, person_view
from tagmyphotos.store import models as m
from tagmyphotos.store.views import FaceView, PhotoNameView, SuggestionGroup, face_views, faces_select, photo_names

# "likely" before "maybe", then the most confident first: what a reviewer accepts fastest.
_BEST_FIRST = (pw.Case(None, [(m.Face.band == "likely", 0)], 1), m.Face.confidence.desc(), m.Face.id)


@dataclass(frozen=True)
class ReviewCounts:
    suggested: int
    likely: int
    people: int  # people with at least one suggestion
    unknown: int


@dataclass(frozen=True)
class ReviewSummary:
    """Counts and the order of the review page, from ONE grouped scan of the suggested faces."""

    counts: ReviewCounts
    order: list[tuple[int, int, int]]  # (person id, likely, all) — most likely faces first


def header_counts() -> tuple[int, int]:
    """(suggested, unknown) faces: two index-only counts, cheap enough for a timer."""
    count = lambda state: m.Face.select().where(m.Face.state == state).count()  # noqa: E731
    return count(m.FACE_SUGGESTED), count(m.FACE_UNKNOWN)


def review_summary() -> ReviewSummary:
    likely = pw.fn.SUM(pw.Case(None, [(m.Face.band == "likely", 1)], 0))
    total = pw.fn.COUNT(m.Face.id)
    rows = m.rows(
        m.Face.select(m.Face.suggested_person, likely, total)
        .where((m.Face.state == m.FACE_SUGGESTED) & m.Face.suggested_person.is_null(False))
        .group_by(m.Face.suggested_person)
    )
    order = sorted(((int(p), int(n or 0), int(t)) for p, n, t in rows), key=lambda r: (-r[1], -r[2], r[0]))
    unknown = m.Face.select().where(m.Face.state == m.FACE_UNKNOWN).count()
    counts = ReviewCounts(sum(r[2] for r in order), sum(r[1] for r in order), len(order), unknown)
    return ReviewSummary(counts, order)


def suggestion_groups(order: list[tuple[int, int, int]], per_group: int) -> list[SuggestionGroup]:
    """The groups of `order` (a slice of ReviewSummary.order), each with its best `per_group` faces."""
    groups = []
    for pid, n_likely, n_all in order:
        faces = face_views(
            faces_select()
            .where((m.Face.state == m.FACE_SUGGESTED) & (m.Face.suggested_person == pid))
            .order_by(*_BEST_FIRST)
            .limit(per_group)
        )
        groups.append(SuggestionGroup(person_view(get_person(pid)), faces, n_likely, n_all - n_likely))
    return groups


def suggested_for(person_id: int, offset: int, limit: int) -> tuple[list[FaceView], int]:
    where = (m.Face.state == m.FACE_SUGGESTED) & (m.Face.suggested_person == person_id)
    query = faces_select().where(where)
    return face_views(query.order_by(*_BEST_FIRST).offset(offset).limit(limit)), query.count()


def confirmed_of(person_id: int, offset: int, limit: int) -> tuple[list[FaceView], int]:
    where = (m.Face.state == m.FACE_CONFIRMED) & (m.Face.person == person_id)
    query = faces_select().where(where)
    order = (m.Face.quality.desc(), m.Face.id)
    return face_views(query.order_by(*order).offset(offset).limit(limit)), query.count()


def unknown_faces(offset: int, limit: int, clustered: bool = False) -> tuple[list[FaceView], int]:
    """Unknown faces outside any cluster (the leftovers after naming groups), best quality first."""
    where = m.Face.state == m.FACE_UNKNOWN
    where &= m.Face.cluster.is_null(False) if clustered else m.Face.cluster.is_null()
    query = faces_select().where(where)
    order = (m.Face.quality.desc(), m.Face.id)
    return face_views(query.order_by(*order).offset(offset).limit(limit)), query.count()


@dataclass(frozen=True)
class PhotoInfo:
    id: int
    path: str
    width: int  # as displayed (after EXIF orientation)
    height: int
    state: str
    error: str | None
    faces: list[FaceView]
    names: list[PhotoNameView]  # who is named on the photo, and where each name came from
    twin: tuple[int, str] | None = None  # a RAW's JPEG twin (id, path): its faces are that photo's


def photo_info(photo_id: int) -> PhotoInfo | None:
    photo = m.Photo.get_or_none(m.Photo.id == photo_id)
    if photo is None:
        return None
    swap = (photo.orientation or 1) >= 5
    width, height = (photo.height, photo.width) if swap else (photo.width, photo.height)
    faces = face_views(faces_select().where(m.Face.photo == photo_id).order_by(m.Face.x, m.Face.id))
    twin = m.Photo.get_or_none(m.Photo.id == photo.faces_from) if photo.faces_from else None
    return PhotoInfo(photo.id, photo.path, int(width or 0), int(height or 0), photo.state,
                     photo.last_error, faces, photo_names(photo_id),
                     (int(twin.id), str(twin.path)) if twin is not None else None)  # fmt: skip
