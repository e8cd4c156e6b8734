"""Claims: many workers (threads, processes, machines) share one library without doing a photo
or a job twice, and without losing one when a worker dies.

- A job is claimed by one conditional UPDATE (queued -> running). The start time written then
  is the run's fencing token: a duplicate delivery of the message, or a run that housekeeping
  gave up on and queued again, finds the row changed and its writes are refused.
- Photos are claimed in batches, pending -> analyzing, by one UPDATE whose WHERE repeats the
  state test. PostgreSQL picks the rows with FOR UPDATE SKIP LOCKED, so concurrent claimers
  take different photos without waiting; SQLite runs the statement under its single write
  lock. The claim time written to `updated_at` is the fencing token: a claim not renewed within
  the lease (the worker was killed) goes back to pending, and the old worker's late result is
  refused. Anything else that touches the photo (the scanner saw the file change) also voids
  the claim, which is what we want: the result would be for the old file.
- A lease is a named lock with an expiry in the setting table, for work that must happen once
  across all processes per period (the housekeeping tick, the scheduled rescan).
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import threading
from dataclasses import dataclass, field
from typing import Any

import peewee as pw

from tagmyphotos.config import mask_urls_in
from tagmyphotos.store import models as m

# A claimed photo whose worker has not renewed the claim for this long goes back to the pending
# pool (the worker died). Claims are renewed after every photo, so this only has to outlast the
# slowest single photo (a 12-MP photo takes seconds on a NAS core, a 100-MP panorama ~1 min).
PHOTO_CLAIM_LEASE_S = 600

# A photo that is being analysed (claimed by one worker).
PHOTO_CLAIMED = m.PhotoState.ANALYZING
_LEASE_PREFIX = "lease:"


def worker_name() -> str:
    """Who holds a claim: host, process and thread (shown in logs and lease rows)."""
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


def _is_postgres(db: pw.Database) -> bool:
    return isinstance(db, pw.PostgresqlDatabase)


def _db() -> pw.Database:
    return m.database.obj  # type: ignore[no-any-return]


# --- photos --------------------------------------------------------------------------------


@dataclass
class PhotoClaim:
    """Photos one worker holds. `token` is the claim time stamped on every held row."""

    token: dt.datetime
    ids: list[int] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.ids)


def claim_photos(
    limit: int, where: pw.Expression | None = None, now: dt.datetime | None = None
) -> PhotoClaim:
    """Take up to `limit` photos (default: pending ones, oldest id first) for this worker."""
    cond = where if where is not None else (m.Photo.state == m.PhotoState.PENDING)
    token = now or m.utcnow()
    pick = m.Photo.select(m.Photo.id).where(cond).order_by(m.Photo.id).limit(limit)
    if _is_postgres(_db()):
        pick = pick.for_update(skip_locked=True)
    # A MATERIALIZED CTE runs the pick once: as a plain IN (subquery) PostgreSQL may run it
    # again per row and then claims every pending photo, whatever the limit (seen here).
    picked = pick.cte("picked", materialized=True)
    query = (
        m.Photo.update(state=PHOTO_CLAIMED, updated_at=token)
        .with_cte(picked)
        .where(m.Photo.id.in_(picked.select(picked.c.id)) & cond)
        .returning(m.Photo.id)
    )
    with _db().atomic():
        ids = sorted(int(row.id) for row in query.execute())
    return PhotoClaim(token, ids)


def renew_photos(claim: PhotoClaim, now: dt.datetime | None = None) -> list[int]:
    """Extend the lease of the photos still held; drop (and return) the ones lost meanwhile."""
    if not claim.ids:
        return []
    token = now or m.utcnow()
    with _db().atomic():
        held = m.Photo.update(updated_at=token).where(_held(claim)).returning(m.Photo.id).execute()
        kept = {int(row.id) for row in held}
    lost = [i for i in claim.ids if i not in kept]
    claim.ids = [i for i in claim.ids if i in kept]
    claim.token = token
    return lost


def finish_photo(claim: PhotoClaim, photo_id: int, state: str, **values: Any) -> bool:
    """Set a claimed photo's final state (and other columns) if this worker still holds it.

    Call it first inside the transaction that stores the photo's results, and roll back when it
    returns False: the row is then locked (PostgreSQL) or the database is (SQLite) until commit,
    so nobody can take the photo between the check and the result.
    """
    values.setdefault("updated_at", m.utcnow())
    n = m.Photo.update(state=state, **values).where(_held(PhotoClaim(claim.token, [photo_id]))).execute()
    if photo_id in claim.ids:
        claim.ids.remove(photo_id)
    return n == 1


def release_photos(claim: PhotoClaim, ids: list[int] | None = None) -> int:
    """Give photos back (cancel, shutdown): they become pending for any worker."""
    chosen = [i for i in claim.ids if ids is None or i in ids]
    if not chosen:
        return 0
    n = (
        m.Photo.update(state=m.PhotoState.PENDING, updated_at=m.utcnow())
        .where(_held(PhotoClaim(claim.token, chosen)))
        .execute()
    )
    claim.ids = [i for i in claim.ids if i not in chosen]
    return int(n)


def reap_photos(lease_s: float = PHOTO_CLAIM_LEASE_S, now: dt.datetime | None = None) -> int:
    """Claims not renewed within the lease (their worker died) go back to pending."""
    now = now or m.utcnow()
    expired = now - dt.timedelta(seconds=lease_s)
    return int(
        m.Photo.update(state=m.PhotoState.PENDING, updated_at=now)
        .where((m.Photo.state == PHOTO_CLAIMED) & (m.Photo.updated_at < expired))
        .execute()
    )


def _held(claim: PhotoClaim) -> pw.Expression:
    return m.Photo.id.in_(claim.ids) & (m.Photo.state == PHOTO_CLAIMED) & (m.Photo.updated_at == claim.token)


# --- jobs ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class JobClaim:
    job_id: int
    token: dt.datetime  # the started_at this run wrote


def claim_job(job_id: int, now: dt.datetime | None = None) -> JobClaim | None:
    """queued -> running for exactly one caller; None if another run has it, or it is over."""
    token = now or m.utcnow()
    n = (
        m.Job.update(
            state=m.JobState.RUNNING, started_at=token, heartbeat_at=token, error=None,
            worker_host=socket.gethostname()[:255], worker_pid=os.getpid(),
        )  # fmt: skip
        .where((m.Job.id == job_id) & (m.Job.state == m.JobState.QUEUED) & (m.Job.cancel_requested == False))  # noqa: E712
        .execute()
    )
    return JobClaim(job_id, token) if n == 1 else None


def _owns(claim: JobClaim) -> pw.Expression:
    return (m.Job.id == claim.job_id) & (m.Job.state == m.JobState.RUNNING) & (m.Job.started_at == claim.token)


def job_heartbeat(claim: JobClaim, done: int, total: int | None = None, errors: int | None = None) -> bool:
    """Progress + liveness; False when this run no longer owns the job (stop working then)."""
    values: dict[str, Any] = {"progress_done": done, "heartbeat_at": m.utcnow()}
    if total is not None:
        values["progress_total"] = total
    if errors is not None:
        values["errors"] = errors
    return int(m.Job.update(values).where(_owns(claim)).execute()) == 1


def finish_job(
    claim: JobClaim, state: str, result: dict[str, Any] | None = None, error: str | None = None
) -> bool:
    """Final state, only if this run still owns the job (URLs in the error masked)."""
    error = None if error is None else mask_urls_in(error)
    n = (
        m.Job.update(state=state, result=result, error=error, finished_at=m.utcnow())
        .where(_owns(claim))
        .execute()
    )
    return int(n) == 1


def requeue_own_job(claim: JobClaim) -> bool:
    """running -> queued for a job this run still owns (it is stopping before the job is done)."""
    return int(m.Job.update(state=m.JobState.QUEUED).where(_owns(claim)).execute()) == 1


def requeue_stale_job(job_id: int, stale_before: dt.datetime) -> bool:
    """running -> queued when its heartbeat is older than `stale_before`; True for one caller
    only, so two housekeeping ticks on two machines never send the job twice."""
    n = (
        m.Job.update(state=m.JobState.QUEUED)
        .where(
            (m.Job.id == job_id)
            & (m.Job.state == m.JobState.RUNNING)
            & ((m.Job.heartbeat_at < stale_before) | m.Job.heartbeat_at.is_null())
        )
        .execute()
    )
    return int(n) == 1


# --- leases --------------------------------------------------------------------------------


def acquire_lease(name: str, owner: str, ttl_s: float, now: dt.datetime | None = None) -> bool:
    """Hold `name` for ttl_s seconds: True for one owner at a time (re-acquiring one's own
    lease extends it). Compare-and-set on the setting row, so it works on both databases."""
    now = now or m.utcnow()
    key = _LEASE_PREFIX + name
    value = {"owner": owner, "until": (now + dt.timedelta(seconds=ttl_s)).isoformat()}
    try:
        with _db().atomic():
            m.Setting.insert(key=key, value=value).execute()
        return True
    except pw.IntegrityError:
        pass
    row = m.Setting.get_or_none(m.Setting.key == key)
    if row is None:  # released between our insert and read: try once more from scratch
        return acquire_lease(name, owner, ttl_s, now)
    old = row.value or {}
    if old.get("owner") != owner and dt.datetime.fromisoformat(old.get("until", "1970-01-01")) > now:
        return False
    n = m.Setting.update(value=value).where((m.Setting.key == key) & (m.Setting.value == old)).execute()
    return int(n) == 1


def release_lease(name: str, owner: str) -> bool:
    key = _LEASE_PREFIX + name
    row = m.Setting.get_or_none(m.Setting.key == key)
    if row is None or (row.value or {}).get("owner") != owner:
        return False
    query = m.Setting.delete().where((m.Setting.key == key) & (m.Setting.value == row.value))
    return int(query.execute()) == 1


# --- orphaned claims of this machine ---------------------------------------------------------
_ANALYZER_PREFIX = "analyzer:"
_local = threading.Lock()
_local_claimers = 0  # threads of this process inside an analysis run


def register_claimer() -> None:
    """Note that this process analyses (so a later run can tell if it died) and count the thread."""
    global _local_claimers
    with _local:
        _local_claimers += 1
    host, pid = socket.gethostname(), os.getpid()
    m.put_setting(f"{_ANALYZER_PREFIX}{host}:{pid}", {"host": host, "pid": pid})


def unregister_claimer() -> int:
    """Count this thread out; returns how many threads of this process still analyse."""
    global _local_claimers
    with _local:
        _local_claimers -= 1
        return _local_claimers


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def reap_orphaned_claims() -> int:
    """Photos a killed analysis left claimed go back to pending at once, when no analysis
    process that could hold them is alive (otherwise the lease, reap_photos, frees them later).

    Only processes of this machine can be checked; a claimer on another machine counts alive."""
    with _local:
        if _local_claimers > 1:  # another thread of this process is analysing right now
            return 0
    host, me = socket.gethostname(), os.getpid()
    for row in m.Setting.select().where(m.Setting.key.startswith(_ANALYZER_PREFIX)):
        owner = row.value or {}
        if owner.get("host") != host:
            return 0
        pid = int(owner.get("pid", 0))
        if pid == me:
            continue
        if _pid_alive(pid):
            return 0
        row.delete_instance()
    return reap_photos(lease_s=0)
