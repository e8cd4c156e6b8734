"""/writes: preview what a write would change, start a write or a restore, read the audit log.

A write and a restore are jobs (the same as POST /jobs), so a request never waits for exiftool
on thousands of files. The preview runs exiftool in dry-run on a few files, always on one
dedicated thread: the API then holds at most one exiftool process, whatever its thread pool.
"""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictBool, field_validator, model_validator

from jobs.tasks import start_job
from tagmyphotos.core import Core
from tagmyphotos.library import paths
from tagmyphotos.stages.restore import usable_since
from tagmyphotos.stages.write import preview
from tagmyphotos.store import models as m

from .deps import IdPath, Page, PageParams, get_core, order_by, page_params, paginate
from .errors import ProblemRoute
from .jobs import JobOut, job_out
from .problems import ApiProblem, problem_responses
from .schemas import MAX_ID, PATH_PATTERN, ClientPath, RequestBody, at_least_one

router = APIRouter(prefix="/writes", tags=["writes"], route_class=ProblemRoute)

# Files a preview may dry-run in one request (each costs one exiftool read, ~20-50 ms).
MAX_PREVIEW_FILES = 200
MAX_WRITE_PATHS = 10_000
_preview_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="api-write-preview")


def _text(value: Any) -> Any:
    """A time is sent as text (RFC 3339); a bare number is not read as seconds since 1970."""
    if not isinstance(value, (str, dt.datetime)):
        raise ValueError("give a time as text, e.g. 2024-05-01T00:00:00Z")
    return value


TimeText = Annotated[dt.datetime, BeforeValidator(_text)]


class TagChangeOut(BaseModel):
    tag: str = Field(description="the metadata tag, e.g. XMP-iptcExt:PersonInImage")
    before: list[str]
    after: list[str]


class FilePreviewOut(BaseModel):
    path: str
    mode: str = Field(description="in-file | sidecar (where the names would go)")
    note: str = ""
    error: str | None = Field(None, description="why this file cannot be written")
    changes: list[TagChangeOut]


class WritePreviewOut(BaseModel):
    total: int = Field(description="files a write would change")
    files: list[FilePreviewOut] = Field(description="the first `limit` of them, with their changes")


def _clean(paths_in: list[str] | None) -> list[str]:
    return [paths.clean_relative(p) for p in paths_in or []]


class WriteStart(RequestBody):
    paths: list[ClientPath] = Field(
        default_factory=list, max_length=MAX_WRITE_PATHS, description="only these photos (default: all that changed)"
    )
    dry_run: StrictBool = Field(False, description="record what would change in the audit log; write nothing")

    @field_validator("paths")
    @classmethod
    def _safe(cls, value: list[str]) -> list[str]:
        return _clean(value)


class RestoreStart(RequestBody):
    """Put back the original files: name paths, or `all`, or `since` a time."""

    model_config = ConfigDict(
        json_schema_extra=at_least_one(
            ("paths", {"type": "array", "minItems": 1}), ("all", {"const": True}), ("since", {"type": "string"})
        )
    )

    paths: list[ClientPath] = Field(default_factory=list, max_length=MAX_WRITE_PATHS)
    all: StrictBool = Field(False, description="every file ever written")
    since: TimeText | None = Field(
        None, description="files first written at or after this time (no zone: the server's local time)"
    )

    @field_validator("paths")
    @classmethod
    def _safe(cls, value: list[str]) -> list[str]:
        return _clean(value)

    @field_validator("since")
    @classmethod
    def _usable(cls, value: dt.datetime | None) -> dt.datetime | None:
        return None if value is None else usable_since(value)

    @model_validator(mode="after")
    def _something(self) -> RestoreStart:
        if not (self.paths or self.all or self.since):
            raise ValueError("name paths, or set all, or give since")
        return self


@router.get(
    "/preview", response_model=WritePreviewOut, summary="What a write would change, per file",
    responses=problem_responses(400),
)  # fmt: skip
def write_preview(
    path: list[Annotated[str, Field(json_schema_extra={"pattern": PATH_PATTERN})]] = Query(
        [], description="only these photos (repeat the parameter)"
    ),
    limit: int = Query(20, ge=1, le=MAX_PREVIEW_FILES, description="files to dry-run"),
    core: Core = Depends(get_core),
) -> WritePreviewOut:
    wanted = _clean(path) or None
    total, files = _preview_thread.submit(preview, core, wanted, limit).result()
    return WritePreviewOut(
        total=total,
        files=[
            FilePreviewOut(
                path=f.path,
                mode=f.mode,
                note=f.note,
                error=f.error,
                changes=[
                    TagChangeOut(tag=c["tag"], before=list(c["before"]), after=list(c["after"])) for c in f.changes
                ],
            )  # fmt: skip
            for f in files
        ],
    )


@router.post(
    "", response_model=JobOut, status_code=202, summary="Write the confirmed names into the photos",
    responses=problem_responses(422),
    description="Starts a write job (backup, write, verify, audit; then notify). Follow it at /jobs/{id}.",
)  # fmt: skip
def start_write(body: WriteStart) -> JobOut:
    params: dict[str, Any] = {}
    if body.paths:
        params["paths"] = body.paths
    if body.dry_run:
        params["dry_run"] = True
    return job_out(m.Job.get_by_id(start_job("write", params or None)))


@router.post(
    "/restore", response_model=JobOut, status_code=202, summary="Restore original files from their backups",
    responses=problem_responses(422),
    description="Starts a restore job; each file is put back byte for byte (a sidecar we created is removed).",
)  # fmt: skip
def start_restore(body: RestoreStart) -> JobOut:
    params: dict[str, Any] = {"paths": body.paths, "all": body.all}
    if body.since is not None:
        params["since"] = body.since.isoformat()
    return job_out(m.Job.get_by_id(start_job("restore", params)))


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
    path: str | None = Query(
        None,
        min_length=1,
        description="this photo's library-relative path",
        json_schema_extra={"pattern": PATH_PATTERN},
    ),
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
    "/audit/{audit_id:int}", response_model=WriteAuditOut, summary="One write attempt",
    responses=problem_responses(404),
)  # fmt: skip
def audit_entry(audit_id: IdPath) -> WriteAuditOut:
    row = m.WriteAudit.get_or_none(m.WriteAudit.id == audit_id)
    if row is None:
        raise ApiProblem(404, f"no write audit entry {audit_id}")
    return audit_out(row)
