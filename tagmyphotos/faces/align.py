"""dlib's 5-point landmarks and its canonical face chip, re-implemented in numpy.

The ResNet descriptor was trained on chips cut by dlib's `get_face_chip` from the points of
dlib's 5-point shape predictor, so this module follows dlib's code step by step rather than
approximating it: the regression-tree cascade (shape_predictor.h: similarity transform of the
reference shape, feature pixels rounded to the grid, grey = (r+g+b)/3, integer landmarks),
the chip geometry (interpolation.h: get_face_chip_details' template and padding,
chip_details' rotated rectangle) and the extraction (a pyramid_down<2> 1-4-6-4-1 pyramid
when the chip shrinks the face, then bilinear sampling truncated to uint8, black outside).
The landmarks are identical to dlib's and the chips within a grey level on the testdata
(docs/calibration.md, "Face engines").
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from tagmyphotos.faces.dlibfile import ShapePredictorModel

# get_face_chip_details: the 5 points of the chip template (0..1 of the unpadded face square).
CHIP_TEMPLATE_5 = np.array(
    [
        (0.8595674595992, 0.2134981538014),
        (0.6460604764104, 0.2289674387677),
        (0.1205750620789, 0.2137274526848),
        (0.3340850613712, 0.2290642403242),
        (0.4901123135679, 0.6277975316475),
    ]
)

Rect = tuple[float, float, float, float]  # dlib rectangle: left, top, right, bottom (inclusive)


def dlib_rect(box: tuple[float, float, float, float]) -> tuple[int, int, int, int]:
    """The dlib rectangle the old engine built from an (x, y, w, h) box."""
    x, y, w, h = box
    return round(x), round(y), round(x + w) - 1, round(y + h) - 1


def similarity(src: np.ndarray, dst: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """dlib's find_similarity_transform (Umeyama): 2x2 matrix M and offset t, dst ~ M @ src + t."""
    src, dst = np.asarray(src, dtype=np.float64), np.asarray(dst, dtype=np.float64)
    mean_src, mean_dst = src.mean(0), dst.mean(0)
    a, b = src - mean_src, dst - mean_dst
    sigma = float((a * a).sum(1).mean())
    cov = b.T @ a / len(src)
    u, d, vt = np.linalg.svd(cov)
    s = np.eye(2)
    det = np.linalg.det(cov)
    if det < 0 or (det == 0 and np.linalg.det(u) * np.linalg.det(vt) < 0):
        s[1, 1] = -1
    rot = u @ s @ vt
    c = float(np.trace(np.diag(d) @ s)) / sigma if sigma != 0 else 1.0
    m = c * rot
    return m, mean_dst - m @ mean_src


def _round(p: np.ndarray) -> np.ndarray:
    """dlib's conversion of a float point to an integer one."""
    return np.floor(p + 0.5).astype(np.int64)


