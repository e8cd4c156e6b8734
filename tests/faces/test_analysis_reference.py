"""The default engine's analysis of a few testdata photos against stored results (issue 31).

Why: speed work on the analysis (decode, MTCNN, landmarks, chips, ONNX Runtime settings) must
keep its results: the same faces (boxes), landmarks and detector scores, and vectors within
float tolerance, or the calibrated thresholds and every stored vector silently stop fitting.
The reference was written by the engine before that work (`python -m
tests.faces.test_analysis_reference --write` rewrites it, for a deliberate change only, which
also bumps the pipeline id). Every testdata photo's faces (boxes, scores, landmarks) are kept, and the
vectors of seven: two faces, four faces, a second larger decode for small faces, blurred faces
embedded with their mirror image, a small photo. Boxes of all photos matter: a probability
moved by 3e-7 (PNet's softmax computed as a sigmoid) reordered near-equal proposals and moved
the boxes of 3 of them by up to 25 px.
Tolerances: ONNX Runtime picks other kernels on other CPUs (AVX-512, AVX2, NEON), which moves
vectors by ~1e-6 and boxes by rounding at most; the no-AVX emulation is test_engine_qemu's.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tagmyphotos.faces.analyze import AnalysisResult, AnalysisSettings, FaceAnalyzer
from tests.support.base import SHARED

FACES = SHARED / "testdata" / "faces"
REFERENCE = Path(__file__).with_name("analysis_reference.json")
ALL = sorted(p.name for p in FACES.glob("*.jpg"))
VECTORS = ("couple.jpg", "img1.jpg", "img10.jpg", "img53.jpg", "img54.jpg", "img62.jpg", "selfie-many-people.jpg")
BOX_PX = 1  # rounding of a box edge may flip on another CPU's kernels
LANDMARK_PX = 0.5
VECTOR_MAX_ABS = 1e-4  # vectors have norm ~0.4..1 and entries ~0.1; same-person distance < 0.6
SCORE_ABS = 1e-3


def describe(result: AnalysisResult, vectors: bool) -> dict[str, Any]:
    """What the reference keeps of one photo's analysis (with `vectors`: the embeddings too)."""
    return {
        "size": [result.width, result.height],
        "decodes": result.decodes,
        "embedding_id": result.embedding_id,
        "faces": [
            {
                "box": [f.x, f.y, f.w, f.h],
                "score": f.score,
                "landmarks": np.round(np.asarray(f.landmarks, dtype=np.float64), 3).tolist(),
                "sharpness": f.sharpness,
                **({"embedding": [float(v) for v in np.asarray(f.embedding, dtype=np.float32)]} if vectors else {}),
            }
            for f in result.faces
        ],
    }


@pytest.fixture(scope="module")
def analysed() -> dict[str, dict[str, Any]]:
    analyzer = FaceAnalyzer(AnalysisSettings(workers=1))
    return {name: describe(analyzer.analyze(FACES / name), name in VECTORS) for name in ALL}


def test_reference_covers_the_cases_it_claims() -> None:
    ref = json.loads(REFERENCE.read_text())
    assert sorted(ref) == ALL and len(ALL) >= 60
    assert all("embedding" in f for name in VECTORS for f in ref[name]["faces"])
    assert ref["couple.jpg"]["faces"] and len(ref["selfie-many-people.jpg"]["faces"]) == 4
    assert ref["img54.jpg"]["decodes"] == 2
    assert any(f["sharpness"] < 50 for f in ref["img54.jpg"]["faces"])  # flip-averaged


@pytest.mark.parametrize("name", ALL)
def test_analysis_matches_the_reference(analysed: dict[str, dict[str, Any]], name: str) -> None:
    want, got = json.loads(REFERENCE.read_text())[name], analysed[name]
    assert got["size"] == want["size"] and got["decodes"] == want["decodes"]
    assert got["embedding_id"] == want["embedding_id"]
    assert len(got["faces"]) == len(want["faces"]), name
    for g, w in zip(got["faces"], want["faces"], strict=True):
        assert np.abs(np.subtract(g["box"], w["box"])).max() <= BOX_PX, (name, g["box"], w["box"])
        assert abs(g["score"] - w["score"]) <= SCORE_ABS
        assert np.abs(np.subtract(g["landmarks"], w["landmarks"])).max() <= LANDMARK_PX
        if "embedding" not in w:
            continue
        a, b = np.asarray(g["embedding"]), np.asarray(w["embedding"])
        assert np.abs(a - b).max() <= VECTOR_MAX_ABS, (name, float(np.abs(a - b).max()))
        assert float(a @ b / np.linalg.norm(a) / np.linalg.norm(b)) >= 1 - 1e-6


def write_reference() -> None:
    analyzer = FaceAnalyzer(AnalysisSettings(workers=1))
    ref = {name: describe(analyzer.analyze(FACES / name), name in VECTORS) for name in ALL}
    REFERENCE.write_text(json.dumps(ref, indent=1) + "\n")


if __name__ == "__main__" and sys.argv[1:] == ["--write"]:
    write_reference()
