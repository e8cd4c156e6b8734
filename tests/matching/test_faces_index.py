"""NeighbourIndex: Annoy persisted by generation, exact numpy for changes since the build."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tagmyphotos.matching.index import IndexSpec, NeighbourIndex, remove_index
from tagmyphotos.matching.knn import exact_knn

DIM = 16


def _data(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((n, DIM)).astype(np.float32)


def _brute(q: np.ndarray, base: np.ndarray, ids: np.ndarray, k: int) -> np.ndarray:
    d = np.linalg.norm(base[None, :, :] - q[:, None, :], axis=2)
    return ids[np.argsort(d, axis=1)[:, :k]]


def _recall(got: np.ndarray, want: np.ndarray) -> float:
    return float(np.mean([len(set(a) & set(b)) / len(b) for a, b in zip(got.tolist(), want.tolist(), strict=True)]))


def test_exact_knn_matches_a_plain_sort_and_pads() -> None:
    base, q = _data(50), _data(5, seed=1)
    ids = np.arange(100, 150)
    got_ids, got_d = exact_knn(q, base, ids, 4)
    assert got_ids.tolist() == _brute(q, base, ids, 4).tolist()
    np.testing.assert_allclose(got_d[:, 0], np.linalg.norm(base[got_ids[:, 0] - 100] - q, axis=1), rtol=1e-4)
    pad_ids, pad_d = exact_knn(q, base[:2], ids[:2], 4)  # fewer items than k
    assert (pad_ids[:, 2:] == -1).all() and np.isinf(pad_d[:, 2:]).all()


def test_small_sets_are_searched_exactly_without_any_build(tmp_path: Path) -> None:
    index = NeighbourIndex(tmp_path / "idx", IndexSpec("m/v1", DIM), exact_below=1000)
    base = _data(200)
    index.set_items(np.arange(200), base)
    assert index.stale and not index.needs_build()
    ids, _ = index.query(_data(10, 2), 5)
    assert ids.tolist() == _brute(_data(10, 2), base, np.arange(200), 5).tolist()


def test_build_publishes_a_generation_that_another_process_loads(tmp_path: Path) -> None:
    folder = tmp_path / "idx"
    spec = IndexSpec("Dlib/x/v1", DIM)
    writer = NeighbourIndex(folder, spec, exact_below=10)
    base = _data(3000)
    writer.set_items(np.arange(3000), base)
    assert writer.needs_build()
    meta = writer.build()
    assert meta.generation == 1 and meta.count == 3000 and not writer.stale
    on_disk = json.loads((folder / "meta.json").read_text())
    assert on_disk["generation"] == 1 and on_disk["model_id"] == "Dlib/x/v1" and on_disk["metric"] == "euclidean"
    assert writer.build().generation == 2
    assert sorted(p.name for p in folder.glob("gen-*")) == ["gen-2.ann", "gen-2.ids.npy"]  # old one removed

    reader = NeighbourIndex(folder, spec, exact_below=10)  # e.g. the web process
    assert reader.meta is not None and reader.meta.generation == 2
    reader.set_items(np.arange(3000), base)
    assert not reader.stale
    reader.add([5], base[5])  # unchanged vector (e.g. the face moved to another person)
    assert not reader.stale
    q = _data(200, seed=5)
    assert _recall(reader.query(q, 10)[0], _brute(q, base, np.arange(3000), 10)) >= 0.95

    writer.build(generation=7)  # the reader sees the new generation on its next query
    reader.query(q[:1], 1)
    assert reader.meta is not None and reader.meta.generation == 7


def test_an_index_of_another_model_or_metric_is_ignored(tmp_path: Path) -> None:
    folder = tmp_path / "idx"
    first = NeighbourIndex(folder, IndexSpec("Dlib/a/v1", DIM), exact_below=10)
    first.set_items(np.arange(100), _data(100))
    first.build()
    for spec in (IndexSpec("Dlib/b/v1", DIM), IndexSpec("Dlib/a/v1", DIM, "angular")):
        other = NeighbourIndex(folder, spec, exact_below=10)
        assert other.meta is None
        other.set_items(np.arange(100), _data(100))
        assert other.stale and other.needs_build()
    remove_index(folder)
    assert not (folder / "meta.json").exists() and not list(folder.glob("gen-*"))


def test_changes_since_the_build_count_at_once(tmp_path: Path) -> None:
    """Added faces are searched exactly, removed ones never come back, before any rebuild."""
    index = NeighbourIndex(tmp_path / "idx", IndexSpec("m/v1", DIM), exact_below=10)
    base = _data(2000)
    index.set_items(np.arange(2000), base)
    index.build()
    probe = _data(1, seed=9)
    nearest_before = int(index.query(probe, 1)[0][0, 0])

    index.add([5000], probe * 1.0001)  # a new confirmation right on the probe
    ids, dist = index.query(probe, 3)
    assert ids[0, 0] == 5000 and dist[0, 0] < 1e-3 and index.stale

    index.remove([5000, nearest_before])
    ids, _ = index.query(probe, 20)
    assert 5000 not in ids[0] and nearest_before not in ids[0]

    index.add([7], base[7])  # re-adding an unchanged face (moved to another person): no change
    assert index.query(base[7], 1)[0][0, 0] == 7
    index.add([8], base[8] + 0.5)  # a changed vector replaces the built one
    ids, dist = index.query(base[8] + 0.5, 2)
    assert ids[0, 0] == 8 and dist[0, 0] < 1e-3 and 8 not in ids[0, 1:]
    index.add([8], base[8])

    live = np.delete(np.arange(2000), nearest_before)
    q = _data(100, seed=3)
    assert _recall(index.query(q, 10)[0], _brute(q, base[live], live, 10)) >= 0.95
    index.build()
    assert not index.stale and index.meta is not None and index.meta.count == 1999


def test_many_removals_fall_back_to_exact(tmp_path: Path) -> None:
    index = NeighbourIndex(tmp_path / "idx", IndexSpec("m/v1", DIM), exact_below=10, max_dropped=5)
    base = _data(500)
    index.set_items(np.arange(500), base)
    index.build()
    index.remove(np.arange(0, 500, 2))  # 250 removed > max_dropped
    q = _data(20, seed=4)
    live = np.arange(1, 500, 2)
    assert index.query(q, 5)[0].tolist() == _brute(q, base[live], live, 5).tolist()


def test_angular_metric_compares_directions(tmp_path: Path) -> None:
    index = NeighbourIndex(None, IndexSpec("ArcFace/x/v1", 3, "angular"))
    index.set_items([1, 2], np.array([[10, 0, 0], [0, 1, 0]], np.float32))
    ids, dist = index.query(np.array([[0.5, 0.1, 0]], np.float32), 2)
    assert ids[0].tolist() == [1, 2]  # same direction beats small magnitude difference
    unit = np.array([0.5, 0.1, 0]) / np.linalg.norm([0.5, 0.1, 0])
    assert dist[0, 1] == pytest.approx(np.linalg.norm(unit - [0, 1, 0]), abs=1e-4)  # = sqrt(2 - 2 cos)


def test_wrong_dimension_and_duplicates_are_refused() -> None:
    index = NeighbourIndex(None, IndexSpec("m/v1", DIM))
    with pytest.raises(ValueError):
        index.set_items([1], np.zeros((1, DIM + 1), np.float32))
    with pytest.raises(ValueError):
        index.set_items([1, 1], np.zeros((2, DIM), np.float32))
    with pytest.raises(ValueError):
        IndexSpec("m/v1", DIM, "cosine")  # type: ignore[arg-type]


def test_big_batches_are_searched_in_worker_processes_with_the_same_answers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:

    index = NeighbourIndex(tmp_path / "idx", IndexSpec("m/v1", DIM), exact_below=10, workers=2)
    index.set_items(np.arange(1000), _data(1000))
    index.build()
    q = _data(300, seed=8)
    alone_ids, alone_d = index.query(q, 7)  # 300 rows < INDEX_PARALLEL_MIN_ROWS: this process
    monkeypatch.setattr("tagmyphotos.matching.index.INDEX_PARALLEL_MIN_ROWS", 100)
    both_ids, both_d = index.query(q, 7)  # split over this process and a spawned worker
    assert both_ids.tolist() == alone_ids.tolist()
    np.testing.assert_allclose(both_d, alone_d)
