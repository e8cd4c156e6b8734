"""What starts jobs by the clock: the minute tick (housekeeping) and the schedules it checks.

Why apart from jobs/tasks.py: the tasks only carry job ids to the runner; deciding *when* a job
is due (the periodic rescan, scan.interval_minutes; the name imports,
integrations.<app>.import_every_hours; the daily write, write.auto "daily at HH:MM") is policy of
its own, read from the database so every worker agrees. The tick runs on one worker of all (a
lease), requeues the jobs and photos of workers that died, and keeps the persisted index fresh.
Every start goes through tasks.start_job, so a schedule that fires twice reuses the active job.
"""

from __future__ import annotations

import datetime as dt
import logging

from huey import crontab

from tagmyphotos import tuning
from tagmyphotos.stages.write import has_pending_writes
from tagmyphotos.store import claims
from tagmyphotos.store import jobs as jobs_store
from tagmyphotos.store import models as m
from tagmyphotos.suggest.refresh import rebuild_index

from . import runtime
from .queue import huey
from .tasks import run_job, start_job

log = logging.getLogger("tagmyphotos.jobs")


@huey.periodic_task(crontab(minute="*"))
def housekeeping() -> None:
    """Every minute, on one worker of all: requeue jobs and photos whose worker died; start the
    periodic rescan when due."""
    if not claims.acquire_lease("housekeeping", claims.worker_name(), tuning.HOUSEKEEPING_LEASE_S):
        return  # another worker does it this minute
    cutoff = m.utcnow() - dt.timedelta(seconds=jobs_store.STALE_JOB_SECONDS)
    for job_id in jobs_store.stale_running_jobs():
        if claims.requeue_stale_job(job_id, cutoff):
            log.warning("job %s stopped reporting (worker killed?): queued again", job_id)
            run_job(job_id)
    reaped = claims.reap_photos()
    if reaped:
        log.warning("%s photos were held by a worker that stopped: pending again", reaped)
    # the persisted Annoy index follows review actions at most a minute late (debounced);
    # until then searches stay exact for the new confirmations
    rebuild_index(runtime.core())
    start_due_imports()
    start_due_write()
    start_due_scan()


def start_due_scan() -> None:
    """The periodic rescan (scan.interval_minutes; 0 = off), counted from the last scan of any kind."""
    interval = runtime.core().cfg.scan.interval_minutes
    if interval <= 0:
        return
    last = m.Job.select(m.Job.created_at).where(m.Job.type == "scan").order_by(m.Job.id.desc()).first()
    due = last is None or last.created_at < m.utcnow() - dt.timedelta(minutes=interval)
    if due and jobs_store.active_job("scan") is None:
        start_job("scan", {"trigger": "schedule"})


def start_due_imports() -> None:
    """The optional name-import schedule (integrations.<app>.import_every_hours; 0 = off)."""
    integrations = runtime.core().cfg.integrations
    for source, hours in (("immich", integrations.immich.import_every_hours),
                          ("photoprism", integrations.photoprism.import_every_hours)):  # fmt: skip
        if hours <= 0 or jobs_store.active_job("import-names") is not None:
            continue
        recent = m.Job.select(m.Job.params, m.Job.created_at).where(m.Job.type == "import-names")
        last = next((j for j in recent.order_by(m.Job.id.desc()).limit(50) if (j.params or {}).get("source") == source),
                    None)  # fmt: skip
        if last is None or last.created_at < m.utcnow() - dt.timedelta(hours=hours):
            start_job("import-names", {"source": source, "trigger": "schedule"})


def start_due_write() -> None:
    """The daily automatic write (write.auto: "daily at HH:MM", the server's local time): once a
    day, at or after that time, everything pending is written."""
    at = runtime.core().cfg.write.daily_at()
    if at is None:
        return
    now = dt.datetime.now()
    today = now.date().isoformat()
    if (now.hour, now.minute) < at or jobs_store.active_job("write") is not None:
        return
    done = m.Setting.get_or_none(m.Setting.key == DAILY_WRITE_SETTING)
    if done is not None and done.value == today:
        return
    m.put_setting(DAILY_WRITE_SETTING, today)
    if has_pending_writes(runtime.core().cfg):
        start_job("write", {"trigger": "daily"})


DAILY_WRITE_SETTING = "write.daily_done"  # the local date of the last daily automatic write
