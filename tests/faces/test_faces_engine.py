"""The onnx engine against dlib-bin, the reference: same landmarks, same chips, same vectors.

dlib-bin (the `dlib` extra, installed for tests) runs here because this machine has AVX; the
comparisons skip where it cannot. Tolerances (docs/calibration.md, "Face engines"): for the same box the
landmarks and chips are identical and the vectors within 1e-4 (measured 1.1e-6, float32
summation order); end to end (MTCNN boxes instead of HOG's, points averaged over 3 box scales)
the vectors of the same face are within 0.15 (docs/calibration.md gives the measured max and mean) against
a match threshold of 0.6.
"""

from __future__ import annotations

import importlib.util
import random
from pathlib import Path

import numpy as np
import pytest

from tagmyphotos.config import ConfigError, load_config
from tagmyphotos.faces import engine_dlib
from tagmyphotos.faces.align import ShapePredictor, dlib_rect, pyramid_down
from tagmyphotos.faces.analyze import AnalysisSettings, FaceAnalyzer
from tagmyphotos.faces.dlibfile import cached_shape_predictor
from tagmyphotos.faces.engine import detector_for
from tagmyphotos.faces.engine_dlib import DlibEngine, EngineUnavailableError, cpu_has_avx
from tagmyphotos.faces.engine_onnx import SPEC, OnnxEngine
from tagmyphotos.faces.images import load_image
from tagmyphotos.faces.weights import converted_dir, dlib_weights
from tagmyphotos.geometry import iou
from tagmyphotos.matching.whispers import chinese_whispers
from tests.support.base import FACES

SAMPLE = ["couple.jpg", "img1.jpg", "img10.jpg", "img28.jpg", "img47.jpg", "selfie-many-people.jpg"]
SAME_BOX_MAX = 1e-4
END_TO_END_MAX = 0.15

needs_dlib = pytest.mark.skipif(
    not cpu_has_avx() or importlib.util.find_spec("dlib") is None,
    reason="dlib-bin (the reference) cannot run here",
)


@pytest.fixture(scope="module")
def onnx_engine() -> OnnxEngine:
    return OnnxEngine()


@needs_dlib
def test_same_box_gives_dlibs_landmarks_chip_and_vector(onnx_engine: OnnxEngine) -> None:
    ref = DlibEngine(detector="hog")
    faces = 0
    for name in SAMPLE:
        rgb = load_image(FACES / name, max_side=1600).pixels
        for d in ref.detect(rgb):
            box = (d.x, d.y, d.w, d.h)
            theirs, ours = ref.landmarks(rgb, box), onnx_engine.landmarks_in(rgb, box)
            np.testing.assert_array_equal(ours, theirs)
            chip_theirs, chip_ours = ref.chip(rgb, theirs), onnx_engine.chip(rgb, ours)
            assert np.abs(chip_ours.astype(int) - chip_theirs).max() <= 1, name
            vec_theirs, vec_ours = ref.embed([chip_theirs])[0], onnx_engine.embed([chip_ours])[0]
            assert np.linalg.norm(vec_ours - vec_theirs) <= SAME_BOX_MAX, name
            faces += 1
    assert faces >= len(SAMPLE)
    assert dlib_rect((10.4, 20.6, 30.0, 40.0)) == (10, 21, 39, 60)


@needs_dlib
def test_batched_landmarks_and_pyramid_equal_dlibs(onnx_engine: OnnxEngine) -> None:
    """The speed-ups keep dlib's numbers: several boxes in one predictor pass give each box's
    points, and OpenCV's pyrDown gives dlib's pyramid_down<2> pixel for pixel."""
    import dlib

    ref = DlibEngine(detector="hog")
    predictor = ShapePredictor(cached_shape_predictor(dlib_weights().landmarks, converted_dir()))
    rng = np.random.default_rng(15)
    boxes = 0
    for name in SAMPLE:
        rgb = load_image(FACES / name, max_side=1024).pixels
        for d in onnx_engine.detect(rgb):
            jitter = rng.uniform(-0.2, 0.2, (6, 4)) * [d.w, d.h, d.w, d.h]
            rects = [dlib_rect((d.x + a, d.y + b, d.w + c, d.h + e)) for a, b, c, e in jitter]
            ours = predictor.many(rgb, rects)
            for rect, points in zip(rects, ours, strict=True):
                x0, y0, x1, y1 = rect
                np.testing.assert_array_equal(points, ref.landmarks(rgb, (x0, y0, x1 - x0 + 1, y1 - y0 + 1)))
                boxes += 1
    assert boxes >= 6 * len(SAMPLE)
    down = dlib.pyramid_down(2)
    for h, w in [(9, 9), (10, 17), (101, 77), (150, 150), (333, 251)]:
        img = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        np.testing.assert_array_equal(pyramid_down(img), down(img))
    img = rng.integers(0, 256, (400, 300, 3), dtype=np.uint8)[7:390, 3:290]  # a crop: strided rows
    np.testing.assert_array_equal(pyramid_down(img), down(np.ascontiguousarray(img)))


