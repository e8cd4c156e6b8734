"""Find faces on a bounded copy of the photo; boxes come back in the caller's pixel grid.

HOG (dlib's frontal detector) is the fast default: its cost grows with pixels, so it runs on
the photo bounded to `detect_max_side` and the boxes are scaled back. HOG misses profiles and
small faces, so MTCNN (faces_mtcnn, no TensorFlow) is offered as a fallback when HOG finds
nothing, as a union with HOG (best recall on group photos), or alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np

from tagmyphotos import tuning
from tagmyphotos.geometry import iou

# Images whose long side is at most this are upsampled x2 for HOG (tiny photos, small faces);
# cheap because the image is small.
HOG_UPSAMPLE_BELOW_SIDE = 512

# HOG detections with an SVM score below this are dropped (dlib's own threshold is 0).
HOG_MIN_SCORE = 0.0

# Two detections (HOG + MTCNN in union mode) overlapping by more than this IoU are one face.
DETECT_MERGE_IOU = 0.3

DetectorMode = Literal["hog", "hog+mtcnn", "hog|mtcnn", "mtcnn"]
DETECTOR_MODES: tuple[str, ...] = ("hog", "hog+mtcnn", "hog|mtcnn", "mtcnn")
DETECTOR_HELP = {
    "hog": "HOG only: fastest, frontal faces",
    "hog+mtcnn": "HOG, then MTCNN on photos where HOG finds nothing",
    "hog|mtcnn": "HOG and MTCNN on every photo, merged: best recall, ~2x the detection time",
    "mtcnn": "MTCNN only",
}


@dataclass(frozen=True)
class Detection:
    """One face in the coordinates of the image passed to `FaceDetector.detect`."""

    x: float
    y: float
    w: float
    h: float
    score: float  # HOG: SVM margin (>= 0, ~0..3); MTCNN: probability 0..1
    detector: str  # "hog" or "mtcnn"
    keypoints: np.ndarray | None = None  # MTCNN's 5 points (eyes, nose, mouth corners), 5 x 2

    def iou(self, other: Detection) -> float:
        return iou((self.x, self.y, self.w, self.h), (other.x, other.y, other.w, other.h))


def hog_like(d: Detection) -> tuple[float, float, float, float]:
    """The box dlib's landmark model expects for this detection."""
    if d.detector != "mtcnn":
        return d.x, d.y, d.w, d.h
    dx, dy, sw, sh = tuning.MTCNN_TO_HOG_BOX
    cx, cy = d.x + d.w * (0.5 + dx), d.y + d.h * (0.5 + dy)
    w, h = d.w * sw, d.h * sh
    return cx - w / 2, cy - h / 2, w, h


def bounded(rgb: np.ndarray, max_side: int) -> tuple[np.ndarray, float]:
    """`rgb` shrunk so its long side is <= max_side; returns it and its scale.

    Bilinear below 2x (after Image.draft that is the usual case; 6x faster than the area
    filter, and HOG's 8 px cells do not mind), area filter beyond, where bilinear would alias.
    """
    h, w = rgb.shape[:2]
    factor = max_side / max(h, w)
    if factor >= 1:
        return rgb, 1.0
    size = (max(1, round(w * factor)), max(1, round(h * factor)))
    method = cv2.INTER_LINEAR if factor > 0.5 else cv2.INTER_AREA
    small = cv2.resize(rgb, size, interpolation=method)
    return small, small.shape[1] / w


def mtcnn_min_face(shape: tuple[int, int], wanted: float, max_side: int, largest: float) -> float:
    """The smallest face MTCNN looks for in a detection image of `shape` (h, w): `wanted` px when
    its pixel budget allows, else what the budget allows, but never above `largest`.

    MTCNN's cost is that of its first pyramid level, ~ pixels x (12 / min face)^2: the budget is
    what a 4:3 photo at the detection size costs with `largest` (tuning.MTCNN_BUDGET_ASPECT), so a
    photo smaller than the detection image is searched for smaller faces at no extra cost."""
    budget = largest * np.sqrt(shape[0] * shape[1] / (max_side * max_side * tuning.MTCNN_BUDGET_ASPECT))
    return float(min(largest, max(wanted, budget)))


class FaceDetector:
    """Detectors loaded once; `detect(rgb)` returns faces in `rgb`'s pixel grid."""

    def __init__(
        self,
        mode: str = "hog",
        max_side: int = tuning.DETECT_MAX_SIDE,
        mtcnn_min_face_px: int = tuning.MTCNN_MIN_FACE_PX,
    ) -> None:
        if mode not in DETECTOR_MODES:
            raise ValueError(f"unknown face detector {mode!r}; choose one of {', '.join(DETECTOR_MODES)}")
        self.mode = mode
        self.max_side = max_side
        self._hog = None
        self._mtcnn = None
        if mode != "mtcnn":
            import dlib

            self._hog = dlib.get_frontal_face_detector()
        if mode != "hog":
            from tagmyphotos.faces.mtcnn import MtcnnDetector

            self._mtcnn = MtcnnDetector(min_face_px=mtcnn_min_face_px)

    def detect(self, rgb: np.ndarray, min_face: float | None = None) -> list[Detection]:
        """Faces in `rgb`; with `min_face` (px in `rgb`), MTCNN looks for faces down to that size
        as far as its budget allows (mtcnn_min_face)."""
        small, scale = bounded(rgb, self.max_side)
        found: list[Detection] = []
        if self._hog is not None:
            found = self._run_hog(small)
        if self._mtcnn is not None and (self.mode != "hog+mtcnn" or not found):
            smallest: float = self._mtcnn.min_face_px
            if min_face is not None:
                smallest = mtcnn_min_face(small.shape[:2], min_face * scale, self.max_side, smallest)
            found = _merge(found, self._run_mtcnn(small, smallest))
        if scale == 1.0:
            return found
        return [_rescale(d, 1.0 / scale) for d in found]

    def _run_hog(self, img: np.ndarray) -> list[Detection]:
        assert self._hog is not None
        upsample = 1 if max(img.shape[:2]) <= HOG_UPSAMPLE_BELOW_SIDE else 0
        rects, scores, _ = self._hog.run(img, upsample, HOG_MIN_SCORE)
        h, w = img.shape[:2]
        out = []
        for r, s in zip(rects, scores, strict=True):
            x1, y1 = max(0, r.left()), max(0, r.top())
            x2, y2 = min(w, r.right() + 1), min(h, r.bottom() + 1)
            if x2 - x1 >= 2 and y2 - y1 >= 2:
                out.append(Detection(float(x1), float(y1), float(x2 - x1), float(y2 - y1), float(s), "hog"))
        return out

    def _run_mtcnn(self, img: np.ndarray, min_face_px: float) -> list[Detection]:
        assert self._mtcnn is not None
        out = []
        for f in self._mtcnn.detect(img, min_face_px):
            x1, y1, x2, y2 = f.box
            out.append(Detection(x1, y1, x2 - x1, y2 - y1, f.score, "mtcnn", f.keypoints))
        return out


def _rescale(d: Detection, k: float) -> Detection:
    kp = d.keypoints * k if d.keypoints is not None else None
    return Detection(d.x * k, d.y * k, d.w * k, d.h * k, d.score, d.detector, kp)


def _merge(first: list[Detection], second: list[Detection]) -> list[Detection]:
    """Union of two detectors' faces; on overlap the first detector's box is kept."""
    merged = list(first)
    for d in second:
        if all(d.iou(m) <= DETECT_MERGE_IOU for m in merged):
            merged.append(d)
    return merged
