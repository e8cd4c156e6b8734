"""Benchmark: /metrics scrape and photo claims on a NAS-sized synthetic library.

    scripts/bench ops [--photos 100000] [--postgres]

Rows are synthetic (this measures the queries, not the analysis): photos in every state, two
faces per photo, finished jobs and write audits. Figures are ratios to baselines measured in
the same run: a scrape against `status` (library_stats, what the CLI already does), a claimed
photo against a plain one-row state UPDATE.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import shutil
import tempfile
from pathlib import Path
from typing import Any

from tagmyphotos.config import load_config
from tagmyphotos.core import Core
from tagmyphotos.store import claims
from tagmyphotos.store import models as m
from tagmyphotos.system.metrics import LibraryCollector, render
from tagmyphotos.system.stats import library_stats
from tagmyphotos_lab.benchlib import best_of, emit, peak_rss_mb, print_table, timer

CHUNK = 5000


def fill(n_photos: int, n_jobs: int, n_writes: int, seed: int = 7) -> None:
    rnd = random.Random(seed)
    now = m.utcnow()
    states = [m.PhotoState.DONE] * 8 + [m.PhotoState.PENDING, m.PhotoState.FAILED]
    with m.database.atomic():
        for start in range(0, n_photos, CHUNK):
            rows = [
                {"path": f"{i // 500:04d}/IMG_{i:07d}.jpg", "size": 3_000_000, "mtime": 1.7e9,
                 "hash": f"{i:032x}", "state": rnd.choice(states)}
                for i in range(start, min(n_photos, start + CHUNK))
            ]  # fmt: skip
            m.Photo.insert_many(rows).execute()
        face_states = list(m.FACE_STATES)
        for start in range(1, n_photos + 1, CHUNK // 2):
            rows = [
                {"photo": pid, "x": 10, "y": 10, "w": 80, "h": 80, "state": rnd.choice(face_states)}
                for pid in range(start, min(n_photos + 1, start + CHUNK // 2))
                for _ in range(2)
            ]
            m.Face.insert_many(rows).execute()
        jobs = []
        for i in range(n_jobs):
            started = now - dt.timedelta(seconds=rnd.uniform(60, 86400 * 30))
            took = dt.timedelta(seconds=rnd.expovariate(1 / 120))
            state = m.JobState.DONE if i % 20 else m.JobState.FAILED
            jobs.append({"type": rnd.choice(["scan", "analyze", "match", "write", "notify"]), "state": state,
                         "progress_done": rnd.randint(0, 500), "started_at": started,
                         "finished_at": started + took, "params": {}})  # fmt: skip
        for start in range(0, len(jobs), CHUNK):
            m.Job.insert_many(jobs[start : start + CHUNK]).execute()
        for start in range(0, n_writes, CHUNK):
            rows = [
                {"path": f"p{i}.jpg", "mode": "in-file", "result": "ok" if i % 50 else "failed"}
                for i in range(start, min(n_writes, start + CHUNK))
            ]
            m.WriteAudit.insert_many(rows).execute()


def bench(core: Core, label: str, n_claim: int) -> dict[str, float]:
    collector = LibraryCollector(queue_depth=lambda: 0)
    with timer() as cold:
        body = render(collector)
    warm = best_of(3, lambda: render(collector))
    stats = best_of(3, library_stats)
    # claims: claim 16, finish each (one transaction per photo, as analysis stores results)
    pending = m.Photo.update(state=m.PhotoState.PENDING).where(m.Photo.id <= 2 * n_claim).execute()
    assert pending == 2 * n_claim
    with timer() as claimed:
        done = 0
        while done < n_claim:
            claim = claims.claim_photos(16)
            for pid in list(claim.ids):
                with core.db.atomic():
                    claims.finish_photo(claim, pid, m.PhotoState.DONE)
                done += 1
    ids = [r.id for r in m.Photo.select(m.Photo.id).where(m.Photo.state == m.PhotoState.PENDING).limit(n_claim)]
    with timer() as plain:
        for pid in ids:
            with core.db.atomic():
                m.Photo.update(state=m.PhotoState.DONE, updated_at=m.utcnow()).where(m.Photo.id == pid).execute()
    return {
        f"{label}_scrape_cold_s": round(cold["s"], 4),
        f"{label}_scrape_warm_s": round(warm, 4),
        f"{label}_status_s": round(stats, 4),
        f"{label}_scrape_warm_vs_status": round(warm / stats, 2),
        f"{label}_scrape_cold_vs_status": round(cold["s"] / stats, 2),
        f"{label}_claimed_photo_ms": round(1000 * claimed["s"] / n_claim, 3),
        f"{label}_plain_update_ms": round(1000 * plain["s"] / n_claim, 3),
        f"{label}_claim_vs_plain": round(claimed["s"] / plain["s"], 2),
        f"{label}_exposition_kb": round(len(body) / 1024, 1),
    }


def run(label: str, folder: Path, args: argparse.Namespace, url: str | None) -> dict[str, float]:
    env = {"TAGMYPHOTOS_LIBRARY": str(folder / "lib"), "TAGMYPHOTOS_DATA": str(folder / "data")}
    if url:
        env["TAGMYPHOTOS_DATABASE_URL"] = url
    core = Core(load_config(path=folder / "absent.yaml", environ=env))
    try:
        with timer() as t:
            fill(args.photos, args.jobs, args.writes)
        print(f"{label}: {args.photos} photos, {2 * args.photos} faces, {args.jobs} jobs in {t['s']:.1f} s")
        return bench(core, label, args.claims)
    finally:
        core.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=100_000)
    parser.add_argument("--jobs", type=int, default=20_000)
    parser.add_argument("--writes", type=int, default=50_000)
    parser.add_argument("--claims", type=int, default=2000)
    parser.add_argument("--postgres", action="store_true", help="also on a throwaway PostgreSQL server")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="tmp-bench-ops-"))
    figures: dict[str, Any] = {"photos": args.photos, "jobs": args.jobs}
    try:
        figures |= run("sqlite", folder / "sqlite", args, None)
        if args.postgres:
            from tagmyphotos_lab.servers import start_postgres

            pg = start_postgres()
            try:
                figures |= run("postgres", folder / "pg", args, pg.url)
            finally:
                pg.stop()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    figures["peak_rss_mb"] = peak_rss_mb()
    print_table(["figure", "value"], sorted(figures.items()))
    emit(figures)


if __name__ == "__main__":
    main()
