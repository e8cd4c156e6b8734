"""/jobs: start a pipeline job, list jobs, follow progress and per-file events, cancel.

Jobs run in the queue's workers; the API only creates the row and queues its id, so a long
scan never holds a request open. Clients poll GET /jobs/{id}.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field, field_validator

from jobs.pipeline import STAGES
from jobs.tasks import start_job
from tagmyphotos.library import paths
from tagmyphotos.store import jobs as jobs_store
from tagmyphotos.store import models as m

from .deps import IdPath, Page, PageParams, order_by, page_params, paginate
from .errors import ProblemRoute
from .problems import ApiProblem, problem_responses
from .schemas import FOLDER_PATTERN, MAX_ID, PATH_SCHEMA, TEXT_PATTERN, RequestBody

router = APIRouter(prefix="/jobs", tags=["jobs"], route_class=ProblemRoute)

# Bounds on a job's params: enough for a bulk write of many photo ids, small enough to store.
MAX_PARAM_KEYS = 20
MAX_PARAM_LIST = 10_000
# Params whose values are library paths: checked like any client path before a job sees them.
PATH_PARAMS = ("path", "paths", "folder")
# Params that are lists of that type; one value given bare (`"paths": "a.jpg"`) is refused
# rather than read letter by letter by the job.
LIST_PARAMS: dict[str, type] = {"paths": str, "photo_ids": int}


class JobOut(BaseModel):
    """A job's state and progress (`done` of `total` items)."""

    id: int
    type: str
    state: str = Field(description="queued | running | done | failed | cancelled")
    done: int
    total: int
    errors: int = Field(description="items that failed (see /jobs/{id}/events)")
    error: str | None = Field(None, description="why the job failed")
    params: dict[str, Any]
    result: dict[str, Any] | None = None
    parent: int | None = Field(None, description="the job that started this one")
    created_at: str
    started_at: str | None = None
    finished_at: str | None = None
    worker: str | None = Field(None, description="host:pid of the worker process that ran it (last run)")
    progress: float = Field(description="0..1 (0 while the total is unknown)")
    cancel_requested: bool = False


class JobEventOut(BaseModel):
    id: int
    level: str = Field(description="info | warning | error")
    message: str
    path: str | None = Field(None, description="the file the event is about")
    created_at: str


_SCALAR = {"type": ["string", "number", "boolean", "null"], "pattern": TEXT_PATTERN}
_FOLDER = {"type": "string", "pattern": FOLDER_PATTERN}
# What _bounded accepts, said in the schema: flat params (a value or a list of values), the
# path params as library paths, at most MAX_PARAM_KEYS of them.
PARAMS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "maxProperties": MAX_PARAM_KEYS,
    "propertyNames": {"pattern": TEXT_PATTERN},
    "properties": {
        "paths": {"type": "array", "maxItems": MAX_PARAM_LIST, "items": PATH_SCHEMA},
        "photo_ids": {"type": "array", "maxItems": MAX_PARAM_LIST,
                      "items": {"type": "integer", "minimum": 1, "maximum": MAX_ID}},
        "path": PATH_SCHEMA,
        "folder": _FOLDER,
    },
    "additionalProperties": {**_SCALAR, "type": [*_SCALAR["type"], "array"], "maxItems": MAX_PARAM_LIST,
                             "items": _SCALAR},
}  # fmt: skip


class JobStart(RequestBody):
    type: str = Field(
        description="the job type; GET /jobs/types lists them", examples=["scan"],
        json_schema_extra={"enum": list(STAGES)},
    )  # fmt: skip
    params: dict[str, Any] = Field(
        default_factory=dict, description="options of that job type", json_schema_extra=PARAMS_SCHEMA
    )

    @field_validator("params")
    @classmethod
    def _bounded(cls, value: dict[str, Any]) -> dict[str, Any]:
        if len(value) > MAX_PARAM_KEYS:
            raise ValueError(f"at most {MAX_PARAM_KEYS} params")
        for key, item in value.items():
            if isinstance(item, list) and len(item) > MAX_PARAM_LIST:
                raise ValueError(f"{key}: at most {MAX_PARAM_LIST} items")
            if isinstance(item, dict) or (isinstance(item, list) and any(isinstance(v, (dict, list)) for v in item)):
                raise ValueError(f"{key}: nested objects are not accepted")
        for key in (*LIST_PARAMS, *PATH_PARAMS):
            if key in value and value[key] is None:
                raise ValueError(f"{key}: leave it out rather than null")
        ids = value.get("photo_ids")
        if isinstance(ids, list):  # JSON has one number type: 7.0 is the id 7
            value["photo_ids"] = [int(i) if isinstance(i, float) and i.is_integer() else i for i in ids]
        for key, kind in LIST_PARAMS.items():
            raw = value.get(key)
            if raw is not None and not (
                isinstance(raw, list) and all(isinstance(v, kind) and not isinstance(v, bool) for v in raw)
            ):
                raise ValueError(f"{key}: must be a list of {'paths' if kind is str else 'ids'}")
        if not all(1 <= i <= MAX_ID for i in value.get("photo_ids") or []):
            raise ValueError(f"photo_ids: ids are from 1 to {MAX_ID}")
        for key in PATH_PARAMS:
            raw = value.get(key)
            if isinstance(raw, list) and key != "paths":
                raise ValueError(f"{key}: must be one path (use `paths` for several)")
            if raw is not None and not isinstance(raw, (str, list)):
                raise ValueError(f"{key}: must be a path")
            if isinstance(raw, list):
                value[key] = [paths.clean_relative(str(p)) for p in raw]
            elif raw is not None:
                value[key] = paths.clean_relative(str(raw), allow_empty=key == "folder")
        return value


