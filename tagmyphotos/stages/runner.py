"""The stage runner: one place owns progress, cancellation, per-file errors and hand-off.

A stage is a plain function `run(core, ctx) -> result dict` that does its work and reports
through StageContext; it never touches the job row itself. The ordered list of stages that
reads like the product is in jobs/pipeline.py (it includes the notify and import-names stages,
which live in integrations/stages/ and so cannot be named by the core).

Why beside the stages and not in store/: it is the one thing every job module uses, and it
acts on job rows only through store/jobs.py and store/claims.py (the database layer below); the
huey task that calls it (jobs/tasks.py) and the CLI's `--wait` run (tagmyphotos_app/boot.py)
only hand it a job id.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tagmyphotos.errors import TagMyPhotosError
from tagmyphotos.store import claims
from tagmyphotos.store import jobs as jobs_store
from tagmyphotos.store import models as m
from tagmyphotos.store.db import storage_problem

log = logging.getLogger("tagmyphotos.pipeline")

# Our code (the core and its outer rooms) lives beside the tagmyphotos package.
_PROJECT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# Write progress to the job row at most this often (seconds): cheap enough for live UI bars.
PROGRESS_EVERY_S = 0.5

# Jobs this process is running now, so a graceful stop can hand them back (release_running_jobs).
_running: set[claims.JobClaim] = set()
_running_lock = threading.Lock()


class JobCancelled(TagMyPhotosError):
    """Raised inside a stage when the user cancelled its job."""


class JobLost(TagMyPhotosError):
    """Raised inside a stage when another run took the job over (this run was given up on)."""


@dataclass
class StageContext:
    """What a running stage may do: report progress and per-item errors, check for cancel."""

    job_id: int
    params: dict[str, Any]
    claim: claims.JobClaim | None = None
    total: int = 0
    done: int = 0
    errors: int = 0
    _last_flush: float = field(default=0.0, repr=False)
    _cancel_seen: tuple[float, bool] = field(default=(float("-inf"), False), repr=False)

    def set_total(self, total: int) -> None:
        self.total = total
        self._flush()

    def advance(self, n: int = 1) -> None:
        self.done += n
        if self._flush_due(force=self.done >= self.total) and jobs_store.cancel_requested(self.job_id):
            raise JobCancelled

    def grow(self, done: int) -> None:
        """Progress of a stage whose total is known only at its end (a scan's walk): the count so
        far, written as often as PROGRESS_EVERY_S allows. Never raises JobCancelled: such a stage
        asks `cancelled` itself and stops where its work is saved."""
        self.done = self.total = max(self.total, done)
        self._flush_due(force=False)

    def _flush_due(self, force: bool) -> bool:
        now = time.monotonic()
        if not force and now - self._last_flush < PROGRESS_EVERY_S:
            return False
        self._last_flush = now
        self._flush()
        return True

    def _flush(self) -> None:
        """Progress doubles as the heartbeat; a run that lost its job must stop at once."""
        if self.claim is None:
            jobs_store.set_progress(self.job_id, self.done, self.total, self.errors)
        elif not claims.job_heartbeat(self.claim, self.done, self.total, self.errors):
            raise JobLost

    def item_error(self, path: str | None, message: str) -> None:
        self.errors += 1
        jobs_store.log_event(self.job_id, message, level="error", path=path)

    def warning(self, path: str | None, message: str) -> None:
        """Something about one item the user should know; the item itself did not fail."""
        jobs_store.log_event(self.job_id, message, level="warning", path=path)
        log.warning("job %s: %s: %s", self.job_id, path, message)

    def info(self, message: str) -> None:
        jobs_store.log_event(self.job_id, message)
        log.info("job %s: %s", self.job_id, message)

    def cancelled(self, within_s: float = 0.0) -> bool:
        """Whether the user cancelled this job. `within_s`: an answer up to that old will do, for
        a loop over many cheap items (asking is a database query)."""
        asked_at, answer = self._cancel_seen
        now = time.monotonic()
        if now - asked_at > within_s:
            answer = jobs_store.cancel_requested(self.job_id)
            self._cancel_seen = (now, answer)
        return answer

    def check_cancel(self) -> None:
        if jobs_store.cancel_requested(self.job_id):
            raise JobCancelled


StageFn = Callable[[Any, StageContext], dict[str, Any]]


# Called with (core, job id) once a job has ended done or failed (not cancelled, not lost).
AfterFn = Callable[[Any, int], None]


@dataclass(frozen=True)
class Stage:
    name: str
    run: StageFn
    # Job types to start when this stage finishes (the pipeline hand-off).
    then: tuple[str, ...] = ()
    summary: str = ""
    # Several jobs of this stage may run at once and share the work through claims (analyze):
    # in scale-out every worker process gets one (jobs/tasks.py: run_job)
    shared: bool = False
    # What to do once a job ended (announcements); a failure here never changes the job.
    after: tuple[AfterFn, ...] = ()


def run_stage(core: Any, stage: Stage, job_id: int) -> list[int]:
    """Run one job through its stage; return the ids of follow-up jobs it created."""
    job = m.Job.get_or_none(m.Job.id == job_id)
    if job is None or job.state != m.JobState.QUEUED:
        return []  # finished, or running elsewhere: a duplicate delivery does nothing (safe rerun)
    if job.cancel_requested:
        jobs_store.finish(job_id, m.JobState.CANCELLED)
        return []
    claim = claims.claim_job(job_id)
    if claim is None:
        return []  # another worker claimed it first
    # read again after the claim: a request coalesced into this queued job (scan paths) may
    # have widened its params until the moment it was claimed
    params = m.Job.select(m.Job.params).where(m.Job.id == job_id).scalar() or {}
    ctx = StageContext(job_id=job_id, params=params, claim=claim)
    started = time.monotonic()
    with _running_lock:
        _running.add(claim)
    try:
        result = stage.run(core, ctx) or {}
    except JobLost:
        log.warning("job %s (%s) was taken over by another run; this run stops", job_id, stage.name)
        return []
    except JobCancelled:
        claims.finish_job(claim, m.JobState.CANCELLED, {"done": ctx.done, "total": ctx.total})
        ctx.info("cancelled")
        return []
    except Exception as exc:  # the runner, not the stage, turns failures into job state
        log.exception("job %s (%s) failed", job_id, stage.name)
        jobs_store.log_event(job_id, "".join(traceback.format_exception_only(exc)).strip(), "error")
        if claims.finish_job(claim, m.JobState.FAILED, error=storage_problem(exc) or failure_sentence(stage.name, exc)):
            _after(core, stage, job_id)
        return []
    finally:
        with _running_lock:
            _running.discard(claim)
    result.setdefault("seconds", round(time.monotonic() - started, 3))
    # A stage may ask for follow-ups of its own (a list of {"type", "params"}): what follows
    # depends on what it did (an automatic naming run is followed by a write only when it named).
    asked = result.pop("follow", [])
    claims.job_heartbeat(claim, ctx.done, ctx.total, ctx.errors)
    if not claims.finish_job(claim, m.JobState.DONE, result):
        return []
    followers = []
    if not ctx.params.get("no_follow"):
        for next_type in stage.then:
            if jobs_store.active_job(next_type, states=(m.JobState.QUEUED,)) is None or next_type == "notify":
                followers.append(jobs_store.create_job(next_type, {"source_job": job_id}, parent=job_id))
        for follow in asked:
            params = {"source_job": job_id, **follow.get("params", {})}
            followers.append(jobs_store.create_job(follow["type"], params, parent=job_id))
    _after(core, stage, job_id)
    return followers


def _after(core: Any, stage: Stage, job_id: int) -> None:
    for fn in stage.after:
        try:
            fn(core, job_id)
        except Exception:  # an announcement that fails must not fail the job nor its follow-ups
            log.exception("job %s (%s): %s failed", job_id, stage.name, getattr(fn, "__name__", fn))


def release_running_jobs() -> list[int]:
    """A graceful stop (docker stop): this process's running jobs go back to queued, so the next
    start resumes them at once instead of after STALE_JOB_SECONDS. Their stage threads lose the
    claim and stop at their next progress report; work is planned from the database, so the
    rerun continues where this one was."""
    with _running_lock:
        held = list(_running)
    return [c.job_id for c in held if claims.requeue_own_job(c)]


def failure_sentence(stage: str, exc: Exception) -> str:
    """A failed job's error, for a person: what our own code raised is written as a sentence;
    a library's or Python's text ("cannot schedule new futures after shutdown", "[Errno 9] Bad
    file descriptor") is not, and goes to the log and the job's events instead."""
    text = (str(exc).strip().splitlines() or [""])[0]
    if text and _raised_by_us(exc):
        return text[:500]
    return (f"The {stage} job stopped on an unexpected error ({type(exc).__name__}); the server log has "
            "the details. Nothing is lost: running it again continues where it stopped.")  # fmt: skip


def _raised_by_us(exc: BaseException) -> bool:
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return False
    where = os.path.abspath(frames[-1].filename)
    return where.startswith(_PROJECT + os.sep) and f"{os.sep}site-packages{os.sep}" not in where
