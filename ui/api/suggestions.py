"""/suggestions: suggested names grouped by person with confidence bands; accept or reject in bulk.

Also /review/undo: the last review action (of any kind) can be undone from a script too.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import peewee as pw
from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from tagmyphotos.core import Core
from tagmyphotos.review import confirm
from tagmyphotos.review.people import get_person, person_view
from tagmyphotos.store import models as m
from tagmyphotos.store.views import face_views

from .deps import MAX_ID, Page, PageParams, get_core, page_params
from .errors import ApiProblem, ProblemRoute, problem_responses
from .faces import FaceIds, face_where
from .schemas import FaceOut, PersonOut, ReviewResultOut, faces_query

router = APIRouter(tags=["suggestions"], route_class=ProblemRoute)

_ORDER = {"confidence": (m.Face.confidence.desc(), m.Face.id), "quality": (m.Face.quality.desc(), m.Face.id)}


class SuggestionGroupOut(BaseModel):
    """The faces suggested for one person, most confident first."""

    person: PersonOut
    likely: int = Field(description="suggestions in the 'likely' band (all pages)")
    maybe: int = Field(description="suggestions in the 'maybe' band (all pages)")
    faces: list[FaceOut] = Field(description="at most `per_person` faces")


class AcceptLikely(BaseModel):
    person_id: Annotated[int, Field(ge=1, le=MAX_ID)] | None = Field(
        None, description="only this person's suggestions; omit for everybody"
    )


class UndoOut(BaseModel):
    id: int
    kind: str
    label: str = Field(description="what undo would revert, in words")
    created_at: str | None


def _counts(person_id: int | None, band: str | None, include_hidden: bool) -> dict[int, dict[str, int]]:
    where = m.Face.state == m.FACE_SUGGESTED
    if person_id is not None:
        where &= m.Face.suggested_person == person_id
    if not include_hidden:
        where &= m.Face.suggested_person.not_in(m.Person.select(m.Person.id).where(m.Person.hidden))
    query = (
        m.Face.select(m.Face.suggested_person, m.Face.band, pw.fn.COUNT(m.Face.id))
        .where(where)
        .group_by(m.Face.suggested_person, m.Face.band)
    )
    counts: dict[int, dict[str, int]] = {}
    for pid, b, n in m.rows(query):
        counts.setdefault(int(pid), {"likely": 0, "maybe": 0})[str(b)] = int(n)
    if band is not None:
        counts = {pid: c for pid, c in counts.items() if c[band] > 0}
    return counts


@router.get(
    "/suggestions", response_model=Page[SuggestionGroupOut], summary="Suggestions grouped by person",
    description="Pages through people (most suggestions first); each group holds that person's "
    "suggested faces, most confident first.",
)  # fmt: skip
def list_suggestions(
    page: PageParams = Depends(page_params),
    person_id: int | None = Query(None, ge=1, le=MAX_ID, description="only this person"),
    band: Literal["likely", "maybe"] | None = Query(None),
    per_person: int = Query(50, ge=1, le=500, description="faces per group"),
    include_hidden: bool = Query(False, description="include hidden people"),
    order: Literal["confidence", "quality"] = "confidence",
) -> dict[str, Any]:
    if person_id is not None:
        get_person(person_id)
    counts = _counts(person_id, band, include_hidden)
    ranked = sorted(counts, key=lambda p: (-(counts[p]["likely"] + counts[p]["maybe"]), p))
    groups = []
    for pid in ranked[page.offset : page.offset + page.limit]:
        where = face_where(suggested_person_id=pid, band=band)
        query = faces_query().where(where).order_by(*_ORDER[order]).limit(per_person)
        groups.append(
            SuggestionGroupOut(
                person=PersonOut.of(person_view(get_person(pid))),
                likely=counts[pid]["likely"],
                maybe=counts[pid]["maybe"],
                faces=[FaceOut.of(v) for v in face_views(query)],
            )  # fmt: skip
        )
    return {"items": groups, "total": len(ranked), "limit": page.limit, "offset": page.offset}


@router.post(
    "/suggestions/accept", response_model=ReviewResultOut, summary="Accept suggestions (by face id)",
    responses=problem_responses(404, 422),
    description="Each face is confirmed as its suggested person; faces without a suggestion, or "
    "whose person is already confirmed in the same photo, are skipped with a reason.",
)  # fmt: skip
def accept(body: FaceIds, core: Core = Depends(get_core)) -> ReviewResultOut:
    return ReviewResultOut.of(confirm.accept_suggestions(core, body.face_ids))


@router.post(
    "/suggestions/accept-likely", response_model=ReviewResultOut,
    summary="Accept every 'likely' suggestion (of one person, or everybody)",
    responses=problem_responses(404),
)  # fmt: skip
def accept_likely(body: AcceptLikely, core: Core = Depends(get_core)) -> ReviewResultOut:
    return ReviewResultOut.of(confirm.accept_likely(core, body.person_id))


@router.post(
    "/suggestions/reject", response_model=ReviewResultOut,
    summary="Reject suggestions (the face is never suggested for that person again)",
    responses=problem_responses(404, 422),
)  # fmt: skip
def reject(body: FaceIds, core: Core = Depends(get_core)) -> ReviewResultOut:
    return ReviewResultOut.of(confirm.reject(core, body.face_ids))


@router.get(
    "/review/undo", response_model=UndoOut, summary="The review action undo would revert",
    responses=problem_responses(404),
)  # fmt: skip
def last_undo() -> UndoOut:
    entry = confirm.last_undo()
    if entry is None:
        raise ApiProblem(404, "nothing to undo")
    return UndoOut(id=entry.id, kind=entry.kind, label=entry.label, created_at=entry.created_at)


@router.post(
    "/review/undo", response_model=ReviewResultOut, summary="Undo the last review action",
    responses=problem_responses(400, 409),
)  # fmt: skip
def undo(core: Core = Depends(get_core)) -> ReviewResultOut:
    return ReviewResultOut.of(confirm.undo_last(core))
