"""Scale-out: several worker processes share one library through Redis (queue) and PostgreSQL
(database), with no photo done twice and no job lost, even when a worker is killed.

Real servers from the Debian packages (tagmyphotos_lab/servers.py), real `tagmyphotos worker` consumers
in their own processes (tests/support/scaleout_worker.py adds the `probe` stage), real photos. The
claim race also runs on SQLite, unmarked, so the default suite covers the claim SQL too.
"""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import itertools
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import peewee as pw
import pytest

from tagmyphotos.config import Config
from tagmyphotos.core import Core
from tagmyphotos.store import claims
from tagmyphotos.store import jobs as jobs_store
from tagmyphotos.store import models as m
from tagmyphotos_lab.servers import Postgres, Redis, new_database
from tests.support.base import ROOT, make_config

# How long the workers get to empty the queue (64 photos, a few jobs) before the test fails.
DRAIN_TIMEOUT_S = 120
_db_names = itertools.count(1)


def _environ(library: Path, data: Path, tmp: Path, **extra: str) -> dict[str, str]:
    env = {
        "TAGMYPHOTOS_CONFIG": str(tmp / "absent-config.yaml"),
        "TAGMYPHOTOS_LIBRARY": str(library),
        "TAGMYPHOTOS_DATA": str(data),
        "TAGMYPHOTOS_SCAN__INTERVAL_MINUTES": "0",
    }
    env.update(extra)
    return env


def _scan(core: Core) -> int:
    from jobs.pipeline import STAGES
    from tagmyphotos.stages.runner import run_stage

    job_id = jobs_store.create_job("scan", {"no_follow": True})
    run_stage(core, STAGES["scan"], job_id)
    assert m.Job.get_by_id(job_id).state == m.JobState.DONE, m.Job.get_by_id(job_id).error
    return int(m.Photo.select().count())


# --- the claim race: N processes, one library -------------------------------------------------


def _claim_race(env: dict[str, str], processes: int, batch: int) -> tuple[list[list[int]], list[int]]:
    from tests.support.scaleout_worker import claim_all

    ctx = multiprocessing.get_context("spawn")
    with ctx.Manager() as manager, concurrent.futures.ProcessPoolExecutor(processes, mp_context=ctx) as pool:
        start = manager.Barrier(processes)
        results = list(pool.map(claim_all, [env] * processes, [batch] * processes, [start] * processes))
    return [claimed for claimed, _ in results], [i for _, done in results for i in done]


def _check_race(claimed: list[list[int]], finished: list[int], photo_ids: list[int]) -> None:
    everything = [i for ids in claimed for i in ids]
    assert Counter(everything).most_common(1)[0][1] == 1, "a photo was claimed by two processes"
    assert sorted(everything) == sorted(photo_ids), "every photo is claimed exactly once"
    assert sorted(finished) == sorted(photo_ids)
    assert sum(1 for ids in claimed if ids) >= 2, "the race had more than one participant"


def test_claim_race_sqlite(library: Path, tmp_path: Path) -> None:
    env = _environ(library, tmp_path / "data", tmp_path)
    core = Core(make_config(library, tmp_path / "data"))
    try:
        _scan(core)
        ids = [p.id for p in m.Photo.select(m.Photo.id)]
    finally:
        core.close()
    claimed, finished = _claim_race(env, processes=4, batch=3)
    _check_race(claimed, finished, ids)


@pytest.mark.scaleout
def test_claim_race_postgres(postgres: Postgres, library: Path, tmp_path: Path) -> None:
    url = new_database(postgres, f"race{next(_db_names)}")
    env = _environ(library, tmp_path / "data", tmp_path, TAGMYPHOTOS_DATABASE_URL=url)
    core = Core(make_config(library, tmp_path / "data", TAGMYPHOTOS_DATABASE_URL=url))
    try:
        assert isinstance(core.db, pw.PostgresqlDatabase)
        _scan(core)
        ids = [p.id for p in m.Photo.select(m.Photo.id)]
    finally:
        core.close()
    claimed, finished = _claim_race(env, processes=6, batch=2)
    _check_race(claimed, finished, ids)


# --- two real workers on Redis + PostgreSQL --------------------------------------------------


