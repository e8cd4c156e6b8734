"""Box maths, once: IoU, normalized face boxes, and the EXIF orientations between stored and shown pixels.

Why one module: analysis, the import of existing regions, the writer and the integrations all
compare boxes, and the pipeline works in the photo *as displayed* (EXIF orientation applied) while
MWG regions are relative to the *stored* pixels. Every conversion between the two goes through
`to_stored` / `to_oriented` here, so there is exactly one place to get the eight orientations right.
Normalized boxes are 0..1, top-left based (x, y, w, h).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from PIL import Image

Box = tuple[float, float, float, float]  # x, y, w, h (top-left origin), any consistent unit
T = TypeVar("T")


def iou(a: Box, b: Box) -> float:
    """Intersection over union of two boxes; 0 when they don't touch."""
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    ix = max(0.0, min(ax + aw, bx + bw) - max(ax, bx))
    iy = max(0.0, min(ay + ah, by + bh) - max(ay, by))
    inter = ix * iy
    union = aw * ah + bw * bh - inter
    return inter / union if union > 0 else 0.0

# Stored normalized point (u, v) -> displayed point, for each EXIF orientation value.
_POINT_TO_ORIENTED: dict[int, Callable[[float, float], tuple[float, float]]] = {
    1: lambda u, v: (u, v),
    2: lambda u, v: (1.0 - u, v),  # mirror horizontal
    3: lambda u, v: (1.0 - u, 1.0 - v),  # rotate 180
    4: lambda u, v: (u, 1.0 - v),  # mirror vertical
    5: lambda u, v: (v, u),  # transpose
    6: lambda u, v: (1.0 - v, u),  # rotate 90 CW to display
    7: lambda u, v: (1.0 - v, 1.0 - u),  # transverse
    8: lambda u, v: (v, 1.0 - u),  # rotate 270 CW to display
}
# Displaying undoes orientation 6 with 8 and vice versa; the others are their own inverse.
_INVERSE = {6: 8, 8: 6}


def valid_orientation(value: object) -> int:
    """EXIF orientation 1..8; anything else (absent, 0, garbage) means 1, as viewers treat it."""
    try:
        number = int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return 1
    return number if 1 <= number <= 8 else 1


def oriented_size(width: T, height: T, orientation: int | None) -> tuple[T, T]:
    """Displayed (width, height) of a photo whose stored pixels are width x height (either may
    be None: a photo not read yet)."""
    return (height, width) if valid_orientation(orientation) >= 5 else (width, height)


@dataclass(frozen=True)
class NormBox:
    """A rectangle normalized to the image size: top-left (x, y), width w, height h."""

    x: float
    y: float
    w: float
    h: float

    @property
    def area(self) -> float:
        return max(self.w, 0.0) * max(self.h, 0.0)

    @property
    def center(self) -> tuple[float, float]:
        return (self.x + self.w / 2.0, self.y + self.h / 2.0)

    @classmethod
    def from_center(cls, cx: float, cy: float, w: float, h: float) -> NormBox:
        return cls(cx - w / 2.0, cy - h / 2.0, w, h)

    def clamped(self) -> NormBox:
        """The part of the box inside the image (detectors may return boxes past the edge)."""
        x0, y0 = min(max(self.x, 0.0), 1.0), min(max(self.y, 0.0), 1.0)
        x1, y1 = min(max(self.x + self.w, 0.0), 1.0), min(max(self.y + self.h, 0.0), 1.0)
        return NormBox(x0, y0, max(x1 - x0, 0.0), max(y1 - y0, 0.0))

    def iou(self, other: NormBox) -> float:
        """Intersection over union; 0 for disjoint or empty boxes."""
        return iou(self.astuple(), other.astuple())

    def close_to(self, other: NormBox, tol: float = 1e-5) -> bool:
        return all(abs(a - b) <= tol for a, b in zip(self.astuple(), other.astuple(), strict=True))

    def astuple(self) -> tuple[float, float, float, float]:
        return (self.x, self.y, self.w, self.h)


def _map_box(box: NormBox, orientation: int) -> NormBox:
    f = _POINT_TO_ORIENTED[orientation]
    (ax, ay), (bx, by) = f(box.x, box.y), f(box.x + box.w, box.y + box.h)
    return NormBox(min(ax, bx), min(ay, by), abs(bx - ax), abs(by - ay))


def to_oriented(box: NormBox, orientation: int) -> NormBox:
    """A box on the stored pixels -> the same box on the photo as displayed."""
    return _map_box(box, valid_orientation(orientation))


def to_stored(box: NormBox, orientation: int) -> NormBox:
    """A box on the photo as displayed -> the same box on the stored pixels (MWG's frame)."""
    o = valid_orientation(orientation)
    return _map_box(box, _INVERSE.get(o, o))


def exif_orientation(im: Image.Image) -> int:
    """EXIF orientation 1..8 of an opened image; anything else (0, 9, text, broken EXIF) is 1.

    A PNG's eXIf chunk is read only when it comes before the pixels: Pillow's getexif() decodes
    the whole image to look for one after them (475 MB for a 119 MP RGBA, on every scan)."""
    try:
        if im.format == "PNG":
            exif = Image.Exif()
            if im.info.get("exif"):
                exif.load(im.info["exif"])
        else:
            exif = im.getexif()
        value = int(exif.get(EXIF_ORIENTATION_TAG, 1) or 1)
    except Exception:  # a broken EXIF block must not cost the photo its analysis
        return 1
    return value if 1 <= value <= 8 else 1


EXIF_ORIENTATION_TAG = 0x0112
