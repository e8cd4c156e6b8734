"""scripts/bench scaleout [--copies 2] [--analysis-workers 1]: analysis throughput of the
distributed path (Redis queue + PostgreSQL, `tagmyphotos worker` processes) with 1 worker
process vs 2, and vs the single-process SQLite default, in one run.

Each setup analyses the same library (the testdata photos, `--copies` times, each copy made
distinct by trailing bytes after the JPEG end so the scanner sees new files) from a fresh
database: SQLite runs the analyze stage in this process, as `tagmyphotos analyze --wait` does;
the distributed setups start the worker processes first (real redis-server and PostgreSQL from
the Debian packages, as tagmyphotos_lab/servers.py starts them), queue one analyze job through Redis and
time until every analyze job (the lead and one helper per other worker) is done. Each process
analyses with `--analysis-workers` processes of its own (1: one core per worker process).
The machine may be shared: the 1-minute load average is printed with the figures.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from tagmyphotos.config import Config, load_config
from tagmyphotos.core import Core
from tagmyphotos.store import jobs as jobs_store
from tagmyphotos.store import models as m
from tagmyphotos.store import workers
from tagmyphotos_lab.benchlib import FACES_DIR, ROOT, emit, print_table
from tagmyphotos_lab.servers import Postgres, Redis, new_database, start_postgres, start_redis

# A setup that has not finished its analysis by then is reported as failed (seconds).
RUN_TIMEOUT_S = 1800


def make_library(folder: Path, copies: int) -> int:
    folder.mkdir(parents=True)
    n = 0
    for k in range(copies):
        for src in sorted(FACES_DIR.glob("*.jpg")):
            data = src.read_bytes() + (b"" if k == 0 else b"\0copy%d" % k)  # after EOI: same pixels
            (folder / f"{src.stem}-{k}.jpg").write_bytes(data)
            n += 1
    return n


def _config(library: Path, data: Path, env: dict[str, str]) -> Config:
    return load_config(path=data / "absent.yaml", environ=env)


def _env(library: Path, data: Path, analysis_workers: int, **extra: str) -> dict[str, str]:
    exiftool = ROOT / ".venv" / "opt" / "exiftool" / "exiftool"
    env = {
        "TAGMYPHOTOS_CONFIG": str(data / "absent.yaml"),
        "TAGMYPHOTOS_LIBRARY": str(library),
        "TAGMYPHOTOS_DATA": str(data),
        "TAGMYPHOTOS_SCAN__INTERVAL_MINUTES": "0",
        "TAGMYPHOTOS_ANALYSIS__WORKERS": str(analysis_workers),
        **({"TAGMYPHOTOS_WRITE__EXIFTOOL": str(exiftool)} if exiftool.exists() else {}),
    }
    env.update(extra)
    return env


def _scan(core: Core) -> None:
    from jobs.pipeline import STAGES
    from tagmyphotos.stages.runner import run_stage

    run_stage(core, STAGES["scan"], jobs_store.create_job("scan", {"no_follow": True}))


def run_sqlite(base: Path, library: Path, analysis_workers: int) -> dict[str, Any]:
    """The default: SQLite in the data folder, the analyze stage in this one process."""
    from jobs.pipeline import STAGES
    from tagmyphotos.stages.runner import run_stage

    data = base / "sqlite-data"
    core = Core(_config(library, data, _env(library, data, analysis_workers)))
    try:
        _scan(core)
        job_id = jobs_store.create_job("analyze", {"no_follow": True})
        start = time.perf_counter()
        run_stage(core, STAGES["analyze"], job_id)
        seconds = time.perf_counter() - start
        job = m.Job.get_by_id(job_id)
        assert job.state == m.JobState.DONE, job.error
        return {"photos": job.result["photos"], "seconds": seconds, "jobs": 1, "by_worker": {}}
    finally:
        core.close()


def run_distributed(
    base: Path, library: Path, analysis_workers: int, processes: int, pg: Postgres, redis_server: Redis
) -> dict[str, Any]:
    """`processes` x `tagmyphotos worker` on Redis + PostgreSQL; this process only queues."""
    import redis

    from jobs.queue import configure_queue
    from jobs.tasks import run_job

    redis.Redis.from_url(redis_server.url).flushall()
    data = base / f"pg{processes}-data"
    extra = {"TAGMYPHOTOS_DATABASE_URL": new_database(pg, f"bench{processes}"),
             "TAGMYPHOTOS_QUEUE__BACKEND": "redis", "TAGMYPHOTOS_REDIS_URL": redis_server.url}  # fmt: skip
    env = _env(library, data, analysis_workers, **extra)
    core = Core(_config(library, data, env))
    configure_queue(core.cfg)
    procs: list[subprocess.Popen[bytes]] = []
    try:
        _scan(core)
        child_env = {k: v for k, v in os.environ.items() if not k.startswith("TAGMYPHOTOS_")}
        child_env.update(env, PYTHONPATH=str(ROOT))
        for i in range(processes):
            log = open(base / f"worker{processes}-{i}.log", "wb")  # noqa: SIM115
            procs.append(subprocess.Popen([sys.executable, "-m", "tagmyphotos_app", "worker", "--workers", "1"],
                                          cwd=ROOT, env=child_env, stdout=log, stderr=subprocess.STDOUT))  # fmt: skip
            log.close()
        _wait(lambda: len(workers.live_workers()) >= processes, 120, "workers announced")
        job_id = jobs_store.create_job("analyze", {"no_follow": True})
        start = time.perf_counter()
        run_job(job_id)
        _wait(lambda: _analysis_over(job_id), RUN_TIMEOUT_S, "analysis")
        seconds = time.perf_counter() - start
        jobs = list(m.Job.select().where(m.Job.type == "analyze"))
        failed = [(j.id, j.error) for j in jobs if j.state != m.JobState.DONE]
        assert not failed, failed
        by_worker = {w.worker: w.photos for w in workers.analysis_by_worker(RUN_TIMEOUT_S)}
        photos = sum(j.result["photos"] for j in jobs)
        return {"photos": photos, "seconds": seconds, "jobs": len(jobs), "by_worker": by_worker}
    finally:
        for p in procs:
            p.send_signal(signal.SIGINT)
        for p in procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
        configure_queue(core.cfg, immediate=True)
        core.close()


def _analysis_over(lead: int) -> bool:
    jobs = list(m.Job.select().where((m.Job.id == lead) | (m.Job.parent == lead)))
    return all(j.state in (m.JobState.DONE, m.JobState.FAILED, m.JobState.CANCELLED) for j in jobs)


def _wait(check: Any, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise SystemExit(f"bench scaleout: timed out waiting for {what}")
        time.sleep(0.2)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--copies", type=int, default=2, help="copies of the 64 testdata photos (default 2)")
    ap.add_argument("--analysis-workers", type=int, default=1, help="analysis processes per worker process")
    args = ap.parse_args()
    from jobs import runtime, tasks  # noqa: F401  (registers the tasks)

    base = Path(tempfile.mkdtemp(prefix="tmp-bench-scaleout-"))
    pg, redis_server = start_postgres(), start_redis()
    try:
        photos = make_library(base / "library", args.copies)
        runs = {"sqlite": run_sqlite(base, base / "library", args.analysis_workers)}
        for n in (1, 2):
            runs[f"workers{n}"] = run_distributed(base, base / "library", args.analysis_workers, n, pg, redis_server)
    finally:
        pg.stop()
        redis_server.stop()
        shutil.rmtree(base, ignore_errors=True)
    rate = {k: r["photos"] / r["seconds"] for k, r in runs.items()}
    rows = [
        ["SQLite, 1 process (default)", 1, runs["sqlite"]["photos"], runs["sqlite"]["seconds"], rate["sqlite"],
         1.0, ""],
        *[[f"Redis + PostgreSQL, {n} worker process{'es' if n > 1 else ''}", n, runs[f"workers{n}"]["photos"],
           runs[f"workers{n}"]["seconds"], rate[f"workers{n}"], rate[f"workers{n}"] / rate["sqlite"],
           ", ".join(f"{v}" for v in runs[f"workers{n}"]["by_worker"].values())] for n in (1, 2)],
    ]  # fmt: skip
    print(f"{photos} photos, {args.analysis_workers} analysis process(es) per worker, "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")  # fmt: skip
    print_table(["setup", "processes", "photos", "seconds", "photos/s", "vs SQLite", "photos per worker"], rows)
    overhead = 1 - rate["workers1"] / rate["sqlite"]
    scaling = rate["workers2"] / rate["workers1"]
    print(f"distributed path overhead (1 worker vs SQLite in-process): {overhead:+.1%}; 2 workers vs 1: {scaling:.2f}x")
    emit({
        "photos": photos,
        "sqlite_photos_per_s": round(rate["sqlite"], 3),
        "one_worker_photos_per_s": round(rate["workers1"], 3),
        "two_workers_photos_per_s": round(rate["workers2"], 3),
        "two_vs_one_worker": round(scaling, 3),
        "one_worker_vs_sqlite": round(rate["workers1"] / rate["sqlite"], 3),
        "distributed_overhead": round(overhead, 3),
        "load_average": round(os.getloadavg()[0], 2),
    })  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
