"""Clusters of unknown faces in the database: the DB side of faces_cluster.

Why cluster ids are never reused: the UI shows "cluster 12" while a refresh runs; if 12 could
come back as other faces, naming it would confirm strangers. Ids come from a counter in the
Setting table, and name_cluster takes the face ids the user saw (faces_review).
Invariant: face.cluster is set only on unknown faces of clusterable quality.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import peewee as pw

from tagmyphotos.errors import NotFound
from tagmyphotos.matching.cluster import (
    Cluster,
    ClusterSettings,
    clusterable,
    clusters_from_labels,
    looks_different,
    outliers,
    update_clusters,
)
from tagmyphotos.store import models as m
from tagmyphotos.store.db import chunked
from tagmyphotos.store.views import ClusterReport, ClusterView, face_views, faces_select, objs
from tagmyphotos.suggest.state import match_settings, model_name, vectors_of

if TYPE_CHECKING:
    from tagmyphotos.core import Core

NEXT_ID_KEY = "clusters.next_id"
# Faces shown per cluster in a listing (best quality first).
VIEW_SAMPLE = 12


def cluster_settings(cfg: Any, model_id: str) -> ClusterSettings:
    return ClusterSettings.for_model(model_name(model_id), threshold=match_settings(cfg, model_id).threshold)


def _eligible(face: Any) -> bool:
    return clusterable(min(face.w, face.h), face.det_score, face.quality)


def refresh_clusters(core: Core, full: bool = False) -> ClusterReport:
    """Unclustered unknown faces join a cluster or form new ones; `full` re-clusters everything."""
    start = time.monotonic()
    totals = {"eligible": 0, "clustered": 0, "clusters": 0}
    # Faces that stopped being unknown leave their cluster.
    m.Face.update(cluster=None).where(m.Face.cluster.is_null(False) & (m.Face.state != m.FaceState.UNKNOWN)).execute()
    models = [
        str(r)
        for (r,) in m.rows(
            m.Face.select(m.Face.model).where(m.Face.model.is_null(False) & m.Face.embedding.is_null(False)).distinct()
        )
    ]
    for model_id in sorted(models):
        counts = _refresh_model(core, model_id, full)
        for key, n in counts.items():
            totals[key] += n
    return ClusterReport(**totals, seconds=round(time.monotonic() - start, 3))


def _refresh_model(core: Core, model_id: str, full: bool) -> dict[str, int]:
    settings = cluster_settings(core.cfg, model_id)
    query = m.Face.select(
        m.Face.id, m.Face.w, m.Face.h, m.Face.det_score, m.Face.quality, m.Face.cluster, m.Face.embedding
    ).where((m.Face.state == m.FaceState.UNKNOWN) & (m.Face.model == model_id) & m.Face.embedding.is_null(False))
    rows = [f for f in query.iterator()]
    eligible = [f for f in rows if _eligible(f)]
    dropped = [int(f.id) for f in rows if not _eligible(f) and f.cluster is not None]
    if not eligible:
        _write({}, dropped)
        return {"eligible": 0, "clustered": 0, "clusters": 0}
    dim = len(bytes(eligible[0].embedding)) // 4
    vec_of = {
        int(f.id): v for f, v in zip(eligible, vectors_of([bytes(f.embedding) for f in eligible], dim), strict=True)
    }
    old = {int(f.id): int(f.cluster) for f in eligible if f.cluster is not None}
    members: dict[int, list[int]] = {}
    for fid, cid in old.items():
        members.setdefault(cid, []).append(fid)
    kept = {cid: ids for cid, ids in members.items() if len(ids) >= settings.min_size and not full}
    in_kept = {f for ids in kept.values() for f in ids}
    clusters: list[Cluster] = []
    if kept:
        ids = [f for cid in sorted(kept) for f in kept[cid]]
        labels = [cid for cid in sorted(kept) for _ in kept[cid]]
        clusters = clusters_from_labels(ids, np.stack([vec_of[f] for f in ids]), labels, settings.metric)
    fresh = [int(f.id) for f in eligible if int(f.id) not in in_kept]
    update = update_clusters(clusters, vec_of, fresh, [], settings)
    created = {c.cluster_id for c in update.created}
    new_labels = _stable_ids(update.clusters, created, old)
    assignment = {f: new_labels[c.cluster_id] for c in update.clusters for f in c.face_ids}
    unclustered = [f for f in old if f not in assignment] + dropped
    _write(assignment, unclustered, old)
    return {"eligible": len(eligible), "clustered": len(assignment), "clusters": len(update.clusters)}


def _stable_ids(clusters: Sequence[Cluster], created: set[int], old: dict[int, int]) -> dict[int, int]:
    """Keep kept clusters' ids; a new cluster takes the old id of most of its faces if that id is
    free, else a never-used id from the counter."""
    mapping = {c.cluster_id: c.cluster_id for c in clusters if c.cluster_id not in created}
    used = set(mapping.values())
    row = m.Setting.get_or_none(m.Setting.key == NEXT_ID_KEY)
    next_id = max(int(row.value) if row else 1, max(old.values(), default=0) + 1)
    for c in sorted((c for c in clusters if c.cluster_id in created), key=lambda c: -len(c.face_ids)):
        votes: dict[int, int] = {}
        for f in c.face_ids:
            if f in old:
                votes[old[f]] = votes.get(old[f], 0) + 1
        best = max(votes, key=lambda k: votes[k], default=None)
        if best is not None and best not in used and votes[best] * 2 > len(c.face_ids):
            mapping[c.cluster_id] = best
        else:
            mapping[c.cluster_id] = next_id
            next_id += 1
        used.add(mapping[c.cluster_id])
    m.put_setting(NEXT_ID_KEY, next_id)
    return mapping


def _write(assignment: dict[int, int], unclustered: list[int], old: dict[int, int] | None = None) -> None:
    old = old or {}
    by_cluster: dict[int, list[int]] = {}
    for f, cid in assignment.items():
        if old.get(f) != cid:
            by_cluster.setdefault(cid, []).append(f)
    with m.database.atomic():
        for cid, ids in by_cluster.items():
            for part in chunked(ids):
                m.Face.update(cluster=cid).where(m.Face.id.in_(part) & (m.Face.state == m.FaceState.UNKNOWN)).execute()
        for part in chunked(unclustered):
            m.Face.update(cluster=None).where(m.Face.id.in_(part)).execute()


def outlier_ids(cfg: Any, faces: Sequence[m.Face], rule: Callable[..., np.ndarray] = outliers) -> list[int]:
    """Face ids of a cluster's members that are far from the others (dropped before naming)."""
    out: list[int] = []
    by_model: dict[str, list[tuple[int, bytes]]] = {}  # model -> (face id, embedding)
    for f in faces:
        if f.embedding is not None and f.model:
            by_model.setdefault(str(f.model), []).append((int(f.id), bytes(f.embedding)))
    for model_id, group in by_model.items():
        dim = len(group[0][1]) // 4
        mask = rule(vectors_of([blob for _, blob in group], dim), cluster_settings(cfg, model_id))
        out += [face_id for (face_id, _), bad in zip(group, mask.tolist(), strict=True) if bad]
    return out


