"""/people: list with counts and cover face; create, rename, hide, set cover, merge, delete; faces.

All changes go through tagmyphotos.review.people (one transaction each, with undo, counts and covers
kept right); renames keep the old name as an alias so imports still match it.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import ConfigDict, Field, StrictBool

from tagmyphotos.core import Core
from tagmyphotos.review import people
from tagmyphotos.review.queries import FaceFilter
from tagmyphotos.states import FaceState

from .deps import IdPath, Page, PageParams, get_core, page_params
from .errors import ProblemRoute
from .faces import face_page
from .problems import ApiProblem, problem_responses
from .schemas import TEXT_PATTERN, FaceOut, Id, PersonName, PersonOut, RequestBody, ReviewResultOut, at_least_one

router = APIRouter(prefix="/people", tags=["people"], route_class=ProblemRoute)

_SORT = {
    "name": lambda p: (p.name.casefold(), p.id),
    "face_count": lambda p: (p.face_count, p.id),
    "suggestions": lambda p: (p.likely + p.maybe, p.id),
    "created": lambda p: (p.created_at or "", p.id),
}


class PersonCreate(RequestBody):
    name: PersonName = Field(examples=["Marie Curie"])


class PersonChange(RequestBody):
    """Any of: a new name (the old one stays as an alias), hidden, a cover face."""

    model_config = ConfigDict(
        json_schema_extra=at_least_one(
            ("name", {"type": "string"}), ("hidden", {"type": "boolean"}), ("ask_first", {"type": "boolean"}),
            ("cover_face_id", {"type": "integer"}),
        )
    )

    name: PersonName | None = None
    hidden: StrictBool | None = Field(None, description="hidden people get no new suggestions")
    ask_first: StrictBool | None = Field(None, description="always ask me: never named without a click (twins)")
    cover_face_id: Id | None = Field(None, description="one of their confirmed faces")


class PersonMerge(RequestBody):
    source_ids: list[Id] = Field(
        min_length=1, max_length=100, description="people merged INTO this one (they are removed; not this one)"
    )


@router.get("", response_model=Page[PersonOut], summary="List people with counts and cover face")
def list_people(
    page: PageParams = Depends(page_params),
    include_hidden: bool = Query(True),
    q: str | None = Query(
        None, max_length=200, description="text in the name or an old name", json_schema_extra={"pattern": TEXT_PATTERN}
    ),
    order: Literal[
        "name", "-name", "face_count", "-face_count", "suggestions", "-suggestions", "created", "-created"
    ] = "name",
) -> dict[str, Any]:
    views = people.list_people(include_hidden=include_hidden, search=q or None)
    views.sort(key=_SORT[order.lstrip("-")], reverse=order.startswith("-"))
    chunk = views[page.offset : page.offset + page.limit]
    return {"items": [PersonOut.of(v) for v in chunk], "total": len(views),
            "limit": page.limit, "offset": page.offset}  # fmt: skip


@router.post(
    "", response_model=PersonOut, status_code=201, summary="Create a person",
    responses=problem_responses(400, 409),
)  # fmt: skip
def create_person(body: PersonCreate, core: Core = Depends(get_core)) -> PersonOut:
    return PersonOut.of(people.create_person(core, body.name))


@router.get("/{person_id:int}", response_model=PersonOut, summary="One person", responses=problem_responses(404))
def get_person(person_id: IdPath) -> PersonOut:
    return PersonOut.of(people.person_view(people.get_person(person_id)))


@router.patch(
    "/{person_id:int}", response_model=PersonOut, summary="Rename, hide/show, always ask, or set the cover face",
    responses=problem_responses(404, 409),
)  # fmt: skip
def change_person(person_id: IdPath, body: PersonChange, core: Core = Depends(get_core)) -> PersonOut:
    if body.name is None and body.hidden is None and body.cover_face_id is None and body.ask_first is None:
        raise ApiProblem(400, "nothing to change: send name, hidden, ask_first and/or cover_face_id")
    view = people.person_view(people.get_person(person_id))
    if body.name is not None:
        view = people.rename_person(core, person_id, body.name)
    if body.hidden is not None:
        view = people.set_hidden(core, person_id, body.hidden)
    if body.ask_first is not None:
        view = people.set_ask_first(core, person_id, body.ask_first)
    if body.cover_face_id is not None:
        view = people.set_cover(core, person_id, body.cover_face_id)
    return PersonOut.of(view)


@router.delete(
    "/{person_id:int}", response_model=ReviewResultOut, summary="Delete a person (faces back to unknown)",
    responses=problem_responses(404),
)  # fmt: skip
def delete_person(person_id: IdPath, core: Core = Depends(get_core)) -> ReviewResultOut:
    return ReviewResultOut.of(people.delete_person(core, person_id))


@router.post(
    "/{person_id:int}/merge", response_model=ReviewResultOut, summary="Merge other people into this one",
    responses=problem_responses(404, 409),
    description="Their faces move here and their names become this person's aliases. 409 when the "
    "person is among `source_ids`.",
)  # fmt: skip
def merge_people(person_id: IdPath, body: PersonMerge, core: Core = Depends(get_core)) -> ReviewResultOut:
    if person_id in body.source_ids:
        raise ApiProblem(409, "a person cannot be merged into themselves", "conflict")
    return ReviewResultOut.of(people.merge_people(core, body.source_ids, person_id))


@router.get(
    "/{person_id:int}/faces", response_model=Page[FaceOut], summary="A person's faces",
    responses=problem_responses(404),
)  # fmt: skip
def person_faces(
    person_id: IdPath,
    page: PageParams = Depends(page_params),
    state: Literal["confirmed", "suggested"] = Query("confirmed", description="confirmed, or suggested"),
    band: Literal["likely", "maybe"] | None = Query(None, description="for suggested faces"),
    order: Literal["quality", "confidence", "newest", "oldest", "photo"] = "quality",
) -> dict[str, Any]:
    people.get_person(person_id)
    flt = FaceFilter(person=person_id) if state == FaceState.CONFIRMED else FaceFilter(suggested=person_id, band=band)
    return face_page(flt, page, order)
