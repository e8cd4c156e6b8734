"""/imports: take the names people gave in Immich or PhotoPrism, and decide the conflicts.

The import runs as a job (`import-names`; its result has imported, marked, already, conflicts,
unmatched); a conflict (the other app names a face that is confirmed otherwise here) is never
applied: it is listed here until someone takes their name or keeps ours.
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field, StrictBool

from jobs.tasks import start_job
from tagmyphotos.core import Core
from tagmyphotos.review import imported_names
from tagmyphotos.store import jobs as jobs_store
from tagmyphotos.store import models as m

from .deps import IdPath, Page, PageParams, get_core, page_params
from .errors import ProblemRoute
from .jobs import JobOut, job_out
from .problems import problem_responses
from .schemas import RequestBody

router = APIRouter(prefix="/imports", tags=["imports"], route_class=ProblemRoute)

Source = Literal["immich", "photoprism", "takeout"]


class ImportStart(RequestBody):
    source: Source = Field(description="the app whose names are taken (takeout: a Google Takeout export's JSON files)")
    dry_run: StrictBool = Field(False, description="only count what would change")
    folder: str | None = Field(
        None, max_length=4096, pattern=r"^[^/\x00]",
        description="takeout only: the export's folder, relative to the library (default: the whole library)",
    )  # fmt: skip


class ConflictOut(BaseModel):
    """A face named otherwise there than here: listed until decided, never applied by itself."""

    id: int
    source: str
    photo_id: int
    photo_path: str
    face_id: int | None
    name_there: str
    name_here: str | None = Field(description="the name confirmed here (null: the face is rejected or ignored here)")
    note: str | None
    updated_at: str | None


class Decision(RequestBody):
    take: Literal["theirs", "ours"] = Field(description="theirs: name the face as there; ours: keep ours")


@router.post(
    "/names", response_model=JobOut, status_code=202, summary="Import names from Immich or PhotoPrism",
    responses=problem_responses(400, 422),
    description="Queues an `import-names` job (an import already queued or running is returned instead). "
    "Its result: imported, marked (hand-marked faces for boxes we had no face at), already, conflicts, "
    "unmatched, people_created, requests. For takeout: placed, suggested, photo_level, conflicts, "
    "unreadable (and unreadable_items), not_in_library, photos, names.",
)  # fmt: skip
def import_names(body: ImportStart) -> JobOut:
    existing = jobs_store.active_job("import-names")
    params: dict[str, object] = {"source": body.source, "dry_run": body.dry_run}
    if body.source == "takeout" and body.folder:
        params["folder"] = body.folder  # resolved inside the library by the job (import_names.takeout_folder)
    job_id = existing or start_job("import-names", params)
    return job_out(m.Job.get_by_id(job_id))


@router.get("/conflicts", response_model=Page[ConflictOut], summary="Open import conflicts")
def conflicts(source: Source | None = Query(None), page: PageParams = Depends(page_params)) -> Page[ConflictOut]:
    items, total = imported_names.list_conflicts(source, page.limit, page.offset)
    out = [ConflictOut(**c.__dict__) for c in items]
    return Page[ConflictOut](items=out, total=total, limit=page.limit, offset=page.offset)


@router.post(
    "/conflicts/{conflict_id:int}", response_model=ConflictOut, summary="Decide an import conflict",
    responses=problem_responses(404, 409),
    description="409 when taking their name for a face that is gone here.",
)  # fmt: skip
def decide(conflict_id: IdPath, body: Decision, core: Core = Depends(get_core)) -> ConflictOut:
    return ConflictOut(**imported_names.decide_conflict(core, conflict_id, body.take).__dict__)
