"""FaceAnalyzer end to end on a temp copy of the real testdata (the default engine, real weights)."""

from __future__ import annotations

import csv
import io
import os
import shutil
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from sklearn.metrics import roc_auc_score

from tagmyphotos.faces import workers
from tagmyphotos.faces.analyze import AnalysisResult, AnalysisSettings, FaceAnalyzer
from tagmyphotos.faces.engine_onnx import SPEC
from tagmyphotos.faces.images import ImageError
from tests.support.base import FACES

# What the default engine (MTCNN at 1024 px) finds on the group selfie: 4 of its 7 faces (the
# other three are cut by the frame or half hidden); see docs/calibration.md "Face engines" for each option.
SELFIE_FACES_DEFAULT = 4


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dst = tmp_path_factory.mktemp("faces")
    for p in FACES.iterdir():
        shutil.copy(p, dst / p.name)
    return dst


@pytest.fixture(scope="module")
def labels() -> dict[str, str]:
    with open(FACES / "identities.csv", encoding="utf-8") as fh:
        return {r["file"]: r["identity"] for r in csv.DictReader(fh)}


@pytest.fixture(scope="module")
def analyzer() -> Iterator[FaceAnalyzer]:
    a = FaceAnalyzer(AnalysisSettings(workers=2))
    with workers.lease(a):  # one pool for the module's tests
        yield a


@pytest.fixture(scope="module")
def results(analyzer: FaceAnalyzer, photos: Path) -> dict[str, AnalysisResult]:
    """Every photo once, through the 2-process batch path the product uses."""
    out = {}
    for item in workers.analyze_many(analyzer, sorted(photos.glob("*.jpg")), workers=2):
        assert item.error is None, item
        assert item.result is not None
        out[Path(item.path).name] = item.result
    return out


def test_every_labelled_photo_has_a_face(results: dict[str, AnalysisResult], labels: dict[str, str]) -> None:
    assert len(results) == 64
    missing = [f for f in labels if not results[f].faces]
    assert missing == []


def test_group_photos(results: dict[str, AnalysisResult]) -> None:
    assert len(results["couple.jpg"].faces) == 2
    assert len(results["selfie-many-people.jpg"].faces) == SELFIE_FACES_DEFAULT


def test_same_person_auc(results: dict[str, AnalysisResult], labels: dict[str, str]) -> None:
    names = sorted(labels)
    vecs = np.array([max(results[n].faces, key=lambda f: f.size_px).embedding for n in names])
    ids = np.array([labels[n] for n in names])
    dist = np.linalg.norm(vecs[:, None] - vecs[None], axis=-1)
    iu = np.triu_indices(len(names), 1)
    same = (ids[:, None] == ids[None])[iu]
    assert roc_auc_score(same, -dist[iu]) >= 0.999


def test_face_record_is_complete(results: dict[str, AnalysisResult]) -> None:
    res = results["couple.jpg"]
    assert (res.width, res.height, res.orientation, res.format) == (2280, 1588, 1, "JPEG")
    for f in res.faces:
        assert f.x >= 0 and f.x + f.w <= res.width and f.y >= 0 and f.y + f.h <= res.height
        assert f.nx == pytest.approx(f.x / res.width) and f.nw == pytest.approx(f.w / res.width)
        assert f.embedding.dtype == np.float32 and f.embedding.shape == (128,)
        assert f.embedding_id == res.embedding_id == SPEC.id
        assert f.landmarks.shape == (5, 2)
        inside = (f.landmarks[:, 0] >= f.x - f.w * 0.2) & (f.landmarks[:, 0] <= f.x + f.w * 1.2)
        assert inside.all()
        assert 0 < f.quality <= 1 and f.sharpness > 0 and f.size_px == min(f.w, f.h)
        assert f.thumbnail[:2] == b"\xff\xd8"
        assert Image.open(io.BytesIO(f.thumbnail)).size == (160, 160)
    assert results["img47.jpg"].format == "WEBP"


