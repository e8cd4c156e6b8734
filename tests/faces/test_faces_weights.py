"""Weights: found in packages, linked for deepface, and a missing one is a clear, fast error."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tagmyphotos.faces import weights
from tagmyphotos.faces.analyze import AnalysisSettings, FaceAnalyzer
from tagmyphotos.faces.detect import FaceDetector
from tagmyphotos.faces.embed import Aligner, DeepFaceEmbedder, DlibEmbedder
from tagmyphotos.faces.images import load_image
from tagmyphotos.faces.weights import WeightsMissingError
from tests.support.base import FACES, ROOT


def _closed_network(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.setenv(var, "http://127.0.0.1:9")


def test_packaged_weights_are_found() -> None:
    dlib = weights.dlib_weights()
    assert dlib.resnet.stat().st_size > 20_000_000 and dlib.landmarks.is_file()
    assert set(weights.mtcnn_weights()) == {"pnet", "rnet", "onet"}


def test_link_command_is_idempotent(tmp_path: Path) -> None:
    cmd = [sys.executable, "-m", "tagmyphotos.faces.weights", "--link", "--home", str(tmp_path)]
    for _ in range(2):
        out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=60, check=True)
        assert "linked" in out.stdout
    folder = tmp_path / ".deepface" / "weights"
    assert sorted(p.name for p in folder.iterdir()) == sorted(weights.DEEPFACE_LINKED)
    assert (folder / weights.DLIB_RESNET_FILE).resolve() == weights.dlib_weights().resnet.resolve()


def test_missing_packaged_weight_names_file_and_folder(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "models").mkdir()
    monkeypatch.setattr(weights, "_package_dir", lambda package: tmp_path)
    with pytest.raises(WeightsMissingError) as exc:
        FaceAnalyzer(AnalysisSettings())
    assert weights.DLIB_RESNET_FILE in str(exc.value) and str(tmp_path / "models") in str(exc.value)
    assert exc.value.folder == tmp_path / "models"


def test_missing_deepface_weight_fails_fast_offline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _closed_network(monkeypatch)
    monkeypatch.setenv("DEEPFACE_HOME", str(tmp_path))
    start = time.monotonic()
    with pytest.raises(WeightsMissingError) as exc:
        FaceAnalyzer(AnalysisSettings(model="Facenet512", deepface_home=str(tmp_path)))
    assert time.monotonic() - start < 10  # no download attempt, no network timeout
    assert "facenet512" in str(exc.value).lower()
    assert str(tmp_path / ".deepface" / "weights") in str(exc.value)
    assert not any((tmp_path / ".deepface" / "weights").glob("*"))  # nothing half-downloaded


def test_deepface_path_runs_offline_and_agrees_with_dlib(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A deepface-built model (Dlib, the one whose weights ship) works offline without TensorFlow."""
    _closed_network(monkeypatch)
    monkeypatch.setenv("DEEPFACE_HOME", str(tmp_path))
    weights.link_weights(tmp_path)
    via_deepface = DeepFaceEmbedder("Dlib", deepface_home=tmp_path)
    assert via_deepface.spec.id != DlibEmbedder.spec.id  # another pipeline: never mixed
    rgb = load_image(FACES / "img1.jpg").pixels
    aligner = Aligner()
    face = FaceDetector("hog").detect(rgb)[0]
    shape = aligner.landmarks(rgb, (face.x, face.y, face.w, face.h))
    chip = aligner.chip(rgb, shape, 150, 0.25)
    a = via_deepface.embed([chip])[0]
    b = DlibEmbedder().embed([chip])[0]
    assert a.shape == b.shape == (128,)
    assert np.linalg.norm(a - b) < 0.02  # same weights; deepface's float round trip only


def test_tensorflow_is_never_imported() -> None:
    """Default path and the deepface path (onnx engine) in a fresh interpreter: no TensorFlow.

    The default engine does not import dlib either (dlib-bin dies with SIGILL without AVX)."""
    code = (
        "import sys; from tagmyphotos.faces.analyze import FaceAnalyzer, AnalysisSettings; "
        f"r = FaceAnalyzer(AnalysisSettings()).analyze({str(FACES / 'couple.jpg')!r}); "
        "no_dlib = 'dlib' not in sys.modules; "
        "from tagmyphotos.faces.embed import DeepFaceEmbedder; DeepFaceEmbedder('Dlib'); "
        "print(len(r.faces), 'tensorflow' in sys.modules, 'torch' in sys.modules, no_dlib)"
    )
    env = {k: v for k, v in os.environ.items() if k != "DEEPFACE_BACKEND_ENGINE"}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["2", "False", "False", "True"]
