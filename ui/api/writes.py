"""/writes: the audit log of every metadata write (what, where, hashes, backup, result).

Starting a write or a restore is a job (POST /jobs with type "write" or "restore" once those
stages exist); this resource is the record of what those jobs did to each file.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from tagmyphotos import models as m
from tagmyphotos import paths

from .deps import MAX_ID, IdPath, Page, PageParams, order_by, page_params, paginate
from .errors import ApiProblem, ProblemRoute, problem_responses

router = APIRouter(prefix="/writes", tags=["writes"], route_class=ProblemRoute)


class WriteAuditOut(BaseModel):
    """One write attempt on one file."""

    id: int
    job_id: int | None
    photo_id: int | None
    path: str = Field(description="the photo, library-relative")
    mode: str = Field(description="in-file | sidecar | dry-run | restore")
    target: str | None = Field(None, description="the file actually written (the sidecar for sidecars)")
    result: str = Field(description="ok | failed | restored | skipped")
    error: str | None
    note: str | None
    tags: dict | list | None = Field(None, description="what was written")
    backup_path: str | None = Field(None, description="the backup taken before the write")
    hash_before: str | None
    hash_after: str | None
    created_at: str


def audit_out(a: Any) -> WriteAuditOut:
    return WriteAuditOut(
        id=a.id, job_id=a.job_id, photo_id=a.photo_id, path=a.path, mode=a.mode, target=a.target,
        result=a.result, error=a.error, note=a.note, tags=a.tags, backup_path=a.backup_path,
        hash_before=a.hash_before, hash_after=a.hash_after, created_at=a.created_at.isoformat() + "Z",
    )  # fmt: skip


@router.get("/audit", response_model=Page[WriteAuditOut], summary="The write audit log, newest first")
def audit_log(
    page: PageParams = Depends(page_params),
    result: Literal["ok", "failed", "restored", "skipped"] | None = Query(None),
    mode: Literal["in-file", "sidecar", "dry-run", "restore"] | None = Query(None),
    photo_id: int | None = Query(None, ge=1, le=MAX_ID),
    job_id: int | None = Query(None, ge=1, le=MAX_ID),
    path: str | None = Query(None, max_length=4096, description="this photo's library-relative path"),
    order: Literal["id", "-id"] = "-id",
) -> dict[str, Any]:
    query = m.WriteAudit.select()
    if result:
        query = query.where(m.WriteAudit.result == result)
    if mode:
        query = query.where(m.WriteAudit.mode == mode)
    if photo_id is not None:
        query = query.where(m.WriteAudit.photo == photo_id)
    if job_id is not None:
        query = query.where(m.WriteAudit.job == job_id)
    if path is not None:
        query = query.where(m.WriteAudit.path == paths.clean_relative(path))
    query = query.order_by(*order_by(m.WriteAudit, order, {"id": m.WriteAudit.id}))
    return paginate(query, page, audit_out)


@router.get(
    "/audit/{audit_id}", response_model=WriteAuditOut, summary="One write attempt",
    responses=problem_responses(404),
)  # fmt: skip
def audit_entry(audit_id: IdPath) -> WriteAuditOut:
    row = m.WriteAudit.get_or_none(m.WriteAudit.id == audit_id)
    if row is None:
        raise ApiProblem(404, f"no write audit entry {audit_id}")
    return audit_out(row)
