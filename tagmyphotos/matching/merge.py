"""Which people look like one person named twice: the distance between their face centroids.

Why centroids: naming one real person twice (two clusters named "Anna" and "Anna B.", or a
first import under a nickname) leaves two groups of faces of one face; the mean of a group is
far steadier than any single face, so the centroid distance of two halves of one person stays
well under the distance between two different people (calibration in tuning.py,
tagmyphotos_lab/evaluate/merge.py). Pure numpy: the review layer loads the vectors and names.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from tagmyphotos import tuning


@dataclass(frozen=True)
class PersonPair:
    """Two people whose faces are close; `a` < `b` (person ids)."""

    a: int
    b: int
    distance: float  # between the centroids of their confirmed faces, in the model's metric


def metric_space(vectors: np.ndarray, metric: str) -> np.ndarray:
    """Angular models compare unit vectors (as the index and the matcher do)."""
    vecs = np.asarray(vectors, np.float32)
    if metric == "angular":
        return vecs / np.maximum(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-12)
    return vecs


def centroid(vectors: np.ndarray, metric: str) -> np.ndarray:
    return metric_space(vectors, metric).mean(axis=0)


def merge_distance(match_threshold: float) -> float:
    """The largest centroid distance suggested for a merge, for a model's match threshold."""
    return match_threshold * tuning.MERGE_DISTANCE_RATIO


def close_pairs(centroids: Mapping[int, np.ndarray], max_distance: float) -> list[PersonPair]:
    """Every pair of people whose centroids are within max_distance, closest first.

    One matrix product for all pairs: 2,000 people is 2M distances, a few MB, a few ms.
    """
    ids = sorted(centroids)
    if len(ids) < 2:
        return []
    c = np.stack([np.asarray(centroids[i], np.float64) for i in ids])
    sq = np.einsum("ij,ij->i", c, c)
    d2 = np.maximum(sq[:, None] - 2.0 * (c @ c.T) + sq[None, :], 0.0)
    rows, cols = np.nonzero(np.triu(d2 <= max_distance * max_distance, k=1))
    pairs = [PersonPair(ids[r], ids[k], round(float(np.sqrt(d2[r, k])), 4)) for r, k in zip(rows, cols, strict=True)]
    return sorted(pairs, key=lambda p: (p.distance, p.a, p.b))


def closest_faces(a: np.ndarray, b: np.ndarray, metric: str) -> tuple[int, int, float]:
    """(row in a, row in b, distance) of the two nearest faces of two groups: the evidence."""
    x, y = metric_space(a, metric).astype(np.float64), metric_space(b, metric).astype(np.float64)
    d2 = np.einsum("ij,ij->i", x, x)[:, None] - 2.0 * (x @ y.T) + np.einsum("ij,ij->i", y, y)[None, :]
    row, col = np.unravel_index(int(np.argmin(d2)), d2.shape)
    return int(row), int(col), round(float(np.sqrt(max(d2[row, col], 0.0))), 4)
