"""Group unknown faces that look alike, so a user names forty photos in one action.

Why dlib's chinese whispers (ported to Python in matching_whispers: dlib is not imported on
the default path) on a k-nearest-neighbour graph: it is the algorithm dlib's own
face-clustering example uses with this very embedding, needs no cluster count, and on the
labelled testdata reproduces the 13 identities exactly at dlib's edge distance 0.5. Building
the graph from k neighbours (NeighbourIndex: exact when small, Annoy when large) instead of all
pairs keeps it near-linear, so 100k unknown faces are fine on a NAS.

Incremental: a new face joins the cluster whose centroid is clearly nearest and close enough;
the rest, with the faces no cluster took before, are re-clustered together. Tiny, blurry and
low-score faces stay out (`clusterable`): they stay suggestible one by one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import cast

import numpy as np

from tagmyphotos import tuning
from tagmyphotos.matching.index import IndexSpec, NeighbourIndex
from tagmyphotos.matching.knn import Metric, exact_knn
from tagmyphotos.matching.whispers import chinese_whispers

# Neighbours per face in the clustering graph (chinese whispers needs only local edges).
CLUSTER_NEIGHBOURS = 20

# A group smaller than this is not shown as a cluster (its faces wait for more look-alikes).
CLUSTER_MIN_SIZE = 2


@dataclass(frozen=True)
class ClusterSettings:
    """Distances scale with the model threshold (dlib 0.6: edge 0.5, join 0.42)."""

    metric: str
    edge: float  # chinese-whispers edge: faces closer than this are linked
    join: float  # a new face joins a cluster whose centroid is at most this far
    margin: float  # ... and at least this much nearer than the next cluster's centroid
    outlier: float  # a member farther than this from the centroid is always an outlier
    min_size: int = CLUSTER_MIN_SIZE
    neighbours: int = CLUSTER_NEIGHBOURS
    different: float = 0.0  # ... and farther than this from the others' centroid: "looks different"

    @classmethod
    def for_model(cls, model: str, threshold: float | None = None) -> ClusterSettings:
        try:
            metric, t, _scale, margin = tuning.MATCH_MODELS[model]
        except KeyError:
            raise ValueError(f"no clustering defaults for model {model!r}") from None
        if threshold is not None:
            margin, t = margin * threshold / t, threshold
        return cls(
            metric=metric,
            edge=t * tuning.CLUSTER_EDGE_RATIO,
            join=t * tuning.CLUSTER_JOIN_RATIO,
            margin=margin,
            outlier=t * tuning.CLUSTER_OUTLIER_RATIO,
            different=t * tuning.CLUSTER_LOOKS_DIFFERENT_RATIO,
        )


@dataclass(frozen=True)
class Cluster:
    cluster_id: int
    face_ids: tuple[int, ...]
    centroid: np.ndarray = field(repr=False)
    spread: float  # median distance of the members to the centroid


@dataclass(frozen=True)
class ClusterUpdate:
    clusters: list[Cluster]  # every cluster after the update (joined ones with new centroids)
    joined: dict[int, int]  # new face id -> existing cluster id it joined
    created: list[Cluster]  # clusters formed in this update
    loose: list[int]  # eligible faces in no cluster (kept for the next update)


def clusterable(
    size_px: float,
    score: float,
    quality: float,
    *,
    min_px: float = tuning.CLUSTER_MIN_FACE_PX,
    min_score: float = tuning.CLUSTER_MIN_DET_SCORE,
    min_quality: float = tuning.CLUSTER_MIN_QUALITY,
) -> bool:
    """Whether a face is sharp, large and certain enough to be grouped with others."""
    return size_px >= min_px and score >= min_score and quality >= min_quality


def cluster_faces(
    face_ids: Sequence[int], vectors: np.ndarray, settings: ClusterSettings, first_id: int = 1
) -> list[Cluster]:
    """Cluster from scratch; groups smaller than min_size are not clusters. Ids from first_id."""
    ids = np.asarray(face_ids, np.int64)
    if len(ids) == 0:
        return []
    vecs = _prepare(np.asarray(vectors, np.float32), settings.metric)
    index = NeighbourIndex(None, IndexSpec("cluster", vecs.shape[1], cast(Metric, settings.metric)))
    index.set_items(np.arange(len(ids)), vecs)
    if len(ids) >= index.exact_below:
        index.build()
    nn, dist = index.query(vecs, min(settings.neighbours, len(ids)))
    linked = {
        (min(i, j), max(i, j))
        for i, (row, drow) in enumerate(zip(nn.tolist(), dist.tolist(), strict=True))
        for j, d in zip(row, drow, strict=True)
        if j >= 0 and j != i and d < settings.edge
    }
    edges = [(i, i) for i in range(len(ids))] + sorted(linked)  # self-loops: every face a vertex
    labels = chinese_whispers(edges)
    groups: dict[int, list[int]] = {}
    for i, label in enumerate(labels):
        groups.setdefault(label, []).append(i)
    members = sorted((g for g in groups.values() if len(g) >= settings.min_size), key=lambda g: (-len(g), ids[g[0]]))
    return [_make(first_id + n, ids[g], vecs[g]) for n, g in enumerate(members)]


def clusters_from_labels(
    face_ids: Sequence[int], vectors: np.ndarray, cluster_ids: Sequence[int], metric: str
) -> list[Cluster]:
    """Rebuild Cluster objects from stored (face, cluster) pairs, e.g. the database's."""
    vecs = _prepare(np.asarray(vectors, np.float32), metric)
    groups: dict[int, list[int]] = {}
    for n, c in enumerate(cluster_ids):
        groups.setdefault(int(c), []).append(n)
    ids = np.asarray(face_ids, np.int64)
    return [_make(c, ids[g], vecs[g]) for c, g in sorted(groups.items())]


