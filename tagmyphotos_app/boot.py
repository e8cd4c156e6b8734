"""Boot a process (core + queue + tasks + schedule) and run jobs from the command line or as a worker.

Why "boot" and not "runner": the one runner is the stage runner (tagmyphotos/stages/runner.py); this
module only builds a process around it: `boot` (the web app, the worker, one-shot CLI runs),
`run_job_command` (a job queued, or run here with `--wait`), `run_worker`, `wait_for_job`.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any

from tagmyphotos.config import Config
from tagmyphotos.core import Core
from tagmyphotos.store import jobs as jobs_store
from tagmyphotos.store import models as m

from .output import say

# Poll a queued job this often while `--wait`ing for a worker to finish it.
WAIT_POLL_S = 0.5


def setup_logging(cfg: Config) -> None:
    from tagmyphotos.system.logs import configure_logging

    configure_logging(cfg)


def boot(cfg: Config, immediate: bool = False) -> Core:
    """Open the core, bind the queue and install the core for tasks in this process."""
    from jobs import runtime, schedules, tasks  # noqa: F401  (registers the tasks and the schedule with huey)
    from jobs.queue import configure_queue

    core = Core(cfg)
    configure_queue(cfg, immediate=immediate)
    runtime.install(core)
    return core


def run_job_command(cfg: Config, job_type: str, params: dict[str, Any], wait: bool, as_json: bool) -> int:
    """Queue a job (a running server or worker picks it up), or with wait run it here and now."""
    from jobs.pipeline import STAGES
    from jobs.tasks import run_job, start_job
    from tagmyphotos.stages.runner import run_stage

    core = boot(cfg)
    try:
        if not wait:
            job_id = start_job(job_type, params or None)
            _print(as_json, {"job": jobs_store.JobView.of(m.Job.get_by_id(job_id)).__dict__},
                   f"queued {job_type} job #{job_id}; see `tagmyphotos status`")  # fmt: skip
            return 0
        job_id = jobs_store.create_job(job_type, params)
        with _progress(job_type, as_json) as bar:
            import threading

            stop = threading.Event()
            watcher = threading.Thread(target=_watch, args=(job_id, bar, stop), daemon=True)
            watcher.start()
            followers = run_stage(core, STAGES[job_type], job_id)
            stop.set()
            watcher.join()
        for follower in followers:
            run_job(follower)  # the pipeline goes on in the server/worker
        job = jobs_store.JobView.of(m.Job.get_by_id(job_id))
        result = job.result or {}
        text = f"{job_type} job #{job_id} {job.state}: " + ", ".join(f"{k} {v}" for k, v in result.items())
        _print(as_json, {"job": job.__dict__}, text)
        if job.error:  # last, on stderr: what the user reads after any logged stack trace
            say(f"error: {job.error}", err=True)
        return 0 if job.state == m.JobState.DONE else 1
    finally:
        core.close()


def _watch(job_id: int, bar: Any, stop: Any) -> None:
    while not stop.wait(0.3):
        row = m.Job.get_or_none(m.Job.id == job_id)
        if row and bar is not None:
            bar(row.progress_done, row.progress_total)


class _progress:
    """A rich progress bar on a terminal, nothing when output is piped or --json."""

    def __init__(self, label: str, quiet: bool) -> None:
        self.label = label
        self.enabled = not quiet and sys.stderr.isatty()
        self._progress: Any = None

    def __enter__(self) -> Any:
        if not self.enabled:
            return None
        from rich.console import Console
        from rich.progress import Progress

        # on stderr, the terminal checked above: stdout keeps only the result (`> log.txt`)
        self._progress = Progress(transient=True, console=Console(stderr=True))
        self._progress.start()
        task = self._progress.add_task(self.label, total=None)

        def update(done: int, total: int) -> None:
            self._progress.update(task, completed=done, total=total or None)

        return update

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()


def _print(as_json: bool, data: dict[str, Any], text: str) -> None:
    say(json.dumps(data, default=str, sort_keys=True) if as_json else text)


def run_worker(cfg: Config, workers: int) -> int:
    """A standalone consumer (its own signal handling): `tagmyphotos worker`."""
    from huey.consumer import Consumer

    from jobs.consumer import Presence
    from jobs.queue import huey

    setup_logging(cfg)
    core = boot(cfg)
    presence = Presence(workers).start()
    try:
        Consumer(huey, workers=workers, worker_type="thread", periodic=True).run()
    finally:
        presence.stop()
        core.close()
    return 0


def wait_for_job(job_id: int, timeout_s: float) -> str:
    """Poll until the job finishes; returns its state (used by tests and scripts)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        state = m.Job.get_by_id(job_id).state
        if state in (m.JobState.DONE, m.JobState.FAILED, m.JobState.CANCELLED):
            return str(state)
        time.sleep(WAIT_POLL_S)
    return str(m.Job.get_by_id(job_id).state)


logging.getLogger("huey").setLevel(logging.WARNING)
