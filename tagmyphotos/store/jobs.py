"""Job records in the database: what ran, how far it got, and what went wrong per file.

The queue (huey) only carries a job id; everything a user or script wants to know about a job
lives here, so it survives restarts and shows in `status`, the API and the UI.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from tagmyphotos.config import mask_urls_in
from tagmyphotos.store import models as m

# A running job whose worker has not reported for this long is treated as dead (killed).
STALE_JOB_SECONDS = 300


@dataclass(frozen=True)
class JobView:
    id: int
    type: str
    state: str
    done: int
    total: int
    errors: int
    error: str | None
    params: dict[str, Any]
    result: dict[str, Any] | None
    parent: int | None
    created_at: str
    started_at: str | None
    finished_at: str | None
    worker: str | None  # "host:pid" of the process that ran it (last run)

    @classmethod
    def of(cls, job: m.Job) -> JobView:
        iso = lambda d: d.isoformat() + "Z" if d else None  # noqa: E731
        return cls(
            job.id, job.type, job.state, job.progress_done, job.progress_total, job.errors,
            job.error, job.params or {}, job.result, job.parent,
            iso(job.created_at) or "", iso(job.started_at), iso(job.finished_at),
            f"{job.worker_host}:{job.worker_pid}" if job.worker_host else None,
        )  # fmt: skip


# Jobs whose end is announced (webhook `job_events`, the Jobs page): the pipeline's own steps.
ANNOUNCED_TYPES = ("scan", "analyze", "match", "auto-name", "write")
ANNOUNCED_STATES: dict[str, str] = {m.JobState.DONE: "job.done", m.JobState.FAILED: "job.failed"}


@dataclass(frozen=True)
class JobAnnouncement:
    """That a job ended, with its counts: what the webhook sends and the Jobs page shows."""

    event: str  # job.done | job.failed
    job: JobView
    counts: dict[str, int | float]  # the result's figures (photos, faces, written, ...)

    def message(self) -> str:
        figures = ", ".join(f"{k.replace('_', ' ')} {v:,}" for k, v in self.counts.items() if v)
        tail = f": {self.job.error}" if self.event == "job.failed" and self.job.error else ""
        return f"{self.event} · {self.job.type} #{self.job.id}" + (f" · {figures}" if figures else "") + tail

    def to_dict(self) -> dict[str, Any]:
        j = self.job
        return {"event": self.event, "job": {"id": j.id, "type": j.type, "state": j.state, "errors": j.errors,
                "error": j.error, "created_at": j.created_at, "started_at": j.started_at,
                "finished_at": j.finished_at, "counts": self.counts}}  # fmt: skip


def announcement(job: JobView) -> JobAnnouncement | None:
    """The announcement of a finished job of an announced type, else None."""
    event = ANNOUNCED_STATES.get(job.state)
    undo_of_batch = job.type == "restore" and job.params.get("batch") is not None  # an automatic run undone
    if event is None or not (job.type in ANNOUNCED_TYPES or undo_of_batch) or job.params.get("helper_of"):
        return None  # a helper of a shared analysis (scale-out) is part of its lead job
    counts = {k: v for k, v in (job.result or {}).items() if isinstance(v, int | float) and not isinstance(v, bool)}
    counts.setdefault("errors", job.errors)
    return JobAnnouncement(event, job, counts)


def create_job(job_type: str, params: dict[str, Any] | None = None, parent: int | None = None) -> int:
    return int(m.Job.create(type=job_type, params=params or {}, parent=parent).id)


def active_job(job_type: str, states: tuple[str, ...] = (m.JobState.QUEUED, m.JobState.RUNNING)) -> int | None:
    """An unfinished job of this type, so a second request does not start a twin."""
    row = (
        m.Job.select(m.Job.id)
        .where((m.Job.type == job_type) & (m.Job.state.in_(list(states))))
        .order_by(m.Job.id)
        .first()
    )
    return int(row.id) if row else None


SCOPE_KEYS = ("paths", "folder")


def scope_of(params: dict[str, Any] | None) -> list[str] | None:
    """The paths a scan's params name (folder included), or None for the whole library."""
    params = params or {}
    raw = [str(p) for p in params.get("paths") or []]
    if params.get("folder") is not None:
        raw.append(str(params["folder"]))
    if not raw or any(p.strip("/") == "" for p in raw):
        return None
    return raw


