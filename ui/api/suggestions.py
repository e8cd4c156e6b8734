"""/suggestions: suggested names grouped by person with confidence bands; accept or reject in bulk.

Also /review/undo: the last review action (of any kind) can be undone from a script too.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from tagmyphotos.core import Core
from tagmyphotos.review import confirm, suggested
from tagmyphotos.store.views import SuggestionGroup

from .deps import Page, PageParams, get_core, page_params
from .errors import ProblemRoute
from .faces import FaceIds
from .problems import ApiProblem, problem_responses
from .schemas import MAX_ID, FaceOut, Id, PersonOut, RequestBody, ReviewResultOut

router = APIRouter(tags=["suggestions"], route_class=ProblemRoute)


class SuggestionGroupOut(BaseModel):
    """The faces suggested for one person, likely before maybe, most confident first."""

    person: PersonOut
    likely: int = Field(description="suggestions in the 'likely' band (all pages)")
    maybe: int = Field(description="suggestions in the 'maybe' band (all pages)")
    faces: list[FaceOut] = Field(description="at most `per_person` faces")

    @classmethod
    def of(cls, group: SuggestionGroup) -> SuggestionGroupOut:
        return cls(person=PersonOut.of(group.person), likely=group.likely, maybe=group.maybe,
                   faces=[FaceOut.of(v) for v in group.faces])  # fmt: skip


class AcceptLikely(RequestBody):
    person_id: Id | None = Field(None, description="only this person's suggestions; omit for everybody")


class UndoOut(BaseModel):
    id: int
    kind: str
    label: str = Field(description="what undo would revert, in words")
    created_at: str | None


@router.get(
    "/suggestions", response_model=Page[SuggestionGroupOut], summary="Suggestions grouped by person",
    responses=problem_responses(404),
    description="Pages through people in the Review page's order: the most 'likely' suggestions first, "
    "then the most suggestions; each group holds that person's suggested faces, likely before maybe, "
    "the most confident first (or the best quality first with `order=quality`).",
)  # fmt: skip
def list_suggestions(
    page: PageParams = Depends(page_params),
    person_id: int | None = Query(None, ge=1, le=MAX_ID, description="only this person"),
    band: Literal["likely", "maybe"] | None = Query(None),
    per_person: int = Query(50, ge=1, le=500, description="faces per group"),
    include_hidden: bool = Query(False, description="include hidden people"),
    order: Literal["confidence", "quality"] = "confidence",
) -> dict[str, Any]:
    ranked = suggested.suggestion_counts(person_id, band, include_hidden)
    groups = suggested.suggestion_groups(ranked[page.offset : page.offset + page.limit], per_person, band, order)
    items = [SuggestionGroupOut.of(g) for g in groups]
    return {"items": items, "total": len(ranked), "limit": page.limit, "offset": page.offset}


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
    responses=problem_responses(409),
    description="409 when there is nothing to undo, or the change cannot be undone any more.",
)  # fmt: skip
def undo(core: Core = Depends(get_core)) -> ReviewResultOut:
    return ReviewResultOut.of(confirm.undo_last(core))
