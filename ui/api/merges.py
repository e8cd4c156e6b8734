"""/people/merge-suggestions: people who are probably one person named twice; merge or keep apart.

The suggestions, the merge and the remembered "different people" are tagmyphotos.review.merges;
this router only maps them to the documented API shapes.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from tagmyphotos import tuning
from tagmyphotos.core import Core
from tagmyphotos.review import merges
from tagmyphotos.review.people import NotFound, get_person, person_view

from .deps import IdPath, Page, PageParams, get_core, page_params
from .errors import ProblemRoute
from .problems import problem_responses
from .schemas import FaceOut, Id, PersonOut, RequestBody, ReviewResultOut

router = APIRouter(prefix="/people/merge-suggestions", tags=["merge-suggestions"], route_class=ProblemRoute)


class MergeSuggestionOut(BaseModel):
    """Two people whose faces are close: probably one person named twice."""

    a: PersonOut = Field(description="the one with more faces (the default merge target)")
    b: PersonOut
    distance: float = Field(description="between the centroids of their confirmed faces")
    closest_distance: float = Field(description="between their two nearest faces")
    threshold: float = Field(description="pairs up to this distance are suggested")
    model: str = Field(description="the embedding model the faces were compared in")
    faces_a: list[FaceOut] = Field(description="evidence: a's face nearest to b first, then a's best")
    faces_b: list[FaceOut]

    @classmethod
    def of(cls, s: merges.MergeSuggestion) -> MergeSuggestionOut:
        return cls(
            a=PersonOut.of(s.a), b=PersonOut.of(s.b), distance=s.distance, closest_distance=s.closest_distance,
            threshold=s.threshold, model=s.model, faces_a=[FaceOut.of(f) for f in s.faces_a],
            faces_b=[FaceOut.of(f) for f in s.faces_b],
        )  # fmt: skip


class PairIn(RequestBody):
    person_ids: list[Id] = Field(
        min_length=2, max_length=2, json_schema_extra={"uniqueItems": True}, description="the two (different) people"
    )


class MergePairIn(PairIn):
    into: Id | None = Field(
        None, description="which of the two keeps the faces (default: more faces); another id is a 409"
    )


class PairOut(BaseModel):
    a: PersonOut
    b: PersonOut


@router.get(
    "", response_model=Page[MergeSuggestionOut], summary="People who are probably one person",
    description="Pairs of people whose confirmed faces are close, closest first, with a few faces of each "
    "as evidence. Merge one with POST /people/merge-suggestions/merge; answer POST .../different to never "
    "see the pair again. Hidden people are left out.",
)  # fmt: skip
def list_suggestions(
    page: PageParams = Depends(page_params),
    faces: int = Query(tuning.MERGE_EVIDENCE_FACES, ge=1, le=20, description="evidence faces per person"),
    core: Core = Depends(get_core),
) -> dict[str, Any]:
    found, total = merges.merge_suggestions(core, page.offset, page.limit, faces)
    return {"items": [MergeSuggestionOut.of(s) for s in found], "total": total,
            "limit": page.limit, "offset": page.offset}  # fmt: skip


@router.post(
    "/merge", response_model=ReviewResultOut, summary="Merge a suggested pair in one action",
    responses=problem_responses(404, 409),
    description="The faces of one move to the other (`into`, else the one with more faces); the removed "
    "name becomes an alias. Undo with POST /review/undo.",
)  # fmt: skip
def merge_pair(body: MergePairIn, core: Core = Depends(get_core)) -> ReviewResultOut:
    first, second = body.person_ids
    return ReviewResultOut.of(merges.merge_pair(core, first, second, body.into))


@router.post(
    "/different", response_model=PairOut, status_code=201, summary="These two are different people",
    responses=problem_responses(404, 409),
    description="Remembered: the pair is never suggested for a merge again.",
)  # fmt: skip
def mark_different(body: PairIn, core: Core = Depends(get_core)) -> PairOut:
    a, b = merges.mark_different(core, *body.person_ids)
    return _pair_out(a, b)


@router.get("/different", response_model=Page[PairOut], summary="Pairs answered 'different people'")
def list_different(page: PageParams = Depends(page_params)) -> dict[str, Any]:
    pairs, total = merges.different_pairs(page.offset, page.limit)
    items = [PairOut(a=PersonOut.of(a), b=PersonOut.of(b)) for a, b in pairs]
    return {"items": items, "total": total, "limit": page.limit, "offset": page.offset}


@router.delete(
    "/different/{person_id:int}/{other_id:int}", response_model=PairOut, summary="Forget a 'different people' answer",
    responses=problem_responses(400, 404),
)  # fmt: skip
def forget_different(person_id: IdPath, other_id: IdPath, core: Core = Depends(get_core)) -> PairOut:
    if person_id == other_id or not merges.forget_different(core, person_id, other_id):
        raise NotFound(f"people {person_id} and {other_id} were not marked as different")
    return _pair_out(person_id, other_id)


def _pair_out(a: int, b: int) -> PairOut:
    return PairOut(a=PersonOut.of(person_view(get_person(a))), b=PersonOut.of(person_view(get_person(b))))
