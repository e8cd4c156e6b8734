"""MTCNN face detection in numpy + OpenCV, with the weights the `mtcnn` wheel ships.

The mtcnn package runs its three small networks on TensorFlow: importing it costs ~4 s and
~700 MB per process, which a 2-core NAS running two analysis workers cannot afford for a
fallback detector. The networks are tiny (PNet/RNet/ONet, ~0.5 M parameters), so this module
runs the same weights with numpy matrix products; the pipeline (pyramid, thresholds, box
regression, squaring, NMS) follows the package's stages. Boxes come out as x1, y1, x2, y2.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import joblib
import numpy as np
from threadpoolctl import ThreadpoolController

from tagmyphotos import tuning
from tagmyphotos.faces.weights import mtcnn_weights

_W = list[np.ndarray]
# The products here are tall and skinny: OpenBLAS threads make them 4x slower, and the
# analysis already runs one worker per core.
_BLAS = ThreadpoolController()


@dataclass(frozen=True)
class MtcnnFace:
    box: tuple[float, float, float, float]  # x1, y1, x2, y2 in input pixels
    score: float
    keypoints: np.ndarray  # 5 x 2: left eye, right eye, nose, mouth left, mouth right


def _conv(x: np.ndarray, k: np.ndarray, b: np.ndarray) -> np.ndarray:
    """'valid' convolution, stride 1: x (N,H,W,C), k (kh,kw,C,O) -> (N,H',W',O)."""
    kh, kw, c, o = k.shape
    if kh == 1 and kw == 1:
        return x @ k.reshape(c, o) + b
    n, h, w, _ = x.shape
    oh, ow = h - kh + 1, w - kw + 1
    cols = np.empty((n, oh, ow, kh, kw, c), dtype=np.float32)
    for i in range(kh):
        for j in range(kw):
            cols[:, :, :, i, j, :] = x[:, i : i + oh, j : j + ow, :]
    return (cols.reshape(n * oh * ow, kh * kw * c) @ k.reshape(kh * kw * c, o) + b).reshape(n, oh, ow, o)


def _prelu(x: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    neg = np.minimum(x, 0)
    np.maximum(x, 0, out=x)
    neg *= alpha.reshape(-1)
    x += neg
    return x


def _maxpool(x: np.ndarray, size: int, stride: int, same: bool) -> np.ndarray:
    """Max pooling with TensorFlow's 'same'/'valid' padding rules."""
    n, h, w, c = x.shape
    if same:
        oh, ow = -(-h // stride), -(-w // stride)
        ph = max((oh - 1) * stride + size - h, 0)
        pw = max((ow - 1) * stride + size - w, 0)
        x = np.pad(x, ((0, 0), (ph // 2, ph - ph // 2), (pw // 2, pw - pw // 2), (0, 0)), constant_values=-np.inf)
    else:
        oh, ow = (h - size) // stride + 1, (w - size) // stride + 1
    out = np.full((n, oh, ow, c), -np.inf, dtype=np.float32)
    for i in range(size):
        for j in range(size):
            out = np.maximum(out, x[:, i : i + stride * oh : stride, j : j + stride * ow : stride, :])
    return out


def _softmax_face(logits: np.ndarray) -> np.ndarray:
    """Probability of the 'face' class from 2-class logits in the last axis."""
    return 1.0 / (1.0 + np.exp(logits[..., 0] - logits[..., 1]))


def _pnet(w: _W, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x = _prelu(_conv(x, w[0], w[1]), w[2])
    x = _maxpool(x, 2, 2, same=True)
    x = _prelu(_conv(x, w[3], w[4]), w[5])
    x = _prelu(_conv(x, w[6], w[7]), w[8])
    return _conv(x, w[9], w[10]), _softmax_face(_conv(x, w[11], w[12]))


def _rnet(w: _W, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x = _prelu(_conv(x, w[0], w[1]), w[2])
    x = _maxpool(x, 3, 2, same=True)
    x = _prelu(_conv(x, w[3], w[4]), w[5])
    x = _maxpool(x, 3, 2, same=False)
    x = _prelu(_conv(x, w[6], w[7]), w[8])
    x = x.transpose(0, 2, 1, 3).reshape(len(x), -1)  # Keras Permute((2, 1, 3)) + Flatten
    x = _prelu(x @ w[9] + w[10], w[11])
    return x @ w[12] + w[13], _softmax_face(x @ w[14] + w[15])


def _onet(w: _W, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x = _prelu(_conv(x, w[0], w[1]), w[2])
    x = _maxpool(x, 3, 2, same=True)
    x = _prelu(_conv(x, w[3], w[4]), w[5])
    x = _maxpool(x, 3, 2, same=False)
    x = _prelu(_conv(x, w[6], w[7]), w[8])
    x = _maxpool(x, 2, 2, same=True)
    x = _prelu(_conv(x, w[9], w[10]), w[11])
    x = x.transpose(0, 2, 1, 3).reshape(len(x), -1)
    x = _prelu(x @ w[12] + w[13], w[14])
    return x @ w[15] + w[16], x @ w[17] + w[18], _softmax_face(x @ w[19] + w[20])


def _nms(boxes: np.ndarray, scores: np.ndarray, threshold: float, method: str = "union") -> np.ndarray:
    """Greedy non-maximum suppression; returns kept indices, best first."""
    order = np.argsort(-scores)
    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    keep = []
    while order.size:
        i, rest = order[0], order[1:]
        keep.append(i)
        iw = np.maximum(0, np.minimum(boxes[i, 2], boxes[rest, 2]) - np.maximum(boxes[i, 0], boxes[rest, 0]))
        ih = np.maximum(0, np.minimum(boxes[i, 3], boxes[rest, 3]) - np.maximum(boxes[i, 1], boxes[rest, 1]))
        inter = iw * ih
        denom = np.minimum(area[i], area[rest]) if method == "min" else area[i] + area[rest] - inter
        order = rest[inter / np.maximum(denom, 1e-9) <= threshold]
    return np.asarray(keep, dtype=int)


def _square(boxes: np.ndarray) -> np.ndarray:
    out = boxes.copy()
    w, h = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    side = np.maximum(w, h)
    out[:, 0] = boxes[:, 0] + w * 0.5 - side * 0.5
    out[:, 1] = boxes[:, 1] + h * 0.5 - side * 0.5
    out[:, 2] = out[:, 0] + side
    out[:, 3] = out[:, 1] + side
    return out


def _regress(boxes: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    w = boxes[:, 2] - boxes[:, 0] + 1
    h = boxes[:, 3] - boxes[:, 1] + 1
    return boxes + offsets * np.stack([w, h, w, h], axis=1)


def _patches(img: np.ndarray, boxes: np.ndarray, size: int) -> np.ndarray:
    """Bilinear crops of `boxes` resized to size x size; outside the image is 0 (mid-grey)."""
    out = np.empty((len(boxes), size, size, 3), dtype=np.float32)
    for n, (x1, y1, x2, y2) in enumerate(boxes[:, :4]):
        sx, sy = (x2 - x1) / size, (y2 - y1) / size
        m = np.array([[sx, 0, x1 + 0.5 * sx - 0.5], [0, sy, y1 + 0.5 * sy - 0.5]], dtype=np.float64)
        out[n] = cv2.warpAffine(
            img,
            m,
            (size, size),
            flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
            borderMode=cv2.BORDER_CONSTANT,
            borderValue=(0.0, 0.0, 0.0),
        )
    return out


class MtcnnDetector:
    """Loads the packaged weights once; `detect(rgb)` on an RGB uint8 array."""

    def __init__(self, min_face_px: int = tuning.MTCNN_MIN_FACE_PX) -> None:
        paths = mtcnn_weights()
        self._w = {name: [np.asarray(a, dtype=np.float32) for a in joblib.load(p)] for name, p in paths.items()}
        self.min_face_px = min_face_px

    def detect(self, rgb: np.ndarray) -> list[MtcnnFace]:
        with _BLAS.limit(limits=1, user_api="blas"):
            return self._detect(rgb)

    def _detect(self, rgb: np.ndarray) -> list[MtcnnFace]:
        img = (rgb.astype(np.float32) - 127.5) / 128.0
        h, w = img.shape[:2]
        scale = 12.0 / self.min_face_px
        proposals = []
        while min(h, w) * scale >= 12:
            size = (max(1, int(np.ceil(w * scale))), max(1, int(np.ceil(h * scale))))
            reg, prob = _pnet(self._w["pnet"], cv2.resize(img, size, interpolation=cv2.INTER_AREA)[None])
            ys, xs = np.nonzero(prob[0] > tuning.MTCNN_THRESHOLDS[0])
            if len(ys):
                cell = np.stack([xs * 2, ys * 2, xs * 2 + 12, ys * 2 + 12], axis=1).astype(np.float32)
                boxes = (cell + reg[0, ys, xs] * 12) / scale
                scores = prob[0, ys, xs]
                keep = _nms(boxes, scores, 0.5)
                proposals.append(np.column_stack([boxes[keep], scores[keep]]))
            scale *= tuning.MTCNN_SCALE_FACTOR
        if not proposals:
            return []
        cand = np.concatenate(proposals)
        cand = _square(cand[_nms(cand[:, :4], cand[:, 4], 0.7)])
        # RNet refines and rejects the proposals.
        reg, prob = _rnet(self._w["rnet"], _patches(img, cand, 24))
        ok = prob > tuning.MTCNN_THRESHOLDS[1]
        cand = np.column_stack([_regress(cand[ok, :4], reg[ok]), prob[ok]])
        if not len(cand):
            return []
        cand = _square(cand[_nms(cand[:, :4], cand[:, 4], 0.7)])
        # ONet gives the final boxes, scores and five keypoints.
        reg, marks, prob = _onet(self._w["onet"], _patches(img, cand, 48))
        ok = prob > tuning.MTCNN_THRESHOLDS[2]
        base, reg, marks, prob = cand[ok], reg[ok], marks[ok], prob[ok]
        bw = base[:, 2:3] - base[:, 0:1] + 1
        bh = base[:, 3:4] - base[:, 1:2] + 1
        xs_k = bw * marks[:, 0:5] + base[:, 0:1] - 1
        ys_k = bh * marks[:, 5:10] + base[:, 1:2] - 1
        boxes = _regress(base[:, :4], reg)
        keep = _nms(boxes, prob, 0.7, method="min")
        faces = []
        for i in keep:
            x1, y1, x2, y2 = (float(v) for v in boxes[i])
            x1, y1, x2, y2 = max(0.0, x1), max(0.0, y1), min(float(w), x2), min(float(h), y2)
            if x2 - x1 < 2 or y2 - y1 < 2:
                continue
            faces.append(MtcnnFace((x1, y1, x2, y2), float(prob[i]), np.stack([xs_k[i], ys_k[i]], axis=1)))
        return faces
