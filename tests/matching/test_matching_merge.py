"""matching.merge on plain vectors: centroid pairs under the distance, closest first; the evidence."""

from __future__ import annotations

import numpy as np

from tagmyphotos import tuning
from tagmyphotos.matching.merge import PersonPair, centroid, close_pairs, closest_faces, merge_distance


def test_close_pairs_are_the_near_centroids_closest_first() -> None:
    centroids = {7: np.array([0.0, 0.0]), 3: np.array([0.3, 0.0]), 9: np.array([0.0, 0.5]), 4: np.array([5.0, 5.0])}
    pairs = close_pairs(centroids, 0.55)
    assert pairs == [PersonPair(3, 7, 0.3), PersonPair(7, 9, 0.5)]  # 3-9 is 0.58 apart, 4 is far from all
    assert close_pairs(centroids, 0.2) == [] and close_pairs({1: np.zeros(2)}, 1.0) == []


def test_angular_models_compare_unit_vectors() -> None:
    a = np.array([[2.0, 0.0], [4.0, 0.0]])  # one direction, different lengths
    assert np.allclose(centroid(a, "angular"), [1.0, 0.0]) and np.allclose(centroid(a, "euclidean"), [3.0, 0.0])
    b = np.array([[0.0, 1.0], [1.0, 0.1]])
    row_a, row_b, dist = closest_faces(a, b, "angular")
    assert row_b == 1 and row_a in (0, 1) and abs(dist - np.linalg.norm([1, 0] - b[1] / np.linalg.norm(b[1]))) < 1e-3


def test_the_merge_distance_follows_the_model_threshold() -> None:
    assert merge_distance(0.60) == 0.60 * tuning.MERGE_DISTANCE_RATIO
    assert round(merge_distance(tuning.MATCH_MODELS["Dlib"][1]), 4) == 0.55
