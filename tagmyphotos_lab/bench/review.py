"""Review service benchmark: suggestion refresh, a confirmation's latency, bulk accept and undo,
clustering, all through the database (SQLite), on synthetic testdata-shaped embeddings.

Baseline, measured in the same run: the DB-free matching core (Matcher.suggest + the per-photo
assignment) on the same faces held in memory; the DB figures are reported as ratios to it.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import peewee as pw

from tagmyphotos.config import Config
from tagmyphotos.core import Core
from tagmyphotos.matching.assign import assign_per_photo
from tagmyphotos.matching.match import Matcher
from tagmyphotos.review import confirm
from tagmyphotos.store import models as m
from tagmyphotos.suggest import clusters
from tagmyphotos.suggest import refresh as suggest
from tagmyphotos_lab.benchlib import cpu_count, emit, peak_rss_mb, print_table, timer
from tagmyphotos_lab.match_data import load_testdata_faces, synthetic_faces


def populate(n: int, people: int, seed: int) -> tuple[str, np.ndarray, np.ndarray, np.ndarray]:
    """n confirmed faces of `people` persons; n unknown faces (1-4 per photo), half strangers."""
    real = load_testdata_faces()
    # n confirmed faces + n // 2 more of the same people, and n // 2 faces of strangers
    known, labels = synthetic_faces(real, n + n // 2, people, seed=seed)
    strangers, _ = synthetic_faces(real, n - n // 2, max(1, people // 2), seed=seed + 1)
    vecs = np.concatenate([known, strangers])
    model = real.embedding_id
    rng = np.random.default_rng(seed)
    with m.database.atomic():
        m.Person.insert_many([{"name": f"Person {p:05d}"} for p in range(people)]).execute()
        pid = {int(i) for (i,) in m.rows(m.Person.select(m.Person.id))}
        first = min(pid)
        sizes = np.concatenate([np.ones(n, int), rng.integers(1, 5, size=n)])
        photo_rows, face_rows, photo_no = [], [], 0
        f = 0
        while f < 2 * n:
            k = int(sizes[f]) if f >= n else 1
            photo_no += 1
            photo_rows.append({"path": f"p/{photo_no:07d}.jpg", "size": 1, "mtime": 0.0, "state": m.PhotoState.DONE})
            for j in range(min(k, 2 * n - f)):
                confirmed = f < n
                face_rows.append(
                    {
                        "photo": photo_no,
                        "x": 300 * j,
                        "y": 0,
                        "w": 200,
                        "h": 200,
                        "quality": 0.9,
                        "embedding": vecs[f].tobytes(),
                        "model": model,
                        "state": m.FaceState.CONFIRMED if confirmed else m.FaceState.UNKNOWN,
                        "person": first + int(labels[f]) if confirmed else None,
                    }
                )
                f += 1
        for lo in range(0, len(photo_rows), 5000):
            m.Photo.insert_many(photo_rows[lo : lo + 5000]).execute()
        for lo in range(0, len(face_rows), 2000):
            m.Face.insert_many(face_rows[lo : lo + 2000]).execute()
    from tagmyphotos.review.people import recount

    with m.database.atomic():
        recount(pid)
    return model, vecs, labels, sizes


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--faces", type=int, default=50_000, help="confirmed faces (and as many unknown)")
    ap.add_argument("--confirms", type=int, default=20, help="single confirmations timed")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    n = args.faces
    people = max(1, n // 20)
    with tempfile.TemporaryDirectory() as tmp:
        cfg = Config(library=Path(tmp) / "library", data=Path(tmp) / "data")
        core = Core(cfg)
        with timer() as t_pop:
            model, vecs, labels, _ = populate(n, people, args.seed)
        unknown = [int(i) for (i,) in m.rows(m.Face.select(m.Face.id).where(m.Face.state == m.FaceState.UNKNOWN))]
        photo_of = dict(m.rows(m.Face.select(m.Face.id, m.Face.photo).where(m.Face.state == m.FaceState.UNKNOWN)))
        confirmed = m.rows(m.Face.select(m.Face.id, m.Face.person).where(m.Face.state == m.FaceState.CONFIRMED))
        vec_of = {
            int(f): np.frombuffer(bytes(b), np.float32) for f, b in m.rows(m.Face.select(m.Face.id, m.Face.embedding))
        }

        # Baseline: the matching core alone, everything in memory (with a built Annoy index).
        settings = suggest.match_settings(cfg, model)
        base = Matcher.in_memory(settings, vecs.shape[1])
        with timer() as t_base_load:
            base.set_confirmed(
                [f for f, _ in confirmed],
                np.stack([vec_of[f] for f, _ in confirmed]),
                [p for _, p in confirmed],
            )
        with timer() as t_base:
            s = base.suggest(unknown, np.stack([vec_of[f] for f in unknown]))
            assign_per_photo(s, photo_of, base)

        with timer() as t_build:
            suggest.rebuild_index(core, force=True)
        suggest.reset_cache(core)
        with timer() as t_cold:
            cold = suggest.refresh_suggestions(core)
        with timer() as t_warm:
            suggest.refresh_suggestions(core)

        rng = np.random.default_rng(args.seed)
        lat = []
        for face in rng.choice(unknown, size=args.confirms, replace=False).tolist():
            row = m.Face.get_by_id(face)
            who = row.suggested_person_id or m.Person.select().first().id
            start = time.perf_counter()
            result = confirm.confirm(core, [face], int(who))
            lat.append(time.perf_counter() - start)
        refreshed = result.refreshed
        top = (
            m.Face.select(m.Face.suggested_person)
            .where(m.Face.band == "likely")
            .group_by(m.Face.suggested_person)
            .order_by(pw.fn.COUNT(m.Face.id).desc())
            .first()
        )
        with timer() as t_accept:
            accepted = confirm.accept_likely(core, int(top.suggested_person_id))
        with timer() as t_undo:
            confirm.undo_last(core)
        with timer() as t_all:
            everyone = confirm.accept_likely(core)
        with timer() as t_undo_all:
            confirm.undo_last(core)
        with timer() as t_clusters:
            cl = clusters.refresh_clusters(core)
        with timer() as t_clusters2:
            clusters.refresh_clusters(core)
        core.close()

    confirm_ms = 1000 * statistics.median(lat)
    rows = [
        ("populate database (s)", round(t_pop["s"], 1), f"{2 * n} faces, {people} people"),
        ("baseline: matcher load (s)", round(t_base_load["s"], 2), "DB-free, exact, person statistics"),
        ("baseline: suggest + assign (s)", round(t_base["s"], 2), f"{n} unknown faces in memory"),
        ("index build (s)", round(t_build["s"], 2), f"{n} confirmed faces"),
        ("cold full refresh (s)", round(t_cold["s"], 2), f"load + judge + write; {cold.likely} likely"),
        ("warm full refresh (s)", round(t_warm["s"], 2), f"x{t_warm['s'] / t_base['s']:.2f} of the baseline"),
        ("confirm one face (ms, median)", round(confirm_ms, 1), f"incl. refresh of {refreshed} faces"),
        ("accept likely, one person (s)", round(t_accept["s"], 2), f"{len(accepted.changed)} faces"),
        ("undo it (s)", round(t_undo["s"], 2), ""),
        ("accept likely, everybody (s)", round(t_all["s"], 2), f"{len(everyone.changed)} faces"),
        ("undo it (s)", round(t_undo_all["s"], 2), ""),
        ("cluster unknown faces (s)", round(t_clusters["s"], 2), f"{cl.clusters} clusters of {cl.clustered}"),
        ("clusters again, incremental (s)", round(t_clusters2["s"], 2), "nothing new"),
        ("peak RSS (MB)", peak_rss_mb(), f"{cpu_count()} cores"),
    ]
    print_table(["figure", "value", "note"], rows)
    emit(
        {
            "faces": 2 * n,
            "baseline_refresh_s": round(t_base["s"], 2),
            "cold_refresh_s": round(t_cold["s"], 2),
            "warm_refresh_s": round(t_warm["s"], 2),
            "warm_refresh_vs_baseline": round(t_warm["s"] / t_base["s"], 2),
            "confirm_ms": round(confirm_ms, 1),
            "accept_all_s": round(t_all["s"], 2),
            "accept_all_faces": len(everyone.changed),
            "undo_all_s": round(t_undo_all["s"], 2),
            "cluster_s": round(t_clusters["s"], 2),
            "peak_rss_mb": peak_rss_mb(),
        }
    )


if __name__ == "__main__":
    main()
