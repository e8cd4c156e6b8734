"""huey tasks: thin wrappers that pass job ids to the core's stage runner (stages/runner.py).

Where a job lives: its type and order in jobs/pipeline.py (the table), its work in one module of
tagmyphotos/stages/ (or integrations/stages/ for the two that talk to other apps), its row in
store/jobs.py, its run (claim, progress, cancel, errors, hand-off) in stages/runner.py; here only
how a job id reaches a worker (`run_job`, `start_job`), and in jobs/schedules.py what starts
jobs by the clock.

Every task is safe to rerun: the runner skips finished jobs, and every stage plans its work
from the database state (what is still pending), not from the message.
"""

from __future__ import annotations

import logging
import threading

from tagmyphotos import tuning
from tagmyphotos.review import auto
from tagmyphotos.stages.runner import Stage, run_stage
from tagmyphotos.store import jobs as jobs_store
from tagmyphotos.store import models as m
from tagmyphotos.store import workers

from . import runtime
from .pipeline import STAGES
from .queue import huey

log = logging.getLogger("tagmyphotos.jobs")
# Jobs of each shared stage (analyze) running in this process now.
_running: dict[str, int] = {}
_shared_lock = threading.Lock()


@huey.task()
def run_job(job_id: int) -> None:
    job = m.Job.get_or_none(m.Job.id == job_id)
    if job is None:
        log.warning("job %s does not exist; dropped", job_id)
        return
    stage = STAGES.get(job.type)
    if stage is None:
        jobs_store.finish(job_id, m.JobState.FAILED, error=f"unknown job type {job.type!r}")
        return
    if not stage.shared:
        _run(job_id, stage)
        return
    if _pass_on(job, stage):
        return
    for helper in _helpers(job):
        run_job(helper)
    with _shared_lock:
        _running[stage.name] = _running.get(stage.name, 0) + 1
    try:
        _run(job_id, stage)
    finally:
        with _shared_lock:
            _running[stage.name] -= 1


def _pass_on(job: m.Job, stage: Stage) -> bool:
    """A helper job that reaches a process already running its stage goes back to the queue
    while its lead job is unfinished (True: not run here), so it lands in an idle process: two
    analyses in one process share its cores, while another worker would sit idle."""
    lead_id = (job.params or {}).get("helper_of")
    with _shared_lock:
        busy = _running.get(stage.name, 0) > 0
    if lead_id is None or not busy or job.state != m.JobState.QUEUED:
        return False
    lead = m.Job.get_or_none(m.Job.id == int(lead_id))
    if lead is None or lead.state not in (m.JobState.QUEUED, m.JobState.RUNNING):
        return False
    run_job.schedule(args=(job.id,), delay=tuning.SHARED_JOB_RETRY_S)
    return True


def _run(job_id: int, stage: Stage) -> None:
    for follower in run_stage(runtime.core(), stage, job_id):
        run_job(follower)


def _helpers(job: m.Job) -> list[int]:
    """One more job of a shared stage (analyze) per other live worker process, when the queue
    is shared by processes (Redis): they claim photos from the same pool, so N workers analyse
    one library about N times as fast. Created once, by the first delivery of the lead job."""
    if huey.immediate or runtime.core().cfg.queue.backend != "redis" or job.params.get("helper_of"):
        return []
    children = m.Job.select().where((m.Job.parent == job.id) & (m.Job.type == job.type))
    if job.state != m.JobState.QUEUED or children.exists():
        return []
    others = len(workers.live_workers()) - 1
    params = {**(job.params or {}), "helper_of": job.id}
    return [jobs_store.create_job(job.type, params, parent=job.id) for _ in range(max(0, others))]


# Params that only say why a job was started: with nothing else, it is the same work as an
# active twin (a scan's follow-up analysis carries source_job), which is reused instead.
BOOKKEEPING_PARAMS = frozenset({"source_job", "trigger"})


def start_job(job_type: str, params: dict | None = None, reuse_active: bool = True, delay_s: float = 0) -> int:
    """Create a job row and queue it; an identical job already queued or running is reused.

    `delay_s` holds a new job back that long (not in immediate mode), so requests that follow
    within it join it (the scan hook's debounce)."""
    if job_type not in STAGES:
        raise ValueError(f"unknown job type {job_type!r}; one of {', '.join(STAGES)}")
    if job_type == "scan" and reuse_active:
        existing = _coalesced_scan(params)
        if existing is not None:
            return existing
    elif reuse_active and not set(params or {}) - BOOKKEEPING_PARAMS:
        existing = jobs_store.active_job(job_type)
        if existing is not None:
            return existing
    job_id = jobs_store.create_job(job_type, params)
    if delay_s > 0 and not huey.immediate:
        run_job.schedule(args=(job_id,), delay=delay_s)
    else:
        run_job(job_id)
    return job_id


def _coalesced_scan(params: dict | None) -> int | None:
    """Scans are coalesced: a scan of everything reuses an active scan of everything; any other
    request joins the queued scan (20 uploader calls in a second: the running scan plus one)."""
    if jobs_store.scope_of(params) is None:
        existing = jobs_store.active_job("scan")
        if existing is not None and jobs_store.scope_of(m.Job.get_by_id(existing).params) is None:
            return existing
    return jobs_store.coalesce_queued("scan", params)


def undo_auto_batch(batch_id: int) -> tuple[auto.BatchUndone, int]:
    """Undo an automatic naming run: its names at once, its files in a restore job (also what
    announces the undo to the webhook). Returns what was undone and the restore job's id."""
    done = auto.undo_batch(runtime.core(), batch_id)
    return done, start_job("restore", {"batch": batch_id, "paths": done.written_paths})
