"""Faces tilted in the image plane: their landmarks found on an upright copy of the face.

Why: dlib's 5-point shape predictor starts from the mean upright face placed in its box, and the
box mapping (tuning.MTCNN_TO_HOG_BOX) was measured on upright faces; a face rolled by 30-45°
(a phone held at an angle, a head on a shoulder) gets eye corners pulled off the eyes. MTCNN
finds such faces, and its own keypoints give the roll (the line between the eyes). When it is
larger than tuning.ROLL_UPRIGHT_MIN_DEG the face is turned upright in a small crop, found again
there by the detector (a box like the upright ones the mapping was calibrated on), its landmarks
are found in a second crop at the resolution they would have had, and turned back. The chip is
then cut from the photo's own pixels at those points, as for any face (face_chip rotates).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from tagmyphotos.faces.detect import Detection, hog_like
from tagmyphotos.faces.engine import FaceEngine

# An upright face is found again by the detector in a crop of ROLL_CROP_FACES face sizes, with
# the face scaled to ROLL_DETECT_FACE_PX across.
ROLL_DETECT_FACE_PX = 80
ROLL_CROP_FACES = 2.0


@dataclass(frozen=True)
class Upright:
    """A crop of the photo turned so that the face is upright: crop = matrix @ (x, y, 1)."""

    pixels: np.ndarray
    matrix: np.ndarray  # 2 x 3, photo -> crop

    def to_photo(self, points: np.ndarray) -> np.ndarray:
        back = cv2.invertAffineTransform(self.matrix)
        return (np.asarray(points, np.float64) @ back[:, :2].T + back[:, 2]).astype(np.float32)


def roll_degrees(det: Detection) -> float | None:
    """How far the face is turned in the image plane (eye line; positive: clockwise as seen)."""
    if det.keypoints is None:
        return None
    (lx, ly), (rx, ry) = det.keypoints[0], det.keypoints[1]
    return math.degrees(math.atan2(ry - ly, rx - lx))


def upright(rgb: np.ndarray, det: Detection, roll: float, face_px: float) -> Upright:
    """A square crop around `det` turned by -roll, the face scaled to about `face_px` across."""
    side = max(det.w, det.h)
    zoom = face_px / side
    size = max(16, round(face_px * ROLL_CROP_FACES))
    centre = (det.x + det.w / 2, det.y + det.h / 2)
    m = cv2.getRotationMatrix2D(centre, roll, zoom)
    m[:, 2] += np.array([size / 2, size / 2]) - np.array(centre)
    crop = cv2.warpAffine(rgb, m, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return Upright(crop, m)


def upright_landmarks(engine: FaceEngine, rgb: np.ndarray, det: Detection, roll: float) -> np.ndarray | None:
    """dlib's 5 points (photo pixels) of a face rolled by `roll` degrees, found upright; None when
    the detector does not find the face again once it is upright (the caller keeps its points)."""
    small = upright(rgb, det, roll, ROLL_DETECT_FACE_PX)
    s = small.pixels.shape[0] / 2
    found = [d for d in engine.detect(small.pixels) if d.w >= ROLL_DETECT_FACE_PX / 2]
    near = min(found, key=lambda d: math.hypot(d.x + d.w / 2 - s, d.y + d.h / 2 - s), default=None)
    if near is None or math.hypot(near.x + near.w / 2 - s, near.y + near.h / 2 - s) > s / 2:
        return None
    # The landmark model reads single pixels: it gets the face at the photo's own resolution.
    face_px = max(det.w, det.h)
    big = upright(rgb, det, roll, face_px)
    b, k = big.pixels.shape[0] / 2, face_px / ROLL_DETECT_FACE_PX
    box = Detection(b + (near.x - s) * k, b + (near.y - s) * k, near.w * k, near.h * k, near.score, near.detector)
    return big.to_photo(engine.landmarks(big.pixels, hog_like(box)))
