"""The default face engine: no dlib, no TensorFlow, no AVX needed; x86-64 and arm64.

MTCNN (the `mtcnn` wheel's weights on ONNX Runtime) finds the faces; dlib's 5-point shape
predictor and chip extraction, re-implemented in numpy (faces_align), give exactly dlib's
landmarks and chips for a box; dlib's ResNet (face-recognition-models' weights as an ONNX
graph, faces_resnet) embeds them. For the same box and points its vectors equal dlib-bin's
within 2e-6 (docs/calibration.md, "Face engines"), so the calibrated Dlib thresholds apply unchanged. The
boxes differ (MTCNN's, mapped to HOG-like ones for the landmark model), so the points are
averaged over three scales of the box (tuning.LANDMARK_BOX_SCALES); hence a pipeline id of
its own.
"""

from __future__ import annotations

import numpy as np

from tagmyphotos import tuning
from tagmyphotos.faces.align import ShapePredictor, dlib_rect, face_chip
from tagmyphotos.faces.detect import Detection, FaceDetector
from tagmyphotos.faces.dlibfile import cached_shape_predictor
from tagmyphotos.faces.embed import DEFAULT_MODEL, DeepFaceEmbedder, EmbeddingSpec
from tagmyphotos.faces.engine import detector_for
from tagmyphotos.faces.onnxgraph import session
from tagmyphotos.faces.resnet import build_graph, normalise
from tagmyphotos.faces.weights import converted_dir, dlib_weights

PIPELINE = f"onnx-dlib5x{len(tuning.LANDMARK_BOX_SCALES)}-chip{tuning.CHIP_SIZE}-p{tuning.CHIP_PADDING}"
SPEC = EmbeddingSpec(DEFAULT_MODEL, PIPELINE, 128)


class OnnxEngine:
    name = "onnx"
    chip_size = tuning.CHIP_SIZE
    chip_padding = tuning.CHIP_PADDING

    def __init__(
        self,
        detector: str = "auto",
        max_side: int = tuning.DETECT_MAX_SIDE,
        model: str = DEFAULT_MODEL,
        deepface_home: str | None = None,
    ) -> None:
        mode = detector_for(self.name, detector)
        weights = dlib_weights()
        self._detector = FaceDetector(mode, max_side, tuning.ENGINE_MTCNN_MIN_FACE_PX)
        self._shapes = ShapePredictor(cached_shape_predictor(weights.landmarks, converted_dir()))
        self._other: DeepFaceEmbedder | None = None
        self.spec = SPEC
        if model == DEFAULT_MODEL:
            self._resnet = session(build_graph(weights.resnet))
        else:  # another deepface model, fed the same chips at its own size
            self._other = other = DeepFaceEmbedder(model, deepface_home)
            self.chip_size, self.chip_padding = other.chip_size, other.chip_padding
            self.spec = EmbeddingSpec(model, f"onnx-{other.spec.pipeline}", other.spec.dim)

    @staticmethod
    def spec_for(model: str) -> EmbeddingSpec | None:
        """The id this engine stores for `model`, when known without loading it."""
        return SPEC if model == DEFAULT_MODEL else None

    def detect(self, rgb: np.ndarray, min_face: float | None = None) -> list[Detection]:
        return self._detector.detect(rgb, min_face)

    def landmarks(self, rgb: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
        """dlib's 5 points, averaged over the box at LANDMARK_BOX_SCALES (see tuning)."""
        x, y, w, h = box
        cx, cy = x + w / 2, y + h / 2
        rects = [dlib_rect((cx - w * k / 2, cy - h * k / 2, w * k, h * k)) for k in tuning.LANDMARK_BOX_SCALES]
        points = self._shapes.many(rgb, rects).astype(np.float32)  # one pass for the three boxes
        return np.mean(points, axis=0).astype(np.float32)

    def landmarks_in(self, rgb: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
        """dlib's shape predictor on exactly this box: dlib-bin's integer points."""
        return self._shapes(rgb, dlib_rect(box)).astype(np.float32)

    def chip(self, rgb: np.ndarray, points: np.ndarray) -> np.ndarray:
        return face_chip(rgb, points.astype(np.float64), self.chip_size, self.chip_padding)

    def embed(self, chips: list[np.ndarray]) -> np.ndarray:
        if not chips:
            return np.zeros((0, self.spec.dim), dtype=np.float32)
        if self._other is not None:
            return self._other.embed(chips)
        out = self._resnet.run(None, {"chips": normalise(chips)})[0]
        return np.asarray(out, dtype=np.float32)