def test_pairwise_nms_finds_the_same_faces(onnx_engine: OnnxEngine, monkeypatch: pytest.MonkeyPatch) -> None:
    """MTCNN's suppression over all pairs at once keeps exactly the boxes of one pass per box."""
    images = [load_image(FACES / name, max_side=1024).pixels for name in SAMPLE]
    pairwise = [onnx_engine.detect(rgb) for rgb in images]
    monkeypatch.setattr("tagmyphotos.faces.mtcnn.MTCNN_NMS_PAIRWISE_MAX", 0)
    walked = [onnx_engine.detect(rgb) for rgb in images]
    assert sum(map(len, pairwise)) >= len(SAMPLE)
    for a, b in zip(pairwise, walked, strict=True):
        assert [(d.x, d.y, d.w, d.h, d.score) for d in a] == [(d.x, d.y, d.w, d.h, d.score) for d in b]


@needs_dlib
def test_end_to_end_vectors_stay_close_to_the_old_engine() -> None:
    new = FaceAnalyzer(AnalysisSettings(workers=1))
    old = FaceAnalyzer(AnalysisSettings(engine="dlib", workers=1))
    assert new.embedding_id == SPEC.id != old.embedding_id  # never mixed: a re-analysis follows
    dists = []
    for name in SAMPLE:
        a, b = new.analyze(FACES / name), old.analyze(FACES / name)
        for fb in b.faces:
            best = max(a.faces, key=lambda f: iou((f.x, f.y, f.w, f.h), (fb.x, fb.y, fb.w, fb.h)))
            assert iou((best.x, best.y, best.w, best.h), (fb.x, fb.y, fb.w, fb.h)) > 0.5, name
            dists.append(float(np.linalg.norm(best.embedding - fb.embedding)))
    assert len(dists) >= len(SAMPLE) and max(dists) <= END_TO_END_MAX, dists


@needs_dlib
def test_chinese_whispers_port_returns_dlibs_labels() -> None:
    import dlib

    rnd = random.Random(7)
    for n, degree in ((1, 0), (40, 2), (500, 6)):
        edges = {(i, i) for i in range(n)}
        for i in range(n):
            for _ in range(degree):
                j = min(n - 1, (i // 15) * 15 + rnd.randrange(15)) if rnd.random() < 0.85 else rnd.randrange(n)
                edges.add((min(i, j), max(i, j)))
        ordered = sorted(edges)
        assert chinese_whispers(ordered) == list(dlib.chinese_whispers(ordered)), n
    assert chinese_whispers([]) == []


def test_engine_and_detector_choices(tmp_path: Path) -> None:
    assert detector_for("onnx", "auto") == "mtcnn" and detector_for("dlib", "auto") == "hog"
    with pytest.raises(ValueError, match="engine: dlib"):
        detector_for("onnx", "hog+mtcnn")
    with pytest.raises(ValueError, match="analysis.engine"):
        FaceAnalyzer(AnalysisSettings(engine="tpu"))
    (tmp_path / "c.yaml").write_text("analysis:\n  detector: hog\n")
    with pytest.raises(ConfigError, match="engine: dlib"):
        load_config(tmp_path / "c.yaml", environ={})
    (tmp_path / "c.yaml").write_text("analysis:\n  engine: dlib\n  detector: hog|mtcnn\n")
    assert load_config(tmp_path / "c.yaml", environ={}).analysis.engine == "dlib"


def test_dlib_engine_refuses_a_cpu_without_avx(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Instead of the SIGILL that `import dlib` gets on a Celeron, a sentence naming the fix."""
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nflags\t\t: fpu sse sse2 ssse3 sse4_1 sse4_2 popcnt aes\n")
    monkeypatch.setattr(engine_dlib.platform, "machine", lambda: "x86_64")
    assert not cpu_has_avx(cpuinfo)
    monkeypatch.setattr(engine_dlib, "cpu_has_avx", lambda: False)
    with pytest.raises(EngineUnavailableError, match="AVX.*engine: onnx"):
        FaceAnalyzer(AnalysisSettings(engine="dlib"))
    cpuinfo.write_text("flags\t\t: fpu sse avx avx2\n")
    assert cpu_has_avx(cpuinfo)


def test_onnx_engine_batches_and_reports_its_pipeline(onnx_engine: OnnxEngine) -> None:
    rgb = load_image(FACES / "couple.jpg", max_side=1024).pixels
    found = onnx_engine.detect(rgb)
    assert len(found) == 2 and all(d.detector == "mtcnn" for d in found)
    chips = [onnx_engine.chip(rgb, onnx_engine.landmarks(rgb, (d.x, d.y, d.w, d.h))) for d in found]
    both = onnx_engine.embed(chips)
    one = onnx_engine.embed(chips[:1])
    assert both.shape == (2, 128) and both.dtype == np.float32
    np.testing.assert_allclose(both[0], one[0], atol=1e-5)
    assert onnx_engine.embed([]).shape == (0, 128)
    assert onnx_engine.spec.id == SPEC.id == "Dlib/onnx-dlib5x3-chip150-p0.25/v2"
    box = (found[0].x, found[0].y, found[0].w, found[0].h)
    averaged, single = onnx_engine.landmarks(rgb, box), onnx_engine.landmarks_in(rgb, box)
    assert 0 < np.abs(averaged - single).max() < 0.05 * found[0].w  # the same points, steadier