def similarity_many(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """`similarity(src, d)[0]` for each shape d of the stack `dst` (B x P x 2), in one go:
    the same operations on (B, 2, 2) stacks (LAPACK and BLAS per matrix), the same numbers."""
    src, dst = np.asarray(src, dtype=np.float64), np.asarray(dst, dtype=np.float64)
    a = src - src.mean(0)
    b = dst - dst.mean(1)[:, None]
    sigma = float((a * a).sum(1).mean())
    cov = b.transpose(0, 2, 1) @ a / len(src)
    u, d, vt = np.linalg.svd(cov)
    det = np.linalg.det(cov)
    flip = det < 0
    if (det == 0).any():  # rare: a degenerate shape
        flip |= (det == 0) & (np.linalg.det(u) * np.linalg.det(vt) < 0)
    s = np.tile(np.eye(2), (len(dst), 1, 1))
    s[flip, 1, 1] = -1
    rot = u @ s @ vt
    c = (d[:, 0] * s[:, 0, 0] + d[:, 1] * s[:, 1, 1]) / sigma if sigma != 0 else np.ones(len(dst))
    return c[:, None, None] * rot


class ShapePredictor:
    """dlib.shape_predictor, vectorised over the trees of each cascade level and over boxes.

    One call for several boxes (the three box scales of a face) pays numpy's per-operation
    overhead, which is most of the cost of 500 trees of depth 4, once instead of per box."""

    def __init__(self, model: ShapePredictorModel) -> None:
        self.m = model
        trees, splits = model.split_idx[0].shape[:2]
        self._depth = int(round(math.log2(splits + 1)))
        self._splits = splits
        # Flat per-level tables: one 1-d `take` per step instead of 2-d fancy indexing.
        self._split_at = np.arange(trees) * splits
        self._leaf_at = np.arange(trees) * (splits + 1) - splits
        self._pairs = [idx.reshape(-1, 2).T.copy() for idx in model.split_idx]
        self._thresh = [t.reshape(-1) for t in model.split_thresh]
        self._leaves = [leaf.reshape(trees * (splits + 1), -1) for leaf in model.leaves]

    def __call__(self, rgb: np.ndarray, rect: tuple[int, int, int, int]) -> np.ndarray:
        """The 5 landmarks (integer pixel coordinates as float64, 5 x 2) in the face `rect`."""
        return self.many(rgb, [rect])[0]

    def many(self, rgb: np.ndarray, rects: list[tuple[int, int, int, int]]) -> np.ndarray:
        """The landmarks in each of `rects` (B x 5 x 2), each exactly as one call would give.

        dlib reads the grey level (r + g + b) // 3 of each feature pixel; only those are read."""
        r = np.asarray(rects, dtype=np.float64).reshape(-1, 4)
        origin, span = r[:, None, :2], (r[:, 2:] - r[:, :2])[:, None, :]
        h, w = rgb.shape[:2]
        pixels = rgb.reshape(-1, 3)
        m = self.m
        shape = np.repeat(m.initial.astype(np.float32)[None], len(r), axis=0)
        for level in range(len(m.leaves)):
            mat = similarity_many(m.initial, shape).astype(np.float32).transpose(0, 2, 1)
            ref = (m.deltas[level] @ mat + shape[:, m.anchor[level]]).astype(np.float64)
            px = _round(origin + ref * span)
            inside = (px[..., 0] >= 0) & (px[..., 0] < w) & (px[..., 1] >= 0) & (px[..., 1] < h)
            rgb16 = np.take(pixels, np.where(inside, px[..., 1] * w + px[..., 0], 0), axis=0).astype(np.uint16)
            grey = (rgb16[..., 0] + rgb16[..., 1] + rgb16[..., 2]) // 3
            feats = np.where(inside, grey, 0).astype(np.float32)
            shape = self._forest(level, feats, shape.reshape(len(r), -1)).reshape(shape.shape)
        return _round(origin + shape.astype(np.float64) * span).astype(np.float64)

    def _forest(self, level: int, feats: np.ndarray, shapes: np.ndarray) -> np.ndarray:
        """The shapes (B x 10) after one cascade level, given each box's feature pixels (B x F)."""
        pairs, thresh, leaves = self._pairs[level], self._thresh[level], self._leaves[level]
        n, f = feats.shape
        flat = feats.reshape(-1)
        base = (np.arange(n) * f)[None, :]  # trees x boxes from here on
        node = np.zeros((len(self._split_at), n), dtype=np.intp)
        for _ in range(self._depth):
            at = self._split_at[:, None] + node
            left = np.take(flat, pairs[0][at] + base) - np.take(flat, pairs[1][at] + base) > thresh[at]
            node = 2 * node + 2 - left
        picked = np.take(leaves, (self._leaf_at[:, None] + node).reshape(-1), axis=0).reshape(len(node), -1)
        # dlib adds tree after tree to the shape in float32; a reduction over the rows of a
        # C-ordered array runs in that order, so the sums (and the rounded landmarks) agree.
        return np.vstack([shapes.reshape(1, -1), picked]).sum(axis=0, dtype=np.float32).reshape(n, -1)


# --- chips --------------------------------------------------------------------------------------


def _rotate(center: np.ndarray, p: np.ndarray, angle: float) -> np.ndarray:
    c, s = math.cos(angle), math.sin(angle)
    d = p - center
    return center + np.array([c * d[0] - s * d[1], s * d[0] + c * d[1]])


def _affine3(src: list[np.ndarray], dst: list[np.ndarray]) -> np.ndarray:
    """The 2x3 affine map taking three points onto three points."""
    a = np.array([[p[0], p[1], 1.0] for p in src])
    return np.linalg.solve(a, np.array(dst)).T


def _rect_down(r: Rect) -> Rect:
    """pyramid_down<2>::rect_down."""
    return (r[0] / 2 - 1.25, r[1] / 2 - 0.75, r[2] / 2 - 1.25, r[3] / 2 - 0.75)


def _area(r: Rect) -> float:
    if r[0] > r[2] or r[1] > r[3]:
        return 0.0
    return (r[2] - r[0] + 1) * (r[3] - r[1] + 1)


def pyramid_down(img: np.ndarray) -> np.ndarray:
    """dlib's pyramid_down<2> on an RGB image: 1-4-6-4-1 both ways, every other pixel, /256.

    OpenCV's pyrDown applies the same taps and rounds (sum + 128) >> 8; fed the pixels times 256
    (uint16) it returns the exact sums, and dlib's integer division is their top byte. dlib's
    output pixel (r, c) is centred on input (2r + 2, 2c + 2), pyrDown's (r + 1, c + 1): never a
    border pixel."""
    h, w = img.shape[:2]
    if h <= 8 or w <= 8:
        return np.zeros((0, 0, 3), dtype=np.uint8)
    cols, out_rows = (w - 3) // 2, (h - 3) // 2
    n = len(range(2, h - 2, 2))  # dlib's loop stops 2 rows before the end: last rows stay black
    scaled = img.astype(np.uint16)
    scaled <<= 8
    out = np.zeros((out_rows, cols, 3), dtype=np.uint8)
    sums: np.ndarray = cv2.pyrDown(scaled)
    out[:n] = sums[1 : 1 + n, 1 : 1 + cols] >> 8
    return out


def _bilinear(img: np.ndarray, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """interpolate_bilinear + transform_image: truncated to uint8, black where out of range.

    The weights are applied in place, (1 - tf) * ((1 - lf) * tl + lf * tr) + tf * ((1 - lf) *
    bl + lf * br) with the same float64 products and sums (so the same bytes), in fewer passes
    than the expression's temporaries; a chip inside the photo (the usual case) skips the masks."""
    h, w = img.shape[:2]
    left, top = np.floor(xs).astype(np.int64), np.floor(ys).astype(np.int64)
    ok = (left >= 0) & (top >= 0) & (left + 1 < w) & (top + 1 < h)
    inside = bool(ok.all())
    pick = slice(None) if inside else ok
    lf, tf = (xs - left)[pick].reshape(-1, 1), (ys - top)[pick].reshape(-1, 1)
    at = (top[pick] * w + left[pick]).reshape(-1)
    flat = np.ascontiguousarray(img).reshape(-1, 3)

    def px(offset: int) -> np.ndarray:
        return np.take(flat, at + offset, axis=0).astype(np.float64)

    rl = 1 - lf
    upper = px(0) * rl
    upper += lf * px(1)
    lower = px(w) * rl
    lower += lf * px(w + 1)
    upper *= 1 - tf
    lower *= tf
    upper += lower
    if inside:
        return upper.astype(np.uint8).reshape(*xs.shape, 3)
    out = np.zeros((*xs.shape, 3), dtype=np.uint8)
    out[ok] = upper.astype(np.uint8)
    return out


def face_chip(rgb: np.ndarray, points: np.ndarray, size: int, padding: float) -> np.ndarray:
    """dlib.get_face_chip(rgb, shape, size, padding) for a 5-point shape: size x size RGB uint8."""
    template = (padding + CHIP_TEMPLATE_5) / (2 * padding + 1) * size
    mat, off = similarity(template, points)
    p = mat @ np.array([1.0, 0.0])
    angle, scale = math.atan2(p[1], p[0]), float(np.hypot(p[0], p[1]))
    center = mat @ np.array([size / 2.0, size / 2.0]) + off
    half = (size * scale - 1) / 2
    rect: Rect = (center[0] - half, center[1] - half, center[0] + half, center[1] + half)
    # extract_image_chips: how deep a pyramid, and the pixels it is built from
    depth, grow, down = 0, 2.0, _rect_down(rect)
    while _area(down) > size * size:
        down, depth, grow = _rect_down(down), depth + 1, grow * 2 + 2
    c = np.array([(rect[0] + rect[2]) / 2, (rect[1] + rect[3]) / 2])
    corners = [np.array(q) for q in ((rect[0], rect[1]), (rect[2], rect[1]), (rect[0], rect[3]), (rect[2], rect[3]))]
    rot = np.array([_rotate(c, q, angle) for q in corners])
    h, w = rgb.shape[:2]
    box = (
        max(rot[:, 0].min() - grow, 0.0),
        max(rot[:, 1].min() - grow, 0.0),
        min(rot[:, 0].max() + grow, w - 1.0),
        min(rot[:, 1].max() + grow, h - 1.0),
    )
    bl, bt, br, bb = (int(np.round(v)) for v in box)  # std::lround of non-negative values
    if bl > br or bt > bb:
        return np.zeros((size, size, 3), dtype=np.uint8)
    img = rgb[bt : bb + 1, bl : br + 1]
    r: Rect = (rect[0] - bl, rect[1] - bt, rect[2] - bl, rect[3] - bt)
    while _area(_rect_down(r)) > size * size:
        img, r = pyramid_down(img), _rect_down(r)
    cr = np.array([(r[0] + r[2]) / 2, (r[1] + r[3]) / 2])
    to = [_rotate(cr, np.array(q), angle) for q in ((r[0], r[1]), (r[2], r[1]), (r[0], r[3]))]
    trns = _affine3([np.array([0.0, 0.0]), np.array([size - 1.0, 0.0]), np.array([0.0, size - 1.0])], to)
    gy, gx = np.mgrid[0:size, 0:size].astype(np.float64)
    xs = trns[0, 0] * gx + trns[0, 1] * gy + trns[0, 2]
    ys = trns[1, 0] * gx + trns[1, 1] * gy + trns[1, 2]
    return _bilinear(img, xs, ys)
