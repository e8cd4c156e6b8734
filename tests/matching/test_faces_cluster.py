"""Clusters of unknown faces: chinese whispers on real embeddings, incremental joins, outliers."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from tagmyphotos.matching.cluster import (
    ClusterSettings,
    cluster_faces,
    clusterable,
    clusters_from_labels,
    looks_different,
    outliers,
    update_clusters,
)
from tagmyphotos_lab.match_data import FaceSet, load_testdata_faces, synthetic_faces

DLIB = ClusterSettings.for_model("Dlib")


@pytest.fixture(scope="module")
def real() -> FaceSet:
    return load_testdata_faces()  # analysed once, then cached in .cache/


def _labels(n: int, clusters) -> np.ndarray:
    lab = np.full(n, -1)
    for c in clusters:
        lab[list(c.face_ids)] = c.cluster_id
    return lab


def test_settings_scale_with_the_model_threshold() -> None:
    assert (DLIB.edge, DLIB.join, DLIB.outlier) == pytest.approx((0.5, 0.42, 0.42))
    stricter = ClusterSettings.for_model("Dlib", threshold=0.54)
    assert stricter.edge == pytest.approx(0.45) and stricter.margin < DLIB.margin
    assert ClusterSettings.for_model("ArcFace").metric == "angular"


def test_real_faces_cluster_into_their_identities(real: FaceSet) -> None:
    clusters = cluster_faces(range(len(real.vectors)), real.vectors, DLIB, first_id=100)
    lab = _labels(len(real.vectors), clusters)
    assert adjusted_rand_score(real.identities, lab) >= 0.95
    assert (lab >= 0).all()  # every person of the testdata has >= 2 photos
    assert [c.cluster_id for c in clusters] == list(range(100, 100 + len(clusters)))
    assert all(c.spread < DLIB.join for c in clusters)


def test_new_faces_join_by_centroid_and_the_rest_are_reclustered(real: FaceSet) -> None:
    n = len(real.vectors)
    order = np.random.default_rng(0).permutation(n)
    first, later = order[: n // 2].tolist(), order[n // 2 :].tolist()
    clusters = cluster_faces(first, real.vectors[first], DLIB)
    in_cluster = {f for c in clusters for f in c.face_ids}
    loose = [f for f in first if f not in in_cluster]
    vectors_of = {i: real.vectors[i] for i in range(n)}
    up = update_clusters(clusters, vectors_of, later, loose, DLIB)
    assert up.joined and all(cid in {c.cluster_id for c in clusters} for cid in up.joined.values())
    assert min(c.cluster_id for c in up.created) > max(c.cluster_id for c in clusters)
    ident = np.asarray(real.identities)
    for face, cid in up.joined.items():  # a joined face is the identity of its cluster's faces
        members = next(c for c in clusters if c.cluster_id == cid).face_ids
        assert ident[face] == ident[members[0]]
    assert adjusted_rand_score(real.identities, _labels(n, up.clusters)) >= 0.9
    assert set(up.loose) <= set(later) | set(loose)
    grown = {c.cluster_id: c for c in up.clusters}
    for c in clusters:
        assert set(c.face_ids) <= set(grown[c.cluster_id].face_ids)


def test_clusters_rebuilt_from_stored_labels(real: FaceSet) -> None:
    ids = [10, 11, 12, 13]
    rebuilt = clusters_from_labels(ids, real.vectors[:4], [5, 5, 9, 9], "euclidean")
    assert [(c.cluster_id, c.face_ids) for c in rebuilt] == [(5, (10, 11)), (9, (12, 13))]
    np.testing.assert_allclose(rebuilt[0].centroid, real.vectors[:2].mean(axis=0), rtol=1e-5)


def test_outliers_catch_a_foreign_face_and_keep_the_person(real: FaceSet) -> None:
    ident = np.asarray(real.identities)
    kept, caught, tried = 0, 0, 0
    for person in sorted(set(real.identities)):
        own = real.vectors[ident == person]
        kept += int((~outliers(own, DLIB)).sum())
        for other in np.flatnonzero(ident != person)[::5]:
            tried += 1
            caught += bool(outliers(np.vstack([own, real.vectors[other]]), DLIB)[-1])
    assert kept >= 0.95 * len(real.vectors)
    assert caught >= 0.98 * tried
    assert not outliers(real.vectors[:2], DLIB).any()  # too few faces to call one an outlier


def test_looks_different_spares_small_groups_of_one_person(real: FaceSet) -> None:
    """Issue 29: in groups of 3-4 faces of one person, the outlier rule alone left a face of that
    person out (its floor is below how far one person's faces spread); "looks different" also
    asks the face to be as far from the others as another person's face is."""
    from itertools import combinations

    ident = np.asarray(real.identities)
    groups, spared, flagged_before, caught, tried = 0, 0, 0, 0, 0
    for person in sorted(set(real.identities)):
        own = np.flatnonzero(ident == person)
        for size in (3, 4):
            for members in list(combinations(own, size))[:20]:
                vecs = real.vectors[list(members)]
                groups += 1
                spared += not looks_different(vecs, DLIB).any()
                flagged_before += bool(outliers(vecs, DLIB).any())
                for other in np.flatnonzero(ident != person)[::7]:
                    tried += 1
                    caught += bool(looks_different(np.vstack([vecs, real.vectors[other]]), DLIB)[-1])
    assert groups > 50 and flagged_before > 0  # the case of the issue is in the test data
    # measured: 211 groups, 17 lost a face of their own person before, 3 now; 99.2% of strangers caught
    assert groups - spared <= flagged_before // 5
    assert caught >= 0.98 * tried


def test_low_quality_faces_stay_out() -> None:
    assert clusterable(200, 1.5, 0.9)
    assert not clusterable(40, 1.5, 0.9)  # tiny
    assert not clusterable(200, 0.1, 0.9)  # weak detection
    assert not clusterable(200, 1.5, 0.1)  # blurry


def test_synthetic_crowd_clusters_large_sets(real: FaceSet) -> None:
    """3000 faces of 100 identities: the Annoy graph path, most faces in a pure cluster."""
    vecs, labels = synthetic_faces(real, 3000, 100, seed=1)
    clusters = cluster_faces(range(3000), vecs, DLIB)
    assert adjusted_rand_score(labels, _labels(3000, clusters)) >= 0.9
