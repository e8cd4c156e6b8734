"""Worker processes announce themselves in the database: who is there, and who did what.

Why: in scale-out the queue (Redis) carries only job ids and does not say how many processes
consume it. The pipeline needs that number to give every worker process its own share of an
analysis (an analyze job per process, sharing the photos through claims), and an operator
wants to see per worker what it did (job rows record host and pid; /metrics sums them).
A process refreshes its row every WORKER_ANNOUNCE_S; a row not refreshed for WORKER_SEEN_S
belongs to a process that is gone (killed machines leave no goodbye).
"""

from __future__ import annotations

import datetime as dt
import os
import socket
from dataclasses import dataclass

from tagmyphotos.store import models as m

# Worker processes refresh their presence row this often, and a row older than WORKER_SEEN_S
# counts as gone (store/workers.py). Three missed refreshes: a busy database or a long GC pause
# does not make a live worker disappear, a killed one is forgotten within 1.5 minutes.
WORKER_ANNOUNCE_S = 30
WORKER_SEEN_S = 90

_PREFIX = "worker:"


@dataclass(frozen=True)
class WorkerInfo:
    host: str
    pid: int
    threads: int
    seen: dt.datetime

    @property
    def name(self) -> str:
        return f"{self.host}:{self.pid}"


def this_worker() -> str:
    """host:pid of this process, as job rows record it."""
    return f"{socket.gethostname()}:{os.getpid()}"


def announce(threads: int, now: dt.datetime | None = None) -> None:
    """This process consumes the queue with `threads` threads (call again to stay alive)."""
    when = (now or m.utcnow()).isoformat()
    value = {"host": socket.gethostname(), "pid": os.getpid(), "threads": threads, "seen": when}
    m.put_setting(_PREFIX + this_worker(), value)


def retire() -> None:
    """This process stops consuming (clean shutdown)."""
    m.Setting.delete().where(m.Setting.key == _PREFIX + this_worker()).execute()


def live_workers(now: dt.datetime | None = None) -> list[WorkerInfo]:
    """Processes that announced themselves within WORKER_SEEN_S, by name."""
    cutoff = (now or m.utcnow()) - dt.timedelta(seconds=WORKER_SEEN_S)
    found = []
    for row in m.Setting.select().where(m.Setting.key.startswith(_PREFIX)):
        v = row.value or {}
        try:
            info = WorkerInfo(str(v["host"]), int(v["pid"]), int(v["threads"]), dt.datetime.fromisoformat(v["seen"]))
        except (KeyError, TypeError, ValueError):
            continue
        if info.seen >= cutoff:
            found.append(info)
    return sorted(found, key=lambda w: w.name)


@dataclass(frozen=True)
class WorkerThroughput:
    """What one worker process did in analyze jobs: all photos, and photos per second over the
    jobs it ran (running or finished) within the window."""

    worker: str
    photos: int
    per_second: float


def analysis_by_worker(window_s: float, now: dt.datetime | None = None) -> list[WorkerThroughput]:
    """Per worker process (host:pid, from the job rows), by name."""
    now = now or m.utcnow()
    since = now - dt.timedelta(seconds=window_s)
    rows = m.Job.select(
        m.Job.worker_host, m.Job.worker_pid, m.Job.state, m.Job.progress_done, m.Job.started_at, m.Job.finished_at
    ).where((m.Job.type == "analyze") & m.Job.worker_host.is_null(False))
    totals: dict[str, list[float]] = {}  # worker -> [photos, recent photos, recent seconds]
    for job in rows:
        t = totals.setdefault(f"{job.worker_host}:{job.worker_pid}", [0, 0, 0.0])
        t[0] += job.progress_done
        end = job.finished_at or (now if job.state == m.JobState.RUNNING else None)
        if job.started_at and end and end >= since:
            t[1] += job.progress_done
            t[2] += max(0.0, (end - job.started_at).total_seconds())
    return [
        WorkerThroughput(name, int(p), recent / seconds if seconds > 0 else 0.0)
        for name, (p, recent, seconds) in sorted(totals.items())
    ]
