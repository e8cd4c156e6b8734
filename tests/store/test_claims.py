"""Claims on a real SQLite database with a real scanned library: photos, jobs and leases."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest

from tagmyphotos.core import Core
from tagmyphotos.store import claims
from tagmyphotos.store import jobs as jobs_store
from tagmyphotos.store import models as m


@pytest.fixture
def scanned(core: Core) -> Iterator[Core]:
    from jobs.pipeline import STAGES
    from tagmyphotos.stages.runner import run_stage

    run_stage(core, STAGES["scan"], jobs_store.create_job("scan", {"no_follow": True}))
    yield core


def _state(photo_id: int) -> str:
    return str(m.Photo.get_by_id(photo_id).state)


def test_claims_take_disjoint_batches_oldest_first(scanned: Core) -> None:
    pending = [p.id for p in m.Photo.select(m.Photo.id).where(m.Photo.state == m.PhotoState.PENDING)]
    first, second = claims.claim_photos(5), claims.claim_photos(5)
    assert first.ids == sorted(pending)[:5]
    assert second.ids == sorted(pending)[5:10]
    assert all(_state(i) == claims.PHOTO_CLAIMED for i in first.ids + second.ids)
    rest = claims.claim_photos(10_000)
    assert len(rest.ids) == len(pending) - 10
    assert not claims.claim_photos(5), "nothing left to claim"


def test_finish_only_while_held(scanned: Core) -> None:
    claim = claims.claim_photos(3)
    a, b, c = claim.ids
    with scanned.db.atomic():
        assert claims.finish_photo(claim, a, m.PhotoState.DONE, analyzed_hash="x")
    assert _state(a) == m.PhotoState.DONE and m.Photo.get_by_id(a).analyzed_hash == "x"
    assert claim.ids == [b, c]
    # Another claimer never finishes photos it does not hold.
    other = claims.claim_photos(1)
    assert not claims.finish_photo(other, b, m.PhotoState.DONE)
    assert _state(b) == claims.PHOTO_CLAIMED


def test_expired_claim_is_reaped_and_the_late_result_refused(scanned: Core) -> None:
    slow = claims.claim_photos(2)
    later = m.utcnow() + dt.timedelta(seconds=claims.PHOTO_CLAIM_LEASE_S + 1)
    assert claims.reap_photos(now=later) == 2
    assert all(_state(i) == m.PhotoState.PENDING for i in slow.ids)
    fresh = claims.claim_photos(2)
    assert fresh.ids == slow.ids
    assert not claims.finish_photo(slow, slow.ids[0], m.PhotoState.DONE), "the dead worker's late write"
    assert claims.finish_photo(fresh, fresh.ids[0], m.PhotoState.DONE)


def test_renew_keeps_a_live_claim_and_reports_lost_photos(scanned: Core) -> None:
    claim = claims.claim_photos(3)
    ids = list(claim.ids)
    # The scanner saw the file change: it touched the row, the claim on it is void.
    m.Photo.update(state=m.PhotoState.PENDING, updated_at=m.utcnow()).where(m.Photo.id == ids[1]).execute()
    lost = claims.renew_photos(claim, now=m.utcnow() + dt.timedelta(seconds=30))
    assert lost == [ids[1]]
    assert claim.ids == [ids[0], ids[2]]
    assert claims.reap_photos(now=m.utcnow() + dt.timedelta(seconds=claims.PHOTO_CLAIM_LEASE_S)) == 0
    assert claims.finish_photo(claim, ids[2], m.PhotoState.DONE)


def test_release_gives_photos_back(scanned: Core) -> None:
    claim = claims.claim_photos(4)
    ids = list(claim.ids)
    assert claims.release_photos(claim, ids[:2]) == 2
    assert [_state(i) for i in ids] == [m.PhotoState.PENDING] * 2 + [claims.PHOTO_CLAIMED] * 2
    assert claims.release_photos(claim) == 2
    assert not claim
    assert claims.claim_photos(4).ids == ids


def test_claim_with_a_condition(scanned: Core) -> None:
    """Re-analysis after a model change claims done photos of another model too."""
    some = [p.id for p in m.Photo.select(m.Photo.id).limit(3)]
    m.Photo.update(state=m.PhotoState.DONE, analysis_model="old").where(m.Photo.id.in_(some)).execute()
    stale_model = (m.Photo.state == m.PhotoState.DONE) & (m.Photo.analysis_model != "new")
    claim = claims.claim_photos(10, where=stale_model)
    assert claim.ids == sorted(some)


def test_a_job_runs_once_per_queueing(scanned: Core) -> None:
    job_id = jobs_store.create_job("scan")
    first = claims.claim_job(job_id)
    assert first is not None and m.Job.get_by_id(job_id).state == m.JobState.RUNNING
    assert claims.claim_job(job_id) is None, "a duplicate delivery does nothing"
    assert claims.job_heartbeat(first, 3, 10)
    # Housekeeping gave the silent run up: exactly one of two ticks requeues it.
    future = m.utcnow() + dt.timedelta(minutes=10)
    assert [claims.requeue_stale_job(job_id, future), claims.requeue_stale_job(job_id, future)] == [
        True,
        False,
    ]
    second = claims.claim_job(job_id, now=m.utcnow() + dt.timedelta(seconds=1))
    assert second is not None
    assert not claims.job_heartbeat(first, 4), "the old run learns it lost the job"
    assert not claims.finish_job(first, m.JobState.DONE, {"by": "old"})
    assert claims.finish_job(second, m.JobState.DONE, {"by": "new"})
    job = m.Job.get_by_id(job_id)
    assert (job.state, job.result, job.progress_done) == (m.JobState.DONE, {"by": "new"}, 3)


def test_cancelled_job_is_not_claimed(scanned: Core) -> None:
    job_id = jobs_store.create_job("scan")
    m.Job.update(cancel_requested=True).where(m.Job.id == job_id).execute()
    assert claims.claim_job(job_id) is None


def test_leases(scanned: Core) -> None:
    now = m.utcnow()
    assert claims.acquire_lease("housekeeping", "a", 50, now)
    assert not claims.acquire_lease("housekeeping", "b", 50, now)
    assert claims.acquire_lease("housekeeping", "a", 50, now + dt.timedelta(seconds=10)), "own: extended"
    assert not claims.acquire_lease("housekeeping", "b", 50, now + dt.timedelta(seconds=55))
    assert claims.acquire_lease("housekeeping", "b", 50, now + dt.timedelta(seconds=61)), "expired: taken"
    assert not claims.release_lease("housekeeping", "a"), "only the holder releases"
    assert claims.release_lease("housekeeping", "b")
    assert claims.acquire_lease("housekeeping", "a", 50, now)
    assert claims.acquire_lease("other", "b", 50, now), "leases are independent"


def test_worker_presence_ages_out_and_attributes_jobs(core: Core) -> None:
    from tagmyphotos.store import workers

    t0 = m.utcnow()
    workers.announce(threads=3, now=t0)
    seen = workers.live_workers(now=t0 + dt.timedelta(seconds=1))
    assert [(w.name, w.threads) for w in seen] == [(workers.this_worker(), 3)]
    later = t0 + dt.timedelta(seconds=workers.WORKER_SEEN_S + 1)
    assert workers.live_workers(now=later) == [], "a worker that stopped announcing is gone"
    workers.announce(threads=3, now=later)
    assert len(workers.live_workers(now=later)) == 1, "announcing again refreshes the one row"
    workers.retire()
    assert workers.live_workers(now=later) == []
    # a claimed job names its worker, and its photos count for that worker
    job_id = jobs_store.create_job("analyze")
    claim = claims.claim_job(job_id, now=t0)
    assert claim is not None
    claims.job_heartbeat(claim, 10, 10)
    claims.finish_job(claim, m.JobState.DONE)
    m.Job.update(finished_at=t0 + dt.timedelta(seconds=4)).where(m.Job.id == job_id).execute()
    (mine,) = workers.analysis_by_worker(3600, now=t0 + dt.timedelta(seconds=5))
    assert (mine.worker, mine.photos, mine.per_second) == (workers.this_worker(), 10, 2.5)
    assert jobs_store.JobView.of(m.Job.get_by_id(job_id)).worker == workers.this_worker()
