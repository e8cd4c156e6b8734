"""A face the detector missed, boxed by hand: check that the box holds a face, align, embed.

Why the detector runs again: dlib's landmark model returns five points for any box, face or
not, so embedding the user's box blindly could teach the matcher a sleeve or a poster. The
box and its surroundings are decoded large enough for the face to be found (the analysis
missed it mostly because it was small in the reduced decode), the engine's detectors (HOG then
MTCNN for the dlib engine, MTCNN for the onnx engine) look at that crop, and only a detection
that agrees with the user's box is aligned and embedded the way analysis does it (same chip,
same model: the vector is comparable). No such detection: the face keeps no embedding (it
still names the photo; it does not teach the matcher).
No database here: boxes are full-resolution oriented pixels, as stored on Face rows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from tagmyphotos import tuning
from tagmyphotos.faces.analyze import AnalysisSettings, load_engine, quality_score, sharpness
from tagmyphotos.faces.detect import Detection, hog_like
from tagmyphotos.faces.images import load_image, probe
from tagmyphotos.faces.thumb import face_thumbnail
from tagmyphotos.geometry import iou

Box = tuple[int, int, int, int]


@dataclass(frozen=True)
class BoxFace:
    """What analysis would have stored for this box; `embedding` is None when no face was found."""

    box: Box  # the user's box, clamped to the photo
    width: int  # the photo as displayed
    height: int
    thumbnail: bytes  # JPEG of the user's box
    quality: float
    score: float  # the confirming detector's score (0 without one)
    detector: str | None  # hog | mtcnn | None
    landmarks: np.ndarray | None  # 5 x 2, full-resolution oriented pixels
    embedding: np.ndarray | None  # float32
    embedding_id: str | None


def clamp_box(box: tuple[float, float, float, float], width: int, height: int) -> Box | None:
    """The part of `box` inside a width x height photo (whole pixels), or None if none is."""
    x, y, w, h = box
    x0, y0 = max(0, math.floor(x)), max(0, math.floor(y))
    x1, y1 = min(width, math.ceil(x + w)), min(height, math.ceil(y + h))
    if x1 <= x0 or y1 <= y0:
        return None
    return x0, y0, x1 - x0, y1 - y0


class BoxEmbedder:
    """The analysis engine (its most tolerant detector), loaded once per process."""

    def __init__(self, settings: AnalysisSettings) -> None:
        self.settings = settings
        detector = "hog+mtcnn" if settings.engine == "dlib" else "mtcnn"
        self._engine = load_engine(replace(settings, detector=detector))

    @property
    def embedding_id(self) -> str:
        return self._engine.spec.id

    def embed_box(self, path: Path | str, box: Box) -> BoxFace:
        """Decode around `box`, look for the face in it, thumbnail (and embed) it.

        Raises images.ImageError when the photo cannot be decoded."""
        s = self.settings
        max_pixels = int(s.max_megapixels * 1e6)
        info = probe(path, max_pixels)
        found = clamp_box(box, info.width, info.height)
        if found is None:
            raise ValueError(f"the box {box} is outside the {info.width} x {info.height} photo")
        x, y, w, h = found
        # Decode so the face has CHIP_SOURCE_MIN_FACE_PX across (as analysis does), capped.
        long_side = max(info.width, info.height)
        need = math.ceil(long_side * tuning.CHIP_SOURCE_MIN_FACE_PX / max(1, min(w, h)))
        img = load_image(path, max_side=min(long_side, need, tuning.CHIP_SOURCE_MAX_SIDE), max_pixels=max_pixels)
        k = img.pixels.shape[1] / info.width
        # The box and a margin of context around it: detectors need to see the whole head.
        pad = tuning.MANUAL_FACE_CONTEXT * max(w, h)
        cx0, cy0 = max(0, int((x - pad) * k)), max(0, int((y - pad) * k))
        cx1 = min(img.pixels.shape[1], math.ceil((x + w + pad) * k))
        cy1 = min(img.pixels.shape[0], math.ceil((y + h + pad) * k))
        crop = np.ascontiguousarray(img.pixels[cy0:cy1, cx0:cx1])
        user = (x * k - cx0, y * k - cy0, w * k, h * k)
        thumb = face_thumbnail(img.pixels, (x * k, y * k, w * k, h * k), s.thumb_size)
        best = _agreeing(self._engine.detect(crop), user)
        if best is None:
            ux, uy, uw, uh = (round(v) for v in user)
            quality = quality_score(min(w, h), sharpness(np.ascontiguousarray(crop[uy : uy + uh, ux : ux + uw])))
            return BoxFace(found, info.width, info.height, thumb, quality, 0.0, None, None, None, None)
        points = self._engine.landmarks(crop, hog_like(best))
        chip = self._engine.chip(crop, points)
        vector = self._engine.embed([chip])[0]
        offset = np.array([cx0, cy0], dtype=np.float32)
        landmarks = (points + offset) / k
        return BoxFace(
            found, info.width, info.height, thumb, quality_score(min(w, h), sharpness(chip)),
            round(float(best.score), 4), best.detector, landmarks.astype(np.float32),
            np.ascontiguousarray(vector, dtype=np.float32), self._engine.spec.id,
        )  # fmt: skip


def _agreeing(detections: list[Detection], user: tuple[float, float, float, float]) -> Detection | None:
    """The detection that is the user's face: centred inside the box and overlapping it most."""
    best, best_iou = None, tuning.MANUAL_FACE_MIN_IOU
    ux, uy, uw, uh = user
    for d in detections:
        cx, cy = d.x + d.w / 2, d.y + d.h / 2
        overlap = iou(user, (d.x, d.y, d.w, d.h))
        if ux <= cx <= ux + uw and uy <= cy <= uy + uh and overlap >= best_iou:
            best, best_iou = d, overlap
    return best
