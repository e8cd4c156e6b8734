"""Small JPEG thumbnails of faces for the review page.

Cut from the oriented pixels the chip came from, square, the box padded on every side so the
user sees hair and chin, and padded with grey where the face touches the photo's edge
(keeps every thumbnail the same shape without distorting it).
"""

from __future__ import annotations

import io
import math
import os
import tempfile
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from tagmyphotos import tuning
from tagmyphotos.faces.images import load_image, probe

# Face thumbnails: the box padded by this fraction on each side, and their JPEG quality.
THUMB_PADDING = 0.3
THUMB_JPEG_QUALITY = 85

_EDGE_GREY = (128, 128, 128)


def face_thumbnail(
    rgb: np.ndarray,
    box: tuple[float, float, float, float],
    size: int = tuning.THUMB_SIZE,
    padding: float = THUMB_PADDING,
    quality: int = THUMB_JPEG_QUALITY,
) -> bytes:
    """JPEG bytes of a size x size thumbnail of `box` (x, y, w, h in `rgb` pixels)."""
    x, y, w, h = box
    side = max(w, h) * (1 + 2 * padding)
    cx, cy = x + w / 2, y + h / 2
    # Crop the padded square (clipped to the photo) first, so shrinking touches only its pixels.
    x0, y0 = max(0, int(cx - side / 2)), max(0, int(cy - side / 2))
    x1, y1 = (
        min(rgb.shape[1], int(np.ceil(cx + side / 2)) + 1),
        min(rgb.shape[0], int(np.ceil(cy + side / 2)) + 1),
    )
    crop, cx, cy = rgb[y0:y1, x0:x1], cx - x0, cy - y0
    k = side / size
    if k > 2:  # area-filter big faces down first, so they do not alias
        step = int(k // 2)
        small = cv2.resize(
            crop,
            (max(1, crop.shape[1] // step), max(1, crop.shape[0] // step)),
            interpolation=cv2.INTER_AREA,
        )
        f = small.shape[1] / crop.shape[1]
        crop, cx, cy, side = small, cx * f, cy * f, side * f
        k = side / size
    # Affine map from the thumbnail grid to the crop; grey where the square leaves the photo.
    m = np.array([[k, 0, cx - side / 2 + 0.5 * k - 0.5], [0, k, cy - side / 2 + 0.5 * k - 0.5]])
    thumb = cv2.warpAffine(
        np.ascontiguousarray(crop),
        m,
        (size, size),
        flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=_EDGE_GREY,
    )
    buf = io.BytesIO()
    Image.fromarray(thumb, "RGB").save(buf, format="JPEG", quality=quality, optimize=True)
    return buf.getvalue()


def box_thumbnail(
    path: Path | str, box: tuple[float, float, float, float], max_pixels: int = tuning.IMAGE_MAX_PIXELS
) -> bytes:
    """A thumbnail of `box` (full-resolution oriented pixels) cut from the photo at `path`.

    For faces that come without a detection (regions another tool wrote into the file): the
    photo is decoded just large enough for the box to fill the thumbnail, never whole for a
    small face. Raises images.ImageError when the photo cannot be decoded."""
    info = probe(path, max_pixels)
    long_side = max(info.width, info.height)
    need = math.ceil(long_side * tuning.THUMB_SIZE / max(1.0, min(box[2], box[3])))
    img = load_image(path, max_side=min(long_side, need, tuning.CHIP_SOURCE_MAX_SIDE), max_pixels=max_pixels)
    k = img.pixels.shape[1] / info.width
    return face_thumbnail(img.pixels, (box[0] * k, box[1] * k, box[2] * k, box[3] * k))


def thumb_path(photo_id: int, face_id: int) -> str:
    """Where a face's thumbnail lives under the data folder: 256 folders, so none grows huge."""
    return f"thumbs/{photo_id % 256:02x}/{face_id}.jpg"


def save_thumbnail(data: bytes, path: Path | str) -> Path:
    """Write thumbnail bytes atomically (temp file + rename), creating the folder."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".thumb-", suffix=".jpg", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target
