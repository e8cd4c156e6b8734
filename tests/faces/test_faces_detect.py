"""Detector options on real faces: HOG, the numpy MTCNN, fallback and union, min face size."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tagmyphotos.faces.analyze import AnalysisSettings, FaceAnalyzer
from tagmyphotos.faces.detect import FaceDetector, bounded
from tagmyphotos.faces.images import load_image
from tests.support.base import FACES

REAL = FACES.parent / "real"


def _small_couple(tmp_path: Path) -> Path:
    """couple.jpg shrunk into a 1024 px scene: two ~40 px faces, below HOG's 80 px window."""
    im = Image.open(FACES / "couple.jpg").convert("RGB")
    k = 0.16 * 1024 / max(im.size)
    canvas = Image.new("RGB", (1024, 768), (90, 110, 100))
    canvas.paste(im.resize((round(im.width * k), round(im.height * k))), (400, 300))
    canvas.save(tmp_path / "small.jpg", quality=95)
    return tmp_path / "small.jpg"


@pytest.fixture(scope="module")
def detectors() -> dict[str, FaceDetector]:
    return {mode: FaceDetector(mode) for mode in ("hog", "hog+mtcnn", "hog|mtcnn", "mtcnn")}


def test_all_options_find_the_couple(detectors: dict[str, FaceDetector]) -> None:
    rgb = load_image(FACES / "couple.jpg", max_side=1024).pixels
    for mode, det in detectors.items():
        found = det.detect(rgb)
        assert len(found) == 2, mode
    for d in detectors["mtcnn"].detect(rgb):
        assert d.keypoints is not None and d.score > 0.9
        inside_x = (d.keypoints[:, 0] > d.x) & (d.keypoints[:, 0] < d.x + d.w)
        inside_y = (d.keypoints[:, 1] > d.y) & (d.keypoints[:, 1] < d.y + d.h)
        assert inside_x.all() and inside_y.all()


def test_mtcnn_fallback_finds_small_faces_hog_misses(detectors: dict[str, FaceDetector], tmp_path: Path) -> None:
    rgb = load_image(_small_couple(tmp_path)).pixels
    assert detectors["hog"].detect(rgb) == []
    fallback = detectors["hog+mtcnn"].detect(rgb)
    assert [d.detector for d in fallback] == ["mtcnn", "mtcnn"]
    assert all(30 <= d.w <= 60 for d in fallback)


def test_union_does_not_double_count(detectors: dict[str, FaceDetector]) -> None:
    rgb = load_image(FACES / "img1.jpg", max_side=1024).pixels
    union = detectors["hog|mtcnn"].detect(rgb)
    assert [d.detector for d in union] == ["hog"]


def test_no_face_photos(detectors: dict[str, FaceDetector]) -> None:
    for name in ("prairie_falcon.jpg", "wood_anemones.jpg"):
        rgb = load_image(REAL / name).pixels
        for mode, det in detectors.items():
            assert det.detect(rgb) == [], (name, mode)


def test_boxes_map_back_from_the_bounded_image(detectors: dict[str, FaceDetector]) -> None:
    full = load_image(FACES / "couple.jpg").pixels
    small, scale = bounded(full, 800)
    assert max(small.shape[:2]) == 800 and scale == pytest.approx(800 / 2280, rel=1e-3)
    a = sorted(detectors["hog"].detect(full), key=lambda d: d.x)
    big_det = FaceDetector("hog", max_side=4000)
    b = sorted(big_det.detect(full), key=lambda d: d.x)
    for x, y in zip(a, b, strict=True):
        assert abs((x.x + x.w / 2) - (y.x + y.w / 2)) < 0.1 * y.w  # same face, full-res coordinates


def test_min_face_size_in_full_resolution_pixels(tmp_path: Path) -> None:
    small = _small_couple(tmp_path)
    keep = FaceAnalyzer(AnalysisSettings(engine="dlib", detector="hog+mtcnn", min_face_px=20, workers=1)).analyze(small)
    assert len(keep.faces) == 2
    assert all(f.embedding.shape == (128,) and f.detector == "mtcnn" for f in keep.faces)
    drop = FaceAnalyzer(AnalysisSettings(engine="dlib", detector="hog+mtcnn", min_face_px=60, workers=1)).analyze(small)
    assert drop.faces == []


@pytest.mark.slow
def test_onnx_mtcnn_matches_the_tensorflow_package() -> None:
    """Same weights, same pipeline: boxes agree with mtcnn's own (TensorFlow) implementation."""
    pytest.importorskip("tensorflow", reason="TensorFlow is the optional [deepface] extra")
    from mtcnn import MTCNN

    reference = MTCNN()
    ours = FaceDetector("mtcnn", max_side=10_000)
    for name in ("couple.jpg", "selfie-many-people.jpg", "img1.jpg"):
        rgb = load_image(FACES / name, max_side=800).pixels
        rgb, _ = bounded(rgb, 800)
        ref = [r for r in reference.detect_faces(rgb, threshold_onet=0.85, min_face_size=24)]
        got = ours.detect(rgb)
        assert len(got) == len(ref), name
        for r in ref:
            x, y, w, h = r["box"]
            best = max(got, key=lambda d: _iou((x, y, w, h), (d.x, d.y, d.w, d.h)))
            assert _iou((x, y, w, h), (best.x, best.y, best.w, best.h)) > 0.8, name
            assert abs(best.score - float(r["confidence"])) < 0.05


def _iou(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    ix = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = ix * iy
    return float(inter / (a[2] * a[3] + b[2] * b[3] - inter))


def test_detection_is_deterministic(detectors: dict[str, FaceDetector]) -> None:
    rgb = load_image(FACES / "selfie-many-people.jpg").pixels
    runs = [[(d.x, d.y, d.w, d.h) for d in detectors["hog|mtcnn"].detect(rgb)] for _ in range(2)]
    assert runs[0] == runs[1]
    assert np.isfinite(np.array(runs[0])).all()
