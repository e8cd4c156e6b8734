"""/faces: list by state/person/cluster, one face, its thumbnail, and the review actions.

Every action takes one or many face ids and is ONE transaction in the service layer
(faces_review) with an undo entry; the answer says what changed, what was skipped and why.
"""

from __future__ import annotations

import os
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import ConfigDict, Field, model_validator

from tagmyphotos.core import Core
from tagmyphotos.library import paths
from tagmyphotos.review import confirm, mark, queries
from tagmyphotos.review.queries import FaceFilter

from .deps import IdPath, Page, PageParams, get_core, page_params
from .errors import ProblemRoute
from .problems import ApiProblem, problem_responses
from .schemas import MAX_ID, FaceOut, Id, PersonName, RequestBody, ReviewResultOut, at_most_one, exactly_one

router = APIRouter(prefix="/faces", tags=["faces"], route_class=ProblemRoute)

# Face ids per bulk action: a whole "likely" backlog of a big library fits in a few calls.
MAX_BULK_IDS = 10_000
THUMB_CACHE = "private, max-age=604800"


class FaceDetail(FaceOut):
    rejected_person_ids: list[int] = Field(description="people this face is never suggested for")


class FaceIds(RequestBody):
    face_ids: list[Id] = Field(min_length=1, max_length=MAX_BULK_IDS)


class Who(RequestBody):
    person_id: Id | None = Field(None, description="an existing person")
    name: PersonName | None = Field(None, description="a person's name (or old name); created when new")

    def who(self) -> int | str | None:
        return self.person_id if self.person_id is not None else self.name


class AssignFaces(FaceIds, Who):
    """Confirm faces as a person, given by id or by name (exactly one of the two)."""

    model_config = ConfigDict(json_schema_extra=exactly_one(("person_id", "integer"), ("name", "string")))

    @model_validator(mode="after")
    def _one(self) -> AssignFaces:
        if (self.person_id is None) == (self.name is None):
            raise ValueError("give exactly one of person_id and name")
        return self


class RejectFaces(FaceIds, Who):
    """Not this person, ever. Without a person: the face's current or suggested person."""

    model_config = ConfigDict(json_schema_extra=at_most_one("person_id", "name"))

    @model_validator(mode="after")
    def _at_most_one(self) -> RejectFaces:
        if self.person_id is not None and self.name is not None:
            raise ValueError("give person_id or name, not both")
        return self


def face_page(flt: FaceFilter, page: PageParams, order: str) -> dict[str, Any]:
    """One page of faces, as the face lists of the API answer it."""
    found = queries.find_faces(flt, order, page.offset, page.limit)
    return {"items": [FaceOut.of(v) for v in found.items], "total": found.total, "limit": page.limit,
            "offset": page.offset}  # fmt: skip


@router.get("", response_model=Page[FaceOut], summary="List faces")
def list_faces(
    page: PageParams = Depends(page_params),
    state: Literal["unknown", "suggested", "confirmed", "ignored"] | None = Query(None),
    person_id: int | None = Query(None, ge=1, le=MAX_ID, description="confirmed as this person"),
    suggested_person_id: int | None = Query(None, ge=1, le=MAX_ID, description="suggested as this person"),
    band: Literal["likely", "maybe"] | None = Query(None, description="suggestion band"),
    photo_id: int | None = Query(None, ge=1, le=MAX_ID),
    cluster: int | None = Query(None, ge=0, le=MAX_ID, description="unknown-face cluster"),
    min_quality: float | None = Query(None, ge=0, le=1),
    order: Literal["quality", "confidence", "newest", "oldest", "photo"] = "quality",
) -> dict[str, Any]:
    flt = FaceFilter(state, person_id, suggested_person_id, band, photo_id, cluster, min_quality=min_quality)
    return face_page(flt, page, order)


@router.get("/{face_id:int}", response_model=FaceDetail, summary="One face", responses=problem_responses(404))
def get_face(face_id: IdPath) -> FaceDetail:
    face = queries.get_face(face_id)
    return FaceDetail(**FaceOut.of(face).model_dump(), rejected_person_ids=queries.rejected_people(face_id))


@router.get(
    "/{face_id:int}/thumb", summary="The face's square JPEG thumbnail",
    response_class=Response, responses={200: {"content": {"image/jpeg": {}}}, **problem_responses(404)},
)  # fmt: skip
def face_thumb(face_id: IdPath, request: Request, core: Core = Depends(get_core)) -> Response:
    thumb = queries.thumb_of(face_id)
    if not thumb:
        raise ApiProblem(404, f"face {face_id} has no thumbnail (re-analyse its photo)")
    real = paths.resolve_inside(core.cfg.data, thumb)
    st = os.stat(real)
    etag = f'"{face_id}-{st.st_mtime_ns:x}-{st.st_size:x}"'
    headers = {"ETag": etag, "Cache-Control": THUMB_CACHE}
    if etag in [t.strip() for t in request.headers.get("if-none-match", "").split(",")]:
        return Response(status_code=304, headers=headers)
    return Response(real.read_bytes(), media_type="image/jpeg", headers=headers)


_ACTION_ERRORS = problem_responses(400, 404, 409, 422)


@router.post(
    "/confirm", response_model=ReviewResultOut, summary="Confirm faces as a person (by id or name)",
    responses=_ACTION_ERRORS,
    description="A new name creates the person. If the person is already confirmed on another face "
    "of the same photo, that face loses the name (`displaced`).",
)  # fmt: skip
def confirm_faces(body: AssignFaces, core: Core = Depends(get_core)) -> ReviewResultOut:
    who = body.person_id if body.person_id is not None else str(body.name)
    return ReviewResultOut.of(confirm.confirm(core, body.face_ids, who))


@router.post(
    "/reject", response_model=ReviewResultOut, summary="Not this person, ever (remembered per face)",
    responses=_ACTION_ERRORS,
)  # fmt: skip
def reject_faces(body: RejectFaces, core: Core = Depends(get_core)) -> ReviewResultOut:
    return ReviewResultOut.of(confirm.reject(core, body.face_ids, body.who()))


@router.post(
    "/ignore", response_model=ReviewResultOut, summary="Ignore faces (strangers, background)",
    responses=_ACTION_ERRORS,
)  # fmt: skip
def ignore_faces(body: FaceIds, core: Core = Depends(get_core)) -> ReviewResultOut:
    return ReviewResultOut.of(confirm.ignore(core, body.face_ids))


@router.post(
    "/unassign", response_model=ReviewResultOut, summary="Back to unknown (nothing remembered)",
    responses=_ACTION_ERRORS,
)  # fmt: skip
def unassign_faces(body: FaceIds, core: Core = Depends(get_core)) -> ReviewResultOut:
    return ReviewResultOut.of(confirm.unassign(core, body.face_ids))


@router.delete(
    "/{face_id:int}", response_model=ReviewResultOut, summary="Delete a face marked by hand",
    responses=_ACTION_ERRORS,
    description="Only faces marked by hand (source `manual`) can be deleted; a detected face would come back "
    "with the next analysis: ignore it instead (400). Undo with POST /review/undo.",
)  # fmt: skip
def delete_face(face_id: IdPath, core: Core = Depends(get_core)) -> ReviewResultOut:
    return ReviewResultOut.of(mark.remove_face(core, face_id))