def update_clusters(
    clusters: Sequence[Cluster],
    vectors_of: dict[int, np.ndarray],
    new_ids: Sequence[int],
    loose_ids: Sequence[int],
    settings: ClusterSettings,
) -> ClusterUpdate:
    """New faces join clusters by centroid; the rest and earlier loose faces are re-clustered.

    `vectors_of` maps face id -> vector for every face of the clusters, `new_ids` and
    `loose_ids` (only eligible faces: see `clusterable`).
    """
    joined: dict[int, int] = {}
    rest = list(new_ids)
    if clusters and rest:
        cent = np.stack([c.centroid for c in clusters])
        q = _prepare(np.stack([vectors_of[f] for f in rest]), settings.metric)
        nn, dist = exact_knn(q, cent, np.arange(len(clusters)), 2)
        still = []
        for f, row, drow in zip(rest, nn.tolist(), dist.tolist(), strict=True):
            clear = drow[1] - drow[0] >= settings.margin  # inf when only one cluster exists
            if drow[0] <= settings.join and clear:
                joined[f] = clusters[row[0]].cluster_id
            else:
                still.append(f)
        rest = still
    grown: dict[int, list[int]] = {}
    for f, cid in joined.items():
        grown.setdefault(cid, []).append(f)
    updated = []
    for c in clusters:
        if c.cluster_id in grown:
            ids = list(c.face_ids) + grown[c.cluster_id]
            vecs = _prepare(np.stack([vectors_of[f] for f in ids]), settings.metric)
            c = _make(c.cluster_id, np.asarray(ids, np.int64), vecs)
        updated.append(c)
    pool = list(dict.fromkeys([*loose_ids, *rest]))
    next_id = max((c.cluster_id for c in clusters), default=0) + 1
    created = []
    if pool:
        pool_vecs = np.stack([vectors_of[f] for f in pool])
        created = cluster_faces(pool, pool_vecs, settings, first_id=next_id)
    taken = {f for c in created for f in c.face_ids}
    return ClusterUpdate(updated + created, joined, created, [f for f in pool if f not in taken])


def outliers(vectors: np.ndarray, settings: ClusterSettings) -> np.ndarray:
    """Members to drop before naming a cluster: far from the centre of the others.

    A member is an outlier when it is farther from the (outlier-free) centroid than
    `settings.outlier`, or than median + OUTLIER_MADS robust deviations of the members'
    distances, whichever is lower; but never closer than OUTLIER_FLOOR_RATIO x outlier, so a
    tight cluster does not lose good faces to a tiny deviation.
    """
    vecs = _prepare(np.asarray(vectors, np.float32), settings.metric)
    out = np.zeros(len(vecs), bool)
    if len(vecs) < 3:
        return out
    for _ in range(2):  # second pass: centroid without the first pass's outliers
        centroid = vecs[~out].mean(axis=0)
        d = np.linalg.norm(vecs - centroid, axis=1)
        med = float(np.median(d[~out]))
        mad = float(np.median(np.abs(d[~out] - med))) * 1.4826
        limit = min(settings.outlier, med + tuning.CLUSTER_OUTLIER_MADS * mad)
        limit = max(limit, settings.outlier * tuning.CLUSTER_OUTLIER_FLOOR_RATIO)
        out = d > limit
    return out


def looks_different(vectors: np.ndarray, settings: ClusterSettings) -> np.ndarray:
    """Outliers that are also far from the centroid of the OTHER members (leave-one-out), as far
    as another person's face is: what a page may leave unselected without a second thought."""
    out = outliers(vectors, settings)
    if not out.any():
        return out
    vecs = _prepare(np.asarray(vectors, np.float32), settings.metric)
    n = len(vecs)
    others = (vecs.sum(axis=0) - vecs) / (n - 1)  # each member's leave-one-out centroid
    far = np.linalg.norm(vecs - others, axis=1) > max(settings.different, settings.outlier)
    return out & far


def _make(cluster_id: int, ids: np.ndarray, vecs: np.ndarray) -> Cluster:
    centroid = vecs.mean(axis=0).astype(np.float32)
    spread = float(np.median(np.linalg.norm(vecs - centroid, axis=1)))
    return Cluster(cluster_id, tuple(int(i) for i in ids), centroid, spread)


def _prepare(vecs: np.ndarray, metric: str) -> np.ndarray:
    if metric == "angular":
        return (vecs / np.maximum(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-12)).astype(np.float32)
    return vecs
