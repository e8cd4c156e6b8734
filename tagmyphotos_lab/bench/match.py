"""scripts/bench match: nearest-neighbour search and a full suggestion refresh at 100k faces.

Synthetic embeddings shaped like the real testdata ones (tagmyphotos_lab/match_data.py): N confirmed
faces of N/20 identities in the index, and as many unknown faces of the same identities,
grouped into photos of 1-4 faces. In one run: Annoy (through NeighbourIndex.query, one face per
call as the UI asks) against brute-force numpy on the same queries (recall@10 and latency),
index build time and size, the person statistics, and a full refresh (suggest + one person
per photo) of every unknown face. Figures are also given as ratios to the brute-force baseline.
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
from pathlib import Path

import numpy as np

from tagmyphotos.matching.assign import assign_per_photo
from tagmyphotos.matching.cluster import ClusterSettings, cluster_faces, update_clusters
from tagmyphotos.matching.index import IndexSpec, NeighbourIndex
from tagmyphotos.matching.knn import exact_knn
from tagmyphotos.matching.match import Matcher, MatchSettings
from tagmyphotos_lab.benchlib import cpu_count, emit, peak_rss_mb, print_table, timer
from tagmyphotos_lab.match_data import load_testdata_faces, synthetic_faces


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--faces", type=int, default=100_000, help="confirmed faces (and unknown ones)")
    ap.add_argument("--queries", type=int, default=1000, help="single-face queries timed")
    ap.add_argument("--cluster", type=int, default=20_000, help="unknown faces clustered from scratch")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    n, k = args.faces, 10
    load = round(os.getloadavg()[0], 2)

    real = load_testdata_faces()
    with timer() as t_syn:
        vecs, labels = synthetic_faces(real, 2 * n, max(1, n // 20), seed=args.seed)
    conf_v, conf_l, unk_v, unk_l = vecs[:n], labels[:n], vecs[n:], labels[n:]
    settings = MatchSettings.for_model("Dlib")
    rows = []

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "index"
        index = NeighbourIndex(folder, IndexSpec(real.embedding_id, conf_v.shape[1], "euclidean"))
        index.set_items(np.arange(n), conf_v)
        meta = index.build()
        size_mb = sum(p.stat().st_size for p in folder.iterdir()) / 1e6
        q = unk_v[: args.queries]

        with timer() as t_ann:
            ann = [index.query(v, k)[0][0] for v in q]
        with timer() as t_brute:
            brute = [exact_knn(v[None, :], conf_v, np.arange(n), k)[0][0] for v in q]
        with timer() as t_batch:
            exact_knn(q, conf_v, np.arange(n), k)
        recall = float(np.mean([len(set(a.tolist()) & set(b.tolist())) / k for a, b in zip(ann, brute, strict=True)]))
        ann_ms = 1000 * t_ann["s"] / len(q)
        brute_ms = 1000 * t_brute["s"] / len(q)
        batch_ms = 1000 * t_batch["s"] / len(q)

        # A stale index: 200 confirmations and 100 removals since the build (hybrid search).
        index.add(np.arange(n, n + 200), unk_v[-200:])
        index.remove(np.arange(100))
        with timer() as t_stale:
            stale = [index.query(v, k)[0][0] for v in q]
        live_v = np.concatenate([conf_v[100:], unk_v[-200:]])
        live_ids = np.concatenate([np.arange(100, n), np.arange(n, n + 200)])
        truth = exact_knn(q, live_v, live_ids, k)[0]
        stale_recall = float(
            np.mean([len(set(a.tolist()) & set(b.tolist())) / k for a, b in zip(stale, truth, strict=True)])
        )
        stale_ms = 1000 * t_stale["s"] / len(q)

        index = NeighbourIndex(folder, IndexSpec(real.embedding_id, conf_v.shape[1], "euclidean"))
        matcher = Matcher(index, settings)
        with timer() as t_stats:
            matcher.set_confirmed(list(range(n)), conf_v, conf_l.tolist())
        # Unknown faces in photos of 1-4 faces.
        rng = np.random.default_rng(args.seed)
        sizes = rng.integers(1, 5, size=n)
        photo_of = dict(enumerate(np.repeat(np.arange(len(sizes)), sizes)[:n].tolist()))
        face_ids = list(range(n, 2 * n))
        photo_of = {n + f: p for f, p in photo_of.items()}
        cpu0 = _cpu_s()
        with timer() as t_suggest:
            sugg = matcher.suggest(face_ids, unk_v)
        with timer() as t_assign:
            sugg = assign_per_photo(sugg, photo_of, matcher)
        refresh_s = t_suggest["s"] + t_assign["s"]
        refresh_cpu = _cpu_s() - cpu0
        truth_l = dict(zip(face_ids, unk_l.tolist(), strict=True))
        likely = [s for s in sugg if s.band == "likely"]
        named = [s for s in sugg if s.band]
        lp = sum(s.person_id == truth_l[s.face_id] for s in likely) / max(1, len(likely))
        ap_ = sum(s.person_id == truth_l[s.face_id] for s in named) / max(1, len(named))

    # Clustering: unknown faces from scratch, then 1000 new faces incrementally.
    cs = ClusterSettings.for_model("Dlib")
    nc = min(args.cluster, n - 1000)
    with timer() as t_cluster:
        clusters = cluster_faces(range(nc), unk_v[:nc], cs)
    clustered = {f for c in clusters for f in c.face_ids}
    pure = sum(len(c.face_ids) for c in clusters if len(set(unk_l[list(c.face_ids)].tolist())) == 1)
    vec_of = dict(enumerate(unk_v[: nc + 1000]))
    loose = [f for f in range(nc) if f not in clustered]
    with timer() as t_incr:
        up = update_clusters(clusters, vec_of, list(range(nc, nc + 1000)), loose, cs)

    est_brute_refresh = batch_ms * n / 1000  # seconds to brute-force every unknown face, batched
    rows = [
        ("synthetic faces generated (s)", round(t_syn["s"], 2), ""),
        ("index build (s)", round(meta.build_seconds, 2), f"{meta.n_trees} trees, {n} faces"),
        ("index size (MB)", round(size_mb, 1), "ann + ids"),
        ("annoy query (ms)", round(ann_ms, 3), f"speed-up x{brute_ms / ann_ms:.0f} vs brute"),
        ("brute-force query (ms)", round(brute_ms, 3), "numpy, one face per call"),
        ("brute-force batched (ms/face)", round(batch_ms, 3), f"{len(q)} faces per call"),
        ("recall@10 vs brute force", round(recall, 4), ""),
        ("stale-index query (ms)", round(stale_ms, 3), "200 added, 100 removed since build"),
        ("stale-index recall@10", round(stale_recall, 4), "vs exact over the live set"),
        ("person statistics (s)", round(t_stats["s"], 2), f"{len(matcher.stats)} persons"),
        (
            f"suggest {n} unknown faces (s)",
            round(t_suggest["s"], 2),
            f"k={settings.k}, fetch={settings.fetch}",
        ),
        ("one-person-per-photo (s)", round(t_assign["s"], 2), f"{len(set(photo_of.values()))} photos"),
        ("full refresh (s)", round(refresh_s, 2), f"brute force would take ~{est_brute_refresh:.0f} s"),
        ("full refresh CPU (s)", round(refresh_cpu, 2), "this process + its query workers"),
        ("load average at start", load, "other work on the machine slows every figure"),
        (f"cluster {nc} unknown faces (s)", round(t_cluster["s"], 2), f"{len(clusters)} clusters"),
        ("faces in pure clusters", round(pure / max(1, len(clustered)), 4), "one identity per cluster"),
        ("1000 new faces, incremental (s)", round(t_incr["s"], 2), f"{len(up.joined)} joined by centroid"),
        ("likely precision (synthetic)", round(lp, 4), f"{len(likely)} likely"),
        ("likely+maybe precision (synthetic)", round(ap_, 4), f"{len(named)} named"),
        ("peak RSS (MB)", peak_rss_mb(), f"{cpu_count()} cores"),
    ]
    print_table(["figure", "value", "note"], rows)
    emit(
        {
            "faces": n,
            "annoy_query_ms": round(ann_ms, 4),
            "brute_query_ms": round(brute_ms, 4),
            "brute_batched_ms": round(batch_ms, 4),
            "speedup_vs_brute": round(brute_ms / ann_ms, 1),
            "recall_at_10": round(recall, 4),
            "stale_query_ms": round(stale_ms, 4),
            "stale_recall_at_10": round(stale_recall, 4),
            "build_s": round(meta.build_seconds, 2),
            "index_mb": round(size_mb, 1),
            "stats_s": round(t_stats["s"], 2),
            "refresh_s": round(refresh_s, 2),
            "refresh_vs_brute": round(refresh_s / est_brute_refresh, 3),
            "refresh_cpu_s": round(refresh_cpu, 2),
            "load_avg": load,
            "likely_precision_synthetic": round(lp, 4),
            "cluster_s": round(t_cluster["s"], 2),
            "cluster_faces": nc,
            "cluster_purity": round(pure / max(1, len(clustered)), 4),
            "cluster_incremental_s": round(t_incr["s"], 2),
            "peak_rss_mb": peak_rss_mb(),
        }
    )


def _cpu_s() -> float:
    """CPU seconds of this process and its reaped children (the query workers)."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


if __name__ == "__main__":
    main()
