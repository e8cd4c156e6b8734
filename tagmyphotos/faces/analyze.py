"""Photo in, faces out: decode, detect, align, embed, thumbnail. No database here.

`FaceAnalyzer(settings).analyze(path)` does one photo in this process; faces.workers spreads
photos over worker processes (or threads), each loading the models once. Every per-photo
failure is an `ImageError` whose message the caller stores on the photo; a batch never
raises for a photo (only WeightsMissingError, for all of them).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import cv2
import numpy as np

from tagmyphotos import tuning
from tagmyphotos.config import Config
from tagmyphotos.faces.detect import Detection, hog_like
from tagmyphotos.faces.embed import DEFAULT_MODEL, EmbeddingSpec
from tagmyphotos.faces.engine import DEFAULT_ENGINE, FaceEngine, detector_for
from tagmyphotos.faces.engine_dlib import DlibEngine, require_dlib
from tagmyphotos.faces.engine_onnx import OnnxEngine
from tagmyphotos.faces.images import ImageError, LoadedImage, load_image
from tagmyphotos.faces.roll import roll_degrees, upright_landmarks
from tagmyphotos.faces.thumb import face_thumbnail
from tagmyphotos.faces.weights import WeightsMissingError, dlib_weights


@dataclass(frozen=True)
class AnalysisSettings:
    """What config.yaml may change (section `analysis`); defaults are the calibrated ones."""

    engine: str = DEFAULT_ENGINE  # onnx | dlib (faces_engine.ENGINE_HELP)
    detector: str = "auto"  # auto (the engine's) | hog | hog+mtcnn | hog|mtcnn | mtcnn (faces_detect)
    detect_max_side: int = tuning.DETECT_MAX_SIDE
    min_face_px: int = tuning.MIN_FACE_PX
    max_megapixels: float = tuning.IMAGE_MAX_PIXELS / 1e6
    model: str = DEFAULT_MODEL  # deepface model name; only Dlib's weights ship offline
    deepface_home: str | None = None  # where other models' weights live (.deepface/weights)
    workers: int = 2  # analysis workers for analyze_many (one per core)
    executor: str = "process"  # process | thread (faces_workers: processes scale better)
    thumb_size: int = tuning.THUMB_SIZE


def settings_from_config(cfg: Config) -> AnalysisSettings:
    """The analysis settings of an installation (config.yaml, environment, settings edited in the UI)."""
    a = cfg.analysis
    return AnalysisSettings(
        engine=a.engine,
        detector=a.detector,
        detect_max_side=a.detect_max_px,
        min_face_px=a.min_face_px,
        max_megapixels=a.max_image_pixels / 1e6,
        model=a.model,
        deepface_home=os.environ.get("DEEPFACE_HOME"),
        workers=a.workers,
        executor=a.executor,
    )


@dataclass(frozen=True)
class AnalyzedFace:
    """One face; every coordinate is in the photo as displayed (EXIF orientation applied)."""

    x: int  # box in full-resolution oriented pixels
    y: int
    w: int
    h: int
    nx: float  # the same box normalised to 0..1 of the oriented width/height
    ny: float
    nw: float
    nh: float
    score: float  # detector confidence (HOG margin or MTCNN probability)
    detector: str
    landmarks: np.ndarray  # 5 x 2 float32, dlib's 5 points, full-resolution oriented pixels
    size_px: int  # shorter side of the box
    sharpness: float  # variance of the Laplacian on the grey 150 px chip
    quality: float  # 0..1 from size and sharpness
    thumbnail: bytes  # JPEG
    embedding: np.ndarray  # float32
    embedding_id: str  # model/pipeline/version: never compare vectors with different ids


@dataclass(frozen=True)
class AnalysisResult:
    path: str
    format: str  # detected from content
    width: int  # as displayed
    height: int
    stored_width: int  # as stored in the file
    stored_height: int
    orientation: int  # EXIF 1..8
    embedding_id: str
    faces: list[AnalyzedFace] = field(default_factory=list)
    seconds: float = 0.0
    decodes: int = 1  # 2 when faces were too small in the reduced decode and it decoded larger


def on_original(result: AnalysisResult, fmt: str, stored: tuple[int, int], orientation: int) -> AnalysisResult:
    """The faces found in an embedded preview (a RAW's JPEG) placed on the original: boxes and
    landmarks scaled from the preview's displayed size to the original's (`stored` pixels
    turned by `orientation`); normalised boxes stay as they are."""
    width, height = (stored[1], stored[0]) if orientation >= 5 else stored
    kx, ky = width / result.width, height / result.height
    faces = []
    for f in result.faces:
        x, y = round(f.x * kx), round(f.y * ky)
        w, h = min(round(f.w * kx), width - x), min(round(f.h * ky), height - y)
        points = np.asarray(f.landmarks, dtype=np.float32) * np.array([kx, ky], dtype=np.float32)
        faces.append(replace(f, x=x, y=y, w=w, h=h, landmarks=points, size_px=min(w, h)))
    return replace(result, format=fmt, width=width, height=height, stored_width=stored[0],
                   stored_height=stored[1], orientation=orientation, faces=faces)  # fmt: skip


@dataclass(frozen=True)
class BatchItem:
    """One photo of analyze_many: a result, or the error message to store on the photo."""

    path: str
    result: AnalysisResult | None
    error: str | None


def scaled(d: Detection, kx: float, ky: float) -> Detection:
    """`d` in an image kx, ky times as large."""
    points = d.keypoints * np.array([kx, ky], dtype=np.float32) if d.keypoints is not None else None
    return replace(d, x=d.x * kx, y=d.y * ky, w=d.w * kx, h=d.h * ky, keypoints=points)


def landmarks(engine: FaceEngine, rgb: np.ndarray, d: Detection) -> np.ndarray:
    """dlib's 5 points of the face `d` in `rgb`; a face rolled by more than
    tuning.ROLL_UPRIGHT_MIN_DEG is turned upright first (faces_roll)."""
    roll = roll_degrees(d)
    if roll is not None and abs(roll) >= tuning.ROLL_UPRIGHT_MIN_DEG:
        points = upright_landmarks(engine, rgb, d, roll)
        if points is not None:
            return points
    return engine.landmarks(rgb, hog_like(d))


def sharpness(chip: np.ndarray) -> float:
    grey = cv2.cvtColor(chip, cv2.COLOR_RGB2GRAY)
    if grey.shape[0] != tuning.CHIP_SIZE:
        grey = cv2.resize(grey, (tuning.CHIP_SIZE, tuning.CHIP_SIZE), interpolation=cv2.INTER_AREA)
    return float(cv2.Laplacian(grey, cv2.CV_64F).var())


def embed_chips(engine: FaceEngine, chips: list[np.ndarray]) -> tuple[np.ndarray, list[float]]:
    """One vector per chip, and each chip's sharpness. A chip less sharp than
    tuning.FLIP_AVERAGE_BELOW_SHARPNESS is embedded with its mirror image too (in the same
    batch) and the two vectors averaged: blur costs a blurred face more than a sharp one."""
    sharp = [sharpness(c) for c in chips]
    flips = [i for i, v in enumerate(sharp) if v < tuning.FLIP_AVERAGE_BELOW_SHARPNESS]
    vectors = engine.embed(chips + [np.ascontiguousarray(chips[i][:, ::-1]) for i in flips])
    out = np.array(vectors[: len(chips)], dtype=np.float32)
    for n, i in enumerate(flips):
        out[i] = (out[i] + vectors[len(chips) + n]) / 2
    return out, sharp


def quality_score(size_px: float, sharp: float) -> float:
    size_f = min(1.0, size_px / tuning.QUALITY_GOOD_FACE_PX)
    sharp_f = min(1.0, sharp / tuning.QUALITY_GOOD_SHARPNESS)
    return round(size_f * sharp_f, 4)


_ENGINES: dict[str, type[OnnxEngine] | type[DlibEngine]] = {"onnx": OnnxEngine, "dlib": DlibEngine}


def load_engine(s: AnalysisSettings) -> FaceEngine:
    """The configured engine with its models loaded (only that engine's libraries are imported)."""
    return _ENGINES[s.engine](s.detector, s.detect_max_side, s.model, s.deepface_home)


def engine_spec(s: AnalysisSettings) -> EmbeddingSpec | None:
    """The embedding id the configured engine stores, when known without loading models."""
    return _ENGINES[s.engine].spec_for(s.model)


class FaceAnalyzer:
    """Models are loaded on first use, once per process; reuse one analyzer for many photos."""

    def __init__(self, settings: AnalysisSettings | None = None) -> None:
        self.settings = s = settings or AnalysisSettings()
        if s.executor not in ("process", "thread"):
            raise ValueError(f"analysis.executor must be 'process' or 'thread', not {s.executor!r}")
        detector_for(s.engine, s.detector)  # a bad combination fails here, not on every photo
        dlib_weights()  # fail now, with the file and folder named, rather than on every photo
        self._engine: FaceEngine | None = None
        if s.engine == "dlib":
            require_dlib()  # no AVX or no dlib-bin: say so now, not with a SIGILL in a worker
        if engine_spec(s) is None:
            self.load()  # builds the deepface model: a missing weight raises here

    def load(self) -> None:
        """Load the engine's models (once; analyze() calls it)."""
        if self._engine is None:
            self._engine = load_engine(self.settings)

    @property
    def embedding_id(self) -> str:
        """The id stored with every vector; known without loading the models in this process."""
        if self._engine is not None:
            return self._engine.spec.id
        spec = engine_spec(self.settings)
        assert spec is not None  # __init__ loaded the engine otherwise
        return spec.id

    def analyze(self, path: Path | str) -> AnalysisResult:
        """Analyse one photo; raises ImageError (only) when this photo cannot be analysed."""
        try:
            return self._analyze(path)
        except (ImageError, WeightsMissingError):
            raise  # the second is the installation's problem, not this photo's: stop the batch
        except Exception as exc:  # native code on odd pixels: this photo fails, the batch goes on
            raise ImageError(f"face analysis failed: {type(exc).__name__}: {exc}") from exc

    def _analyze(self, path: Path | str) -> AnalysisResult:
        start = time.perf_counter()
        self.load()
        engine = self._engine
        assert engine is not None
        s = self.settings
        max_pixels = int(s.max_megapixels * 1e6)
        # Decode just big enough to detect on (JPEG: Image.draft at 1/2, 1/4 or 1/8 scale).
        work = load_image(path, max_side=s.detect_max_side, max_pixels=max_pixels)
        info = work.info
        sx = work.pixels.shape[1] / info.width
        sy = work.pixels.shape[0] / info.height
        found = engine.detect(work.pixels, s.min_face_px * min(sx, sy))
        dets = [d for d in found if min(d.w / sx, d.h / sy) >= s.min_face_px]
        # The chip must see each face with >= CHIP_SOURCE_MIN_FACE_PX pixels (more than the chip
        # itself holds, so nothing is lost to the reduced decode); decode larger when it does not.
        src: LoadedImage = work
        smallest = min((min(d.w, d.h) for d in dets), default=0.0)
        if dets and smallest < tuning.CHIP_SOURCE_MIN_FACE_PX and not work.is_full_resolution:
            need = max(work.pixels.shape[:2]) * tuning.CHIP_SOURCE_MIN_FACE_PX / smallest
            side = min(int(np.ceil(need)), tuning.CHIP_SOURCE_MAX_SIDE)
            if side > max(work.pixels.shape[:2]):
                src = load_image(path, max_side=side, max_pixels=max_pixels)
        kx = src.pixels.shape[1] / work.pixels.shape[1]
        ky = src.pixels.shape[0] / work.pixels.shape[0]
        chips, shapes = [], []
        for d in dets:
            points = landmarks(engine, src.pixels, scaled(d, kx, ky))
            shapes.append(points)
            chips.append(engine.chip(src.pixels, points))
        vectors, sharps = embed_chips(engine, chips)
        spec_id = engine.spec.id
        faces = []
        to_full = np.array([1 / (sx * kx), 1 / (sy * ky)], dtype=np.float32)
        for d, shape, vec, sharp in zip(dets, shapes, vectors, sharps, strict=True):
            x, y = round(d.x / sx), round(d.y / sy)
            w = min(round(d.w / sx), info.width - x)
            h = min(round(d.h / sy), info.height - y)
            faces.append(
                AnalyzedFace(
                    x=x,
                    y=y,
                    w=w,
                    h=h,
                    nx=x / info.width,
                    ny=y / info.height,
                    nw=w / info.width,
                    nh=h / info.height,
                    score=round(d.score, 4),
                    detector=d.detector,
                    landmarks=np.asarray(shape, dtype=np.float32) * to_full,
                    size_px=min(w, h),
                    sharpness=round(sharp, 2),
                    quality=quality_score(min(w, h), sharp),
                    thumbnail=face_thumbnail(src.pixels, (d.x * kx, d.y * ky, d.w * kx, d.h * ky), s.thumb_size),
                    embedding=np.ascontiguousarray(vec, dtype=np.float32),
                    embedding_id=spec_id,
                )
            )
        return AnalysisResult(
            path=str(path),
            format=info.format,
            width=info.width,
            height=info.height,
            stored_width=info.stored_width,
            stored_height=info.stored_height,
            orientation=info.orientation,
            embedding_id=spec_id,
            faces=faces,
            seconds=round(time.perf_counter() - start, 4),
            decodes=1 if src is work else 2,
        )

    def try_analyze(self, path: Path | str) -> BatchItem:
        try:
            return BatchItem(str(path), self.analyze(path), None)
        except ImageError as exc:
            return BatchItem(str(path), None, str(exc))