class Cluster:
    """Worker processes plus this process as the producer, sharing one Redis and one database."""

    def __init__(self, env: dict[str, str], cfg: Config, tmp: Path) -> None:
        from jobs.queue import configure_queue

        self.env, self.cfg, self.tmp = env, cfg, tmp
        self.workers: list[subprocess.Popen[bytes]] = []
        self.core = Core(cfg)
        configure_queue(cfg)

    def start_worker(self, threads: int = 1) -> subprocess.Popen[bytes]:
        log = open(self.tmp / f"worker{len(self.workers)}.log", "wb")  # noqa: SIM115
        proc = subprocess.Popen(
            [sys.executable, "-m", "tests.support.scaleout_worker", "worker", "--workers", str(threads)],
            cwd=ROOT, env={**os.environ, **self.env}, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        log.close()
        self.workers.append(proc)
        return proc

    def wait_consumers(self, threads: int, timeout_s: float = 60) -> None:
        """Until `threads` consumer threads wait on the queue (huey's Redis storage BRPOPs)."""
        import redis

        conn = redis.Redis.from_url(self.cfg.queue.redis_url)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            waiting = sum(1 for c in conn.client_list() if c.get("cmd") == "brpop")
            if waiting >= threads:
                return
            if any(p.poll() is not None for p in self.workers):
                break
            time.sleep(0.1)
        raise AssertionError(f"{threads} consumer threads not waiting on Redis:\n{self.logs()}")

    def logs(self) -> str:
        return "\n".join((self.tmp / f"worker{i}.log").read_text()[-2000:] for i in range(len(self.workers)))

    def enqueue(self, job_type: str, params: dict[str, Any]) -> int:
        from jobs.tasks import run_job

        job_id = jobs_store.create_job(job_type, params)
        run_job(job_id)
        return job_id

    def wait(self, job_ids: list[int], timeout_s: float = DRAIN_TIMEOUT_S) -> dict[int, str]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            states = {j.id: j.state for j in m.Job.select().where(m.Job.id.in_(job_ids))}
            if all(s in (m.JobState.DONE, m.JobState.FAILED, m.JobState.CANCELLED) for s in states.values()):
                return states
            time.sleep(0.2)
        raise AssertionError(f"jobs not finished in {timeout_s} s: {states}\nworker logs:\n{self.logs()}")

    def close(self) -> None:
        from jobs.queue import configure_queue

        for proc in self.workers:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
        for proc in self.workers:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        configure_queue(self.cfg, immediate=True)
        self.core.close()


@pytest.fixture
def cluster(postgres: Postgres, redis_server: Redis, library: Path, tmp_path: Path) -> Iterator[Cluster]:
    import redis

    redis.Redis.from_url(redis_server.url).flushall()
    url = new_database(postgres, f"cluster{next(_db_names)}")
    extra = {
        "TAGMYPHOTOS_DATABASE_URL": url,
        "TAGMYPHOTOS_QUEUE__BACKEND": "redis",
        "TAGMYPHOTOS_REDIS_URL": redis_server.url,
    }
    env = _environ(library, tmp_path / "data", tmp_path, **extra)
    c = Cluster(env, make_config(library, tmp_path / "data", **extra), tmp_path)
    try:
        yield c
    finally:
        c.close()


def _processed_events() -> Counter[str]:
    rows = m.JobEvent.select(m.JobEvent.path).where(m.JobEvent.message.startswith("processed by "))
    return Counter(str(r.path) for r in rows)


def _check_all_processed_once(total: int) -> None:
    events = _processed_events()
    assert len(events) == total, f"{total - len(events)} photos never processed"
    assert max(events.values()) == 1, f"processed twice: {[p for p, n in events.items() if n > 1]}"
    photos = list(m.Photo.select())
    assert all(p.state == m.PhotoState.DONE for p in photos)
    assert all(p.analyzed_hash == p.hash for p in photos), "each worker read the real file"


@pytest.mark.scaleout
def test_two_workers_share_one_library(cluster: Cluster) -> None:
    total = _scan(cluster.core)
    cluster.start_worker(threads=2)
    cluster.start_worker(threads=2)
    cluster.wait_consumers(4)
    jobs = [cluster.enqueue("probe", {"delay_s": 0.02}) for _ in range(6)]
    states = cluster.wait(jobs)
    assert set(states.values()) == {m.JobState.DONE}, "no job lost or failed"
    _check_all_processed_once(total)
    by = m.JobEvent.select(m.JobEvent.message).where(m.JobEvent.message.startswith("processed by "))
    hosts_pids = {str(e.message).rsplit(":", 1)[0] for e in by}
    assert len(hosts_pids) == 2, f"both worker processes took part: {sorted(hosts_pids)}"
    results = [m.Job.get_by_id(j).result for j in jobs]
    assert sum(r["processed"] for r in results) == total


@pytest.mark.scaleout
def test_killed_worker_loses_nothing(cluster: Cluster) -> None:
    total = _scan(cluster.core)
    victim = cluster.start_worker(threads=1)
    cluster.start_worker(threads=1)
    cluster.wait_consumers(2)
    jobs = [cluster.enqueue("probe", {"delay_s": 0.15}) for _ in range(2)]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and (
        len(_processed_events()) < 12 or m.Job.select().where(m.Job.state == m.JobState.RUNNING).count() < 2
    ):
        time.sleep(0.05)
    running = [j.id for j in m.Job.select().where(m.Job.state == m.JobState.RUNNING)]
    assert len(running) == 2, "each single-thread worker runs one job"
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=10)
    # What housekeeping does (with short limits here): requeue the dead run, free its photos.
    time.sleep(2.5)
    requeued = [j for j in running if claims.requeue_stale_job(j, m.utcnow() - dt.timedelta(seconds=2))]
    assert len(requeued) == 1, "only the dead worker's job is stale"
    reaped = claims.reap_photos(lease_s=2)
    from jobs.tasks import run_job

    run_job(requeued[0])
    states = cluster.wait(jobs)
    assert set(states.values()) == {m.JobState.DONE}, "the dead worker's job was run again to the end"
    _check_all_processed_once(total)
    assert not m.Photo.select().where(m.Photo.state == claims.PHOTO_CLAIMED).exists(), f"reaped {reaped}"