def _rotated_copy(src: Path, dst: Path, orientation: int) -> None:
    """Store the pixels turned so that EXIF `orientation` displays them upright again."""
    im = Image.open(src).convert("RGB")
    stored = im.transpose(Image.Transpose.ROTATE_90 if orientation == 6 else Image.Transpose.ROTATE_270)
    exif = Image.Exif()
    exif[0x0112] = orientation
    stored.save(dst, quality=95, exif=exif.tobytes())


@pytest.mark.parametrize("orientation", [6, 8])
def test_exif_rotation_gives_the_same_face_in_the_displayed_view(
    analyzer: FaceAnalyzer, results: dict[str, AnalysisResult], tmp_path: Path, orientation: int
) -> None:
    ref = results["img1.jpg"]
    _rotated_copy(FACES / "img1.jpg", tmp_path / "r.jpg", orientation)
    res = analyzer.analyze(tmp_path / "r.jpg")
    assert res.orientation == orientation
    assert (res.width, res.height) == (ref.width, ref.height)
    assert (res.stored_width, res.stored_height) == (ref.height, ref.width)
    assert len(res.faces) == 1
    a, b = res.faces[0], ref.faces[0]
    assert abs(a.x - b.x) <= 0.05 * b.w and abs(a.y - b.y) <= 0.05 * b.h
    assert np.abs(a.landmarks - b.landmarks).max() <= 0.05 * b.w
    assert np.linalg.norm(a.embedding - b.embedding) < 0.1  # same person by a wide margin (0.6)


def test_photo_without_faces_and_broken_photos(analyzer: FaceAnalyzer, tmp_path: Path) -> None:
    real = FACES.parent / "real"
    assert analyzer.analyze(real / "prairie_falcon.jpg").faces == []
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    with pytest.raises(ImageError):
        analyzer.analyze(tmp_path / "broken.jpg")
    paths = [tmp_path / "broken.jpg", FACES / "img2.jpg", tmp_path / "gone.jpg"]
    items = list(workers.analyze_many(analyzer, paths, workers=2))
    by_name = {Path(i.path).name: i for i in items}
    assert by_name["img2.jpg"].result is not None and len(by_name["img2.jpg"].result.faces) == 1
    assert by_name["broken.jpg"].result is None and by_name["broken.jpg"].error
    assert "not found" in (by_name["gone.jpg"].error or "")


def test_threads_give_the_same_faces(analyzer: FaceAnalyzer, results: dict[str, AnalysisResult]) -> None:
    names = ["couple.jpg", "img3.jpg", "img8.jpg"]
    items = list(workers.analyze_many(analyzer, [FACES / n for n in names], workers=2, executor="thread"))
    for it in items:
        assert it.result is not None
        ref = results[Path(it.path).name]
        assert [(f.x, f.y, f.w, f.h) for f in it.result.faces] == [(f.x, f.y, f.w, f.h) for f in ref.faces]


def test_offline_network_changes_nothing(monkeypatch: pytest.MonkeyPatch, results: dict[str, AnalysisResult]) -> None:
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.setenv(var, "http://127.0.0.1:9")  # the discard port: nothing listens
    start = time.monotonic()
    fresh = FaceAnalyzer(AnalysisSettings(workers=1))
    for name in ("couple.jpg", "img10.jpg"):
        res = fresh.analyze(FACES / name)
        ref = results[name]
        assert len(res.faces) == len(ref.faces)
        np.testing.assert_allclose(res.faces[0].embedding, ref.faces[0].embedding, atol=1e-5)
    assert time.monotonic() - start < 30


def test_a_killed_worker_costs_no_photo(photos: Path) -> None:
    """A worker dying mid-batch (OOM killer, native crash): its photos are retried, none lost."""
    paths = sorted(photos.glob("img*.jpg"))[:10]
    own = FaceAnalyzer(AnalysisSettings(workers=2, thumb_size=96))  # settings of its own: its own pool
    with workers.lease(own) as held:
        items = held.analyze_many(paths)
        got = [next(items)]
        assert held.pool is not None
        victim = next(iter(held.pool.executor._processes))  # type: ignore[attr-defined]
        os.kill(victim, signal.SIGKILL)
        got += list(items)
    assert sorted(Path(i.path).name for i in got) == sorted(p.name for p in paths)
    assert all(i.result is not None and i.result.faces for i in got), [i.error for i in got]
