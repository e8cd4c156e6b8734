"""/keys: create, list and revoke API keys (the same as `tagmyphotos apikey ...`).

Every route here needs a full-scope caller, even to list: a read-only key must not learn
which other keys exist. A new key's secret is in the create response only; it is stored hashed.
DELETE revokes: the key stops working at once and, like any deleted resource, is then 404 at
GET /keys/{id}; the list shows revoked keys (with revoked_at) only when asked.
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from tagmyphotos.system import auth

from .deps import IdPath, Page, PageParams, page_params, require_full
from .errors import ProblemRoute
from .problems import ApiProblem, problem_responses
from .schemas import RequestBody

router = APIRouter(prefix="/keys", tags=["keys"], route_class=ProblemRoute, dependencies=[Depends(require_full)])


class ApiKeyOut(BaseModel):
    id: int
    name: str
    prefix: str = Field(description="the key's first characters, to recognise it; not secret")
    scope: str = Field(description="read (GET only) | full")
    created_at: str
    last_used_at: str | None = None
    revoked_at: str | None = None


class ApiKeyCreate(RequestBody):
    name: str = Field(
        min_length=1, max_length=100, examples=["backup script"],
        json_schema_extra={"pattern": r"^[^\x00]*[^\s\x00\x1c-\x1f\x85][^\x00]*$"},  # not only white space
    )  # fmt: skip
    scope: Literal["read", "full"] = "full"


class ApiKeyCreated(BaseModel):
    key: ApiKeyOut
    secret: str = Field(description="the key itself: shown this once, store it now")


@router.get("", response_model=Page[ApiKeyOut], summary="List API keys")
def list_keys(
    page: PageParams = Depends(page_params),
    include_revoked: bool = Query(False, description="also list revoked keys"),
) -> dict:
    keys = auth.list_api_keys(include_revoked=include_revoked)
    chunk = keys[page.offset : page.offset + page.limit]
    return {"items": [ApiKeyOut(**k.__dict__) for k in chunk], "total": len(keys),
            "limit": page.limit, "offset": page.offset}  # fmt: skip


@router.post(
    "", response_model=ApiKeyCreated, status_code=201, summary="Create an API key",
    responses=problem_responses(400, 422),
)  # fmt: skip
def create_key(body: ApiKeyCreate) -> ApiKeyCreated:
    info, secret = auth.create_api_key(body.name, body.scope)
    return ApiKeyCreated(key=ApiKeyOut(**info.__dict__), secret=secret)


@router.get(
    "/{key_id:int}", response_model=ApiKeyOut, summary="One API key (not revoked)",
    responses=problem_responses(404),
    description="A revoked key is gone here (404); GET /keys?include_revoked=true lists it with revoked_at.",
)  # fmt: skip
def get_key(key_id: IdPath) -> ApiKeyOut:
    info = auth.get_api_key(key_id)
    if info is None or info.revoked_at is not None:
        raise ApiProblem(404, f"no API key with id {key_id} (or it was revoked)", "not-found")
    return ApiKeyOut(**info.__dict__)


@router.delete(
    "/{key_id:int}", response_model=ApiKeyOut, summary="Revoke an API key",
    responses=problem_responses(404),
    description="The key stops working at once; the answer is the revoked key (with revoked_at). After "
    "that GET /keys/{key_id} is 404 and DELETE again is 404.",
)  # fmt: skip
def revoke_key(key_id: IdPath) -> ApiKeyOut:
    info = auth.revoke_api_key(key_id)
    if info is None:
        raise ApiProblem(404, f"no active API key with id {key_id}")
    return ApiKeyOut(**info.__dict__)
