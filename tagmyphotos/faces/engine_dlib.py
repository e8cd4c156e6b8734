"""The previous face engine, on dlib-bin: HOG (MTCNN optional), dlib's landmarks, chips, ResNet.

Kept selectable (config analysis.engine: dlib) so a library can stay on the vectors it has.
dlib-bin's wheel is built for AVX: on a CPU without it `import dlib` is killed by SIGILL, so
this engine checks the CPU first and says so instead (dlib-bin is an optional dependency:
`pip install 'tagmyphotos[dlib]'`).
"""

from __future__ import annotations

import platform
from pathlib import Path

import numpy as np

from tagmyphotos import tuning
from tagmyphotos.errors import TagMyPhotosError
from tagmyphotos.faces.detect import Detection, FaceDetector
from tagmyphotos.faces.embed import DEFAULT_MODEL, Aligner, DlibEmbedder, EmbeddingSpec, make_embedder
from tagmyphotos.faces.engine import detector_for


class EngineUnavailableError(TagMyPhotosError, RuntimeError):
    """This engine cannot run on this machine; the message says why and what to use instead."""


def cpu_has_avx(cpuinfo: Path = Path("/proc/cpuinfo")) -> bool:
    """True when the CPU (x86-64) announces AVX; other architectures are not checked here."""
    if platform.machine().lower() not in ("x86_64", "amd64"):
        return True
    try:
        text = cpuinfo.read_text(errors="replace")
    except OSError:
        return True  # cannot tell: let dlib try
    flags = next((line.split(":", 1)[1].split() for line in text.splitlines() if line.startswith("flags")), [])
    return "avx" in flags


def require_dlib() -> None:
    """Raise EngineUnavailableError where `import dlib` would fail or kill the process."""
    if not cpu_has_avx():
        raise EngineUnavailableError(
            "analysis.engine 'dlib' needs a CPU with AVX (dlib-bin dies with SIGILL without it); "
            "use analysis.engine: onnx"
        )
    import importlib.util

    if importlib.util.find_spec("dlib") is None:
        raise EngineUnavailableError(
            "analysis.engine 'dlib' needs the dlib-bin package (pip install 'tagmyphotos[dlib]'); "
            "or use analysis.engine: onnx"
        )


class DlibEngine:
    name = "dlib"

    def __init__(
        self,
        detector: str = "auto",
        max_side: int = tuning.DETECT_MAX_SIDE,
        model: str = DEFAULT_MODEL,
        deepface_home: str | None = None,
    ) -> None:
        mode = detector_for(self.name, detector)
        require_dlib()
        self._detector = FaceDetector(mode, max_side)
        self._aligner = Aligner()
        self._embedder = make_embedder(model, deepface_home)
        self.spec: EmbeddingSpec = self._embedder.spec
        self.chip_size = self._embedder.chip_size
        self.chip_padding = self._embedder.chip_padding

    @staticmethod
    def spec_for(model: str) -> EmbeddingSpec | None:
        return DlibEmbedder.spec if model == DEFAULT_MODEL else None

    def detect(self, rgb: np.ndarray, min_face: float | None = None) -> list[Detection]:
        return self._detector.detect(rgb, min_face)

    def landmarks(self, rgb: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
        return self._aligner.points(self._aligner.landmarks(rgb, box))

    def chip(self, rgb: np.ndarray, points: np.ndarray) -> np.ndarray:
        return self._aligner.chip_from_points(rgb, points, self.chip_size, self.chip_padding)

    def embed(self, chips: list[np.ndarray]) -> np.ndarray:
        return self._embedder.embed(chips)