def coalesce_queued(job_type: str, params: dict[str, Any] | None) -> int | None:
    """Fold a request into the queued (not yet running) job of that type; its id, or None.

    Paths are united; a request for everything makes the queued job a full one. The update is
    conditional on the job still being queued, and the runner reads params after it claims the
    job, so a request is either in the job that runs or answered with None (queue a new one).
    """
    for _ in range(3):
        row = (
            m.Job.select(m.Job.id, m.Job.params)
            .where((m.Job.type == job_type) & (m.Job.state == m.JobState.QUEUED) & (m.Job.cancel_requested == False))  # noqa: E712
            .order_by(m.Job.id)
            .first()
        )
        if row is None:
            return None
        old = dict(row.params or {})
        have, want = scope_of(old), scope_of(params)
        merged = {k: v for k, v in old.items() if k not in SCOPE_KEYS}
        if have is not None and want is not None:
            merged["paths"] = sorted(set(have) | set(want))
        if merged == old:
            return int(row.id)
        query = m.Job.update(params=merged).where(
            (m.Job.id == row.id) & (m.Job.state == m.JobState.QUEUED) & (m.Job.params == old)
        )
        if query.execute() == 1:
            return int(row.id)
    return None


def set_progress(job_id: int, done: int, total: int | None = None, errors: int | None = None) -> None:
    values: dict[str, Any] = {"progress_done": done, "heartbeat_at": m.utcnow()}
    if total is not None:
        values["progress_total"] = total
    if errors is not None:
        values["errors"] = errors
    m.Job.update(values).where(m.Job.id == job_id).execute()


def finish(job_id: int, state: str, result: dict[str, Any] | None = None, error: str | None = None) -> None:
    error = None if error is None else mask_urls_in(error)  # a Redis/PostgreSQL URL in an error
    m.Job.update(state=state, result=result, error=error, finished_at=m.utcnow()).where(
        m.Job.id == job_id
    ).execute()


def log_event(job_id: int, message: str, level: str = "info", path: str | None = None) -> None:
    m.JobEvent.create(job=job_id, message=mask_urls_in(message)[:2000], level=level, path=path)


def request_cancel(job_id: int) -> bool:
    """Ask a job to stop; a queued job is cancelled at once, a running one at its next check."""
    job = m.Job.get_or_none(m.Job.id == job_id)
    if job is None or job.state not in (m.JobState.QUEUED, m.JobState.RUNNING):
        return False
    if job.state == m.JobState.QUEUED:
        finish(job_id, m.JobState.CANCELLED)
    else:
        m.Job.update(cancel_requested=True).where(m.Job.id == job_id).execute()
    return True


def cancel_requested(job_id: int) -> bool:
    row = m.Job.select(m.Job.cancel_requested).where(m.Job.id == job_id).first()
    return bool(row and row.cancel_requested)


def stale_running_jobs(now: dt.datetime | None = None) -> list[int]:
    """Jobs marked running whose worker stopped reporting (it was killed): to be rerun."""
    limit = (now or m.utcnow()) - dt.timedelta(seconds=STALE_JOB_SECONDS)
    query = m.Job.select(m.Job.id).where(
        (m.Job.state == m.JobState.RUNNING) & ((m.Job.heartbeat_at < limit) | m.Job.heartbeat_at.is_null())
    )
    return [int(j.id) for j in query]


def job_view(job_id: int) -> JobView | None:
    job = m.Job.get_or_none(m.Job.id == job_id)
    return None if job is None else JobView.of(job)


def recent_jobs(limit: int = 10, job_type: str | None = None) -> list[JobView]:
    query = m.Job.select().order_by(m.Job.id.desc()).limit(limit)
    if job_type:
        query = query.where(m.Job.type == job_type)
    return [JobView.of(j) for j in query]


def job_events(job_id: int, limit: int = 200, level: str | None = None) -> list[m.JobEvent]:
    query = m.JobEvent.select().where(m.JobEvent.job == job_id)
    if level:
        query = query.where(m.JobEvent.level == level)
    return list(query.order_by(m.JobEvent.id.desc()).limit(limit))
