"""The face engine contract: detect, find dlib's 5 landmarks, cut the chip, embed.

One interface, one file per engine (as immich-ml does it): `engine_onnx` (the default: MTCNN,
dlib's shape predictor and dlib's ResNet without dlib, on numpy and ONNX Runtime: no AVX
needed, arm64 wheels) and `engine_dlib` (the previous engine: dlib-bin's HOG, landmarks,
chips and descriptor; CPUs with AVX only). FaceAnalyzer and BoxEmbedder only talk to this
contract. Every engine names its embeddings (`EmbeddingSpec.id`, stored with each vector):
vectors of different ids are never compared, so switching engines re-analyses the library.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

import numpy as np

from tagmyphotos.faces.detect import DETECTOR_MODES, Detection

if TYPE_CHECKING:
    from tagmyphotos.faces.embed import EmbeddingSpec

ENGINES: tuple[str, ...] = ("onnx", "dlib")
DEFAULT_ENGINE = "onnx"
ENGINE_HELP = {
    "onnx": "MTCNN + dlib's landmarks and ResNet on ONNX Runtime: any x86-64 or arm64 CPU (default)",
    "dlib": "the previous engine on dlib-bin (HOG detector): x86-64 CPUs with AVX only",
}
# The detector each engine uses when config says `auto`.
AUTO_DETECTOR = {"onnx": "mtcnn", "dlib": "hog"}
DETECTOR_CHOICES: tuple[str, ...] = ("auto", *DETECTOR_MODES)


class FaceEngine(Protocol):
    """Models are loaded by the constructor (once per worker process)."""

    name: str
    spec: EmbeddingSpec
    chip_size: int
    chip_padding: float

    def detect(self, rgb: np.ndarray, min_face: float | None = None) -> list[Detection]:
        """Faces in `rgb` (RGB uint8), in its pixel grid; `min_face`: the smallest face wanted
        (px in `rgb`), searched for where the detector's budget allows (detect.mtcnn_min_face)."""
        ...

    def landmarks(self, rgb: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
        """dlib's 5 points (eye corners, nose base) for the face in `box` (x, y, w, h), 5 x 2."""
        ...

    def chip(self, rgb: np.ndarray, points: np.ndarray) -> np.ndarray:
        """The aligned chip the embedder was trained on (chip_size x chip_size RGB uint8)."""
        ...

    def embed(self, chips: list[np.ndarray]) -> np.ndarray:
        """One vector per chip (float32, len(chips) x spec.dim)."""
        ...


def detector_for(engine: str, detector: str) -> str:
    """The detector mode an engine runs for the configured `detector`; ValueError if it cannot."""
    if engine not in ENGINES:
        raise ValueError(f"analysis.engine must be one of {', '.join(ENGINES)}, not {engine!r}")
    mode = AUTO_DETECTOR[engine] if detector == "auto" else detector
    if mode not in DETECTOR_MODES:
        raise ValueError(f"analysis.detector must be one of {', '.join(DETECTOR_CHOICES)}, not {detector!r}")
    if engine == "onnx" and mode != "mtcnn":
        raise ValueError(
            f"analysis.detector {detector!r} needs dlib's HOG detector (analysis.engine: dlib, CPUs with AVX); "
            "the onnx engine detects with mtcnn (analysis.detector: auto or mtcnn)"
        )
    return mode