def outliers_among(cfg: Any, face_ids: Sequence[int]) -> list[int]:
    """Which of these faces (the ones a page shows of a cluster) are far from the others.

    The page leaves them unselected before the user names the group, so what gets named is
    exactly what the user saw selected."""
    return outlier_ids(cfg, objs(m.Face.select().where(m.Face.id.in_(list(face_ids)))), looks_different)


def _grouped(min_size: int) -> Any:
    """(cluster, faces, photos) of every cluster of at least `min_size` unknown faces."""
    size = pw.fn.COUNT(m.Face.id)
    return (
        m.Face.select(m.Face.cluster, size, pw.fn.COUNT(m.Face.photo.distinct()))
        .where(m.Face.cluster.is_null(False) & (m.Face.state == m.FaceState.UNKNOWN))
        .group_by(m.Face.cluster)
        .having(size >= min_size)
    )


def list_clusters(limit: int = 50, offset: int = 0, sample: int = VIEW_SAMPLE, min_size: int = 1) -> list[ClusterView]:
    """Clusters of unknown faces, largest first, each with its best `sample` faces."""
    size = pw.fn.COUNT(m.Face.id)
    rows = m.rows(_grouped(min_size).order_by(size.desc(), m.Face.cluster).limit(limit).offset(offset))
    return [cluster_view(int(cid), int(n), int(photos), sample) for cid, n, photos in rows]


def count_clusters(min_size: int = 1) -> int:
    return int(_grouped(min_size).count())


def cluster_view(
    cluster_id: int, size: int | None = None, photos: int | None = None, sample: int | None = None
) -> ClusterView:
    """One cluster with its best `sample` faces (None: all of them); size 0 when there is none."""
    where = _members(cluster_id)
    if size is None or photos is None:
        size = m.Face.select().where(where).count()
        photos = m.Face.select(m.Face.photo).where(where).distinct().count()
    query = faces_select().where(where).order_by(m.Face.quality.desc(), m.Face.id)
    faces = face_views(query.limit(sample) if sample is not None else query)
    return ClusterView(cluster_id, size, photos, faces)


def cluster_outliers(cfg: Any, cluster_id: int) -> list[int]:
    """The faces of a cluster far from the others (what naming with drop_outliers leaves out)."""
    return outlier_ids(cfg, objs(m.Face.select().where(_members(cluster_id))))


def _members(cluster_id: int) -> Any:
    return (m.Face.cluster == cluster_id) & (m.Face.state == m.FaceState.UNKNOWN)


def drop_from_cluster(core: Core, cluster_id: int, face_ids: Sequence[int] | None = None) -> list[int]:
    """Take faces out of a cluster without naming it: the given ones, or else its outliers.

    They stay unknown (and can be named one by one or join a cluster at a full regroup)."""
    with m.database.atomic():
        members = objs(
            m.Face.select().where(
                (m.Face.cluster == cluster_id) & m.Face.state.in_([m.FaceState.UNKNOWN, m.FaceState.SUGGESTED])
            )
        )
        if not members:
            raise NotFound(f"no cluster {cluster_id} (it may have been named or refreshed)")
        wanted = set(outlier_ids(core.cfg, members)) if face_ids is None else {int(i) for i in face_ids}
        out = [int(f.id) for f in members if f.id in wanted]
        for part in chunked(out):
            m.Face.update(cluster=None, updated_at=m.utcnow()).where(m.Face.id.in_(part)).execute()
    return out
