"""/auto: what the product named by itself ("Named while you were away"), and undoing a run.

The batches and their undo are tagmyphotos.review.auto; the settings that turn naming and
writing without a click on are review.auto_accept and write.auto (PATCH /settings). This router
maps them to the documented shapes and starts the restore job for the files a run's write changed.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from jobs.tasks import undo_auto_batch
from tagmyphotos.core import Core
from tagmyphotos.review import auto
from tagmyphotos.store import models as m

from .deps import MAX_ID, IdPath, Page, PageParams, get_core, page_params
from .errors import ProblemRoute
from .jobs import JobOut, job_out
from .problems import problem_responses

router = APIRouter(prefix="/auto", tags=["auto-naming"], route_class=ProblemRoute)


class BatchOut(BaseModel):
    """One automatic run: faces the product named by itself because they were "sure"."""

    id: int
    created_at: str
    faces: int = Field(description="faces named")
    photos: int = Field(description="photos they are in")
    people: dict[str, int] = Field(description="name -> faces named")
    job_id: int | None = Field(None, description="the auto-name job")
    write_job_id: int | None = Field(None, description="the write that put the names into the files, if any")
    undone_at: str | None = Field(None, description="when the run was undone (None: it stands)")
    undo_note: str | None = Field(None, description="what the undo did with the files")
    face_ids: list[int] = Field(description="the faces it named")

    @classmethod
    def of(cls, view: auto.BatchView) -> BatchOut:
        return cls(**view.__dict__)


class BatchUndoOut(BaseModel):
    batch: BatchOut
    faces: list[int] = Field(description="faces back to suggestions (never named automatically again)")
    kept: list[int] = Field(description="faces a person changed since: left as they are")
    restore_job: JobOut = Field(description="puts back the files the run's write changed (announced to the webhook)")


@router.get(
    "/batches", response_model=Page[BatchOut], summary="Automatic naming runs, newest first",
    description="`since_id`: only runs after that one (what was named while you were away).",
)  # fmt: skip
def list_batches(
    page: PageParams = Depends(page_params),
    since_id: int | None = Query(None, ge=0, le=MAX_ID),
) -> dict[str, Any]:
    total, items = auto.list_batches(page.limit, page.offset, since_id)
    return {"items": [BatchOut.of(b) for b in items], "total": total, "limit": page.limit, "offset": page.offset}


@router.get(
    "/batches/{batch_id}", response_model=BatchOut, summary="One automatic run", responses=problem_responses(404)
)
def get_batch(batch_id: IdPath) -> BatchOut:
    return BatchOut.of(auto.get_batch(batch_id))


@router.post(
    "/batches/{batch_id}/undo", response_model=BatchUndoOut, status_code=202, summary="Undo an automatic run",
    responses=problem_responses(404, 409),
    description="Its names are taken back at once (faces a person changed since are left as they are) and "
    "its faces are never named automatically again; a restore job then puts back the files its write "
    "changed: byte for byte from the backup where that write was the first one, otherwise rewritten.",
)  # fmt: skip
def undo_batch(batch_id: IdPath, _: Core = Depends(get_core)) -> BatchUndoOut:  # 503 while starting
    done, job_id = undo_auto_batch(batch_id)
    job = job_out(m.Job.get_by_id(job_id))
    return BatchUndoOut(batch=BatchOut.of(done.batch), faces=done.faces, kept=done.kept, restore_job=job)