class JobType(BaseModel):
    type: str
    summary: str
    then: list[str] = Field(description="job types started when this one finishes")


def job_out(job: m.Job) -> JobOut:
    view = jobs_store.JobView.of(job)
    progress = (view.done / view.total) if view.total else (1.0 if view.state == m.JobState.DONE else 0.0)
    return JobOut(**view.__dict__, progress=round(min(progress, 1.0), 4),
                  cancel_requested=bool(job.cancel_requested))  # fmt: skip


def _job(job_id: int) -> m.Job:
    job = m.Job.get_or_none(m.Job.id == job_id)
    if job is None:
        raise ApiProblem(404, f"no job with id {job_id}")
    return job


@router.get("/types", response_model=list[JobType], summary="The job types that can be started")
def job_types() -> list[JobType]:
    return [JobType(type=s.name, summary=s.summary, then=list(s.then)) for s in STAGES.values()]


@router.post(
    "", response_model=JobOut, status_code=202, summary="Start a job",
    responses=problem_responses(400, 422),
    description="Queues a job and returns at once. Starting a job type that is already queued or "
    "running, with no params, returns that job instead of a twin.",
)  # fmt: skip
def create_job(body: JobStart) -> JobOut:
    if body.type not in STAGES:
        raise ApiProblem(400, f"unknown job type {body.type!r}; one of {', '.join(STAGES)}", "bad-job-type")
    job_id = start_job(body.type, body.params or None)
    return job_out(m.Job.get_by_id(job_id))


@router.get("", response_model=Page[JobOut], summary="List jobs, newest first")
def list_jobs(
    page: PageParams = Depends(page_params),
    type: str | None = Query(
        None, max_length=40, description="only this job type", json_schema_extra={"pattern": TEXT_PATTERN}
    ),
    state: Literal["queued", "running", "done", "failed", "cancelled"] | None = Query(None),
    parent: int | None = Query(None, ge=1, le=MAX_ID, description="only jobs started by this job"),
    order: Literal["id", "-id", "created_at", "-created_at"] = "-id",
) -> dict:
    query = m.Job.select()
    if type:
        query = query.where(m.Job.type == type)
    if state:
        query = query.where(m.Job.state == state)
    if parent is not None:
        query = query.where(m.Job.parent == parent)
    query = query.order_by(*order_by(m.Job, order, {"id": m.Job.id, "created_at": m.Job.created_at}))
    return paginate(query, page, job_out)


@router.get("/{job_id:int}", response_model=JobOut, summary="A job's state and progress",
            responses=problem_responses(404))  # fmt: skip
def get_job(job_id: IdPath) -> JobOut:
    return job_out(_job(job_id))


@router.post(
    "/{job_id:int}/cancel", response_model=JobOut, summary="Cancel a queued or running job",
    responses=problem_responses(404, 409),
    description="A queued job is cancelled at once; a running one stops at its next progress check.",
)  # fmt: skip
def cancel_job(job_id: IdPath) -> JobOut:
    job = _job(job_id)
    if not jobs_store.request_cancel(job_id):
        raise ApiProblem(409, f"job {job_id} is {job.state}; only queued or running jobs can be cancelled")
    return job_out(m.Job.get_by_id(job_id))


@router.get(
    "/{job_id:int}/events", response_model=Page[JobEventOut], summary="A job's log and per-file errors",
    responses=problem_responses(404),
)  # fmt: skip
def job_events(
    job_id: IdPath,
    page: PageParams = Depends(page_params),
    level: Literal["info", "warning", "error"] | None = Query(None),
    order: Literal["id", "-id"] = "-id",
) -> dict:
    _job(job_id)
    query = m.JobEvent.select().where(m.JobEvent.job == job_id)
    if level:
        query = query.where(m.JobEvent.level == level)
    query = query.order_by(*order_by(m.JobEvent, order, {"id": m.JobEvent.id}))
    return paginate(
        query, page,
        lambda e: JobEventOut(id=e.id, level=e.level, message=e.message, path=e.path,
                              created_at=e.created_at.isoformat() + "Z"),
    )  # fmt: skip
