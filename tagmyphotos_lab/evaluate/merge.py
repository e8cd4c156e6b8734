"""Calibration of merge suggestions on ../shared/testdata/faces (tuning.MERGE_DISTANCE_RATIO).

    scripts/evaluate --merge [--draws 20]

A person named twice is simulated by splitting every labelled person with two or more faces
into two random groups (sizes random too); two different people are every pair of labelled
people, each represented by one of its random halves (as big as a real named group is at
first). Reported: the centroid distance (tagmyphotos.matching.merge) of the splits and of the
different pairs, and how many of each a threshold suggests. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import itertools
from pathlib import Path

import numpy as np

from tagmyphotos.matching.merge import centroid, merge_distance
from tagmyphotos.tuning import MATCH_MODELS
from tagmyphotos_lab.benchlib import emit, print_table
from tagmyphotos_lab.match_data import FACES_DIR, load_testdata_faces

THRESHOLDS = (0.45, 0.50, 0.55, 0.60)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--draws", type=int, default=20)
    parser.add_argument("--faces", type=Path, default=FACES_DIR)
    args = parser.parse_args()
    faces = load_testdata_faces(args.faces)
    x, ident = faces.vectors, np.asarray(faces.identities)
    names = sorted(set(faces.identities))
    metric = MATCH_MODELS["Dlib"][0]
    same, diff, diff_names = [], [], []
    for seed in range(args.draws):
        rng = np.random.default_rng(seed)
        halves = {}
        for p in names:
            rows = np.flatnonzero(ident == p)
            rng.shuffle(rows)
            k = int(rng.integers(1, len(rows))) if len(rows) >= 2 else len(rows)
            halves[p] = (rows[:k], rows[k:] if len(rows) >= 2 else rows)
            if len(rows) >= 2:
                same.append(float(np.linalg.norm(centroid(x[rows[:k]], metric) - centroid(x[rows[k:]], metric))))
        for p, q in itertools.combinations(names, 2):
            a, b = halves[p][int(rng.integers(2))], halves[q][int(rng.integers(2))]
            diff.append(float(np.linalg.norm(centroid(x[a], metric) - centroid(x[b], metric))))
            diff_names.append(f"{p}+{q}")
    s, d = np.asarray(same), np.asarray(diff)
    chosen = merge_distance(MATCH_MODELS["Dlib"][1])
    table = []
    for t in sorted({*THRESHOLDS, round(chosen, 4)}):
        table.append((f"{t:.3f}" + (" (chosen)" if t == round(chosen, 4) else ""), f"{(s <= t).mean():.3f}",
                     f"{int((d <= t).sum())} / {len(d)}"))  # fmt: skip
    print_table(["centroid distance <=", "splits found", "different pairs suggested"], table)
    print(f"splits: max {s.max():.3f}, p95 {np.percentile(s, 95):.3f}, median {np.median(s):.3f}")
    print(f"different: min {d.min():.3f}, p5 {np.percentile(d, 5):.3f}, median {np.median(d):.3f}")
    close = sorted({n for n, v in zip(diff_names, diff, strict=True) if v <= chosen})
    print("different pairs under the chosen distance:", ", ".join(close) or "none")
    emit({"splits": len(s), "different_pairs": len(d), "threshold": round(chosen, 4),
          "split_recall": round(float((s <= chosen).mean()), 4),
          "different_suggested": int((d <= chosen).sum()),
          "split_max": round(float(s.max()), 4), "different_min": round(float(d.min()), 4)})  # fmt: skip


if __name__ == "__main__":
    main()
