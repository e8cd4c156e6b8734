"""The default engine on a CPU without AVX: `analyze --wait` under qemu's Denverton (Atom C3000).

dlib-bin dies there with SIGILL (checked first, so the test proves the emulation really lacks
AVX); the onnx engine must find the same faces as a native run, with vectors within 0.1 of the
native ones (docs/calibration.md, "Face engines": 3 of the 4 faces agree to 1e-6; on img10 the emulated SSE
kernels move MTCNN's box by 5 px, 0.054 apart, against a match threshold of 0.6).
One worker: analysis runs inside the emulated process (a spawned worker would run natively).
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tagmyphotos.geometry import iou
from tests.support.base import ROOT, SHARED

FACES = SHARED / "testdata" / "faces"
PHOTOS = ("couple.jpg", "img1.jpg", "img10.jpg")
QEMU = ["qemu-x86_64", "-cpu", "Denverton-v2"]
VECTOR_TOLERANCE = 0.1

pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(2700),  # emulation: ~3 min on an idle 2-core box, far more on a busy one
    pytest.mark.skipif(shutil.which("qemu-x86_64") is None, reason="Debian qemu-user is not installed"),
]


def _env(library: Path, data: Path) -> dict[str, str]:
    return {
        **os.environ,
        "TAGMYPHOTOS_LIBRARY": str(library),
        "TAGMYPHOTOS_DATA": str(data),
        "TAGMYPHOTOS_CONFIG": str(data / "absent.yaml"),
        "TAGMYPHOTOS_ANALYSIS__WORKERS": "1",
    }


def _run(prefix: list[str], args: list[str], env: dict[str, str]) -> dict[str, object]:
    cmd = [*prefix, sys.executable, "-m", "tagmyphotos_app", *args, "--wait", "--json"]
    out = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, timeout=1500)
    assert out.returncode == 0, out.stderr[-3000:]
    job: dict[str, object] = json.loads(out.stdout)["job"]
    assert job["state"] == "done", job
    return job


def _faces(data: Path) -> list[tuple[str, tuple[int, int, int, int], np.ndarray, str]]:
    with sqlite3.connect(data / "tagmyphotos.db") as conn:
        rows = conn.execute(
            "SELECT photo.path, x, y, w, h, embedding, model FROM face JOIN photo ON photo.id = face.photo_id"
        ).fetchall()
    return sorted((p, (x, y, w, h), np.frombuffer(e, np.float32), mdl) for p, x, y, w, h, e, mdl in rows)


def test_analyze_under_a_cpu_without_avx_matches_the_native_run(tmp_path: Path) -> None:
    dlib = subprocess.run([*QEMU, sys.executable, "-c", "import dlib"], capture_output=True, text=True, timeout=300)
    assert dlib.returncode != 0 and "Illegal instruction" in dlib.stderr  # really no AVX here
    library = tmp_path / "library"
    library.mkdir()
    for name in PHOTOS:
        shutil.copy(FACES / name, library / name)
    runs = {}
    for kind, prefix in (("native", []), ("qemu", QEMU)):
        env = _env(library, tmp_path / kind)
        _run([], ["scan"], env)  # the scan is not what this test is about: native
        job = _run(prefix, ["analyze"], env)
        assert job["result"]["photos"] == len(PHOTOS), job  # type: ignore[index]
        runs[kind] = _faces(tmp_path / kind)
    native, emulated = runs["native"], runs["qemu"]
    assert len(native) == len(emulated) >= len(PHOTOS)
    for a, b in zip(native, emulated, strict=True):
        assert a[0] == b[0] and a[3] == b[3]  # same photo, same pipeline id
        assert iou(a[1], b[1]) >= 0.9, (a[0], a[1], b[1])
        assert float(np.linalg.norm(a[2] - b[2])) <= VECTOR_TOLERANCE, a[0]
