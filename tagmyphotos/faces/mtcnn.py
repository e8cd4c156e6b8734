"""MTCNN face detection on ONNX Runtime + OpenCV, with the weights the `mtcnn` wheel ships.

The mtcnn package runs its three small networks on TensorFlow: importing it costs ~4 s and
~700 MB per process, which a 2-core NAS running two analysis workers cannot afford. The
networks are tiny (PNet/RNet/ONet, ~0.5 M parameters), so this module builds ONNX graphs of the
same weights (faces_onnxgraph; 5x faster than numpy matrix products, no AVX needed); the
pipeline (pyramid, thresholds, box regression, squaring, NMS) follows the package's stages.
Boxes come out as x1, y1, x2, y2.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import joblib
import numpy as np

from tagmyphotos import tuning
from tagmyphotos.faces.onnxgraph import Graph, session
from tagmyphotos.faces.weights import mtcnn_weights

# Non-maximum suppression computes the overlaps of all pairs at once up to this many boxes
# (1 M pairs, ~4 MB per temporary), one pass per kept box beyond. On the 61 labelled testdata
# photos: 719 calls, 20 boxes on average, 274 at most; 1.5 ms per photo instead of 2.6 (same
# kept boxes).
MTCNN_NMS_PAIRWISE_MAX = 1000

_W = list[np.ndarray]


@dataclass(frozen=True)
class MtcnnFace:
    box: tuple[float, float, float, float]  # x1, y1, x2, y2 in input pixels
    score: float
    keypoints: np.ndarray  # 5 x 2: left eye, right eye, nose, mouth left, mouth right


def _conv(g: Graph, x: str, k: np.ndarray, b: np.ndarray, alpha: np.ndarray | None = None) -> str:
    """'valid' convolution, stride 1, from a Keras kernel (kh, kw, C, O); PReLU when alpha."""
    weight = np.ascontiguousarray(k.transpose(3, 2, 0, 1))
    out = g.op("Conv", [x, g.const(weight), g.const(b)], kernel_shape=list(k.shape[:2]))
    if alpha is None:
        return out
    return g.op("PRelu", [out, g.const(alpha.reshape(-1, 1, 1))])


def _pool(g: Graph, x: str, size: int, same: bool) -> str:
    """Max pooling, stride 2, with TensorFlow's 'same' (extra padding at the end) or 'valid'."""
    pad = "SAME_UPPER" if same else "VALID"
    return g.op("MaxPool", [x], kernel_shape=[size, size], strides=[2, 2], auto_pad=pad)


def _dense(g: Graph, x: str, w: np.ndarray, b: np.ndarray, alpha: np.ndarray | None = None) -> str:
    out = g.op("Gemm", [x, g.const(w), g.const(b)])
    return out if alpha is None else g.op("PRelu", [out, g.const(alpha.reshape(-1))])


def _face_prob(g: Graph, logits: str, axis: int) -> str:
    """Probability of the 'face' class from 2-class logits: softmax's second column."""
    soft = g.op("Softmax", [logits], axis=axis)
    index = g.const(np.array([1], dtype=np.int64), "i")
    return g.op("Gather", [soft, index], axis=axis)


def _flatten_keras(g: Graph, x: str) -> str:
    """Keras Permute((2, 1, 3)) + Flatten of an NHWC tensor, from NCHW: (N, W, H, C) order."""
    return g.op("Flatten", [g.op("Transpose", [x], perm=[0, 3, 2, 1])], axis=1)


def _nchw(g: Graph) -> str:
    """uint8 NHWC pixels in, MTCNN's input out: (x - 127.5) / 128, NCHW float."""
    x = g.op("Cast", ["images"], to=1)  # float
    x = g.op("Mul", [g.op("Sub", [x, g.const(np.array(127.5, np.float32))]), g.const(np.array(1 / 128, np.float32))])
    return g.op("Transpose", [x], perm=[0, 3, 1, 2])


def pnet_graph(w: _W) -> bytes:
    g = Graph()
    x = _pool(g, _conv(g, _nchw(g), w[0], w[1], w[2]), 2, same=True)
    x = _conv(g, _conv(g, x, w[3], w[4], w[5]), w[6], w[7], w[8])
    reg = g.op("Transpose", [_conv(g, x, w[9], w[10])], perm=[0, 2, 3, 1])
    prob = g.op("Transpose", [_face_prob(g, _conv(g, x, w[11], w[12]), 1)], perm=[0, 2, 3, 1])
    return g.model("mtcnn_pnet", {"images": ("n", "h", "w", 3)}, {"reg": reg, "prob": prob}, uint8=True)


def rnet_graph(w: _W) -> bytes:
    g = Graph()
    x = _pool(g, _conv(g, _nchw(g), w[0], w[1], w[2]), 3, same=True)
    x = _pool(g, _conv(g, x, w[3], w[4], w[5]), 3, same=False)
    x = _dense(g, _flatten_keras(g, _conv(g, x, w[6], w[7], w[8])), w[9], w[10], w[11])
    prob = _face_prob(g, _dense(g, x, w[14], w[15]), 1)
    outputs = {"reg": _dense(g, x, w[12], w[13]), "prob": prob}
    return g.model("mtcnn_rnet", {"images": ("n", 24, 24, 3)}, outputs, uint8=True)


def onet_graph(w: _W) -> bytes:
    g = Graph()
    x = _pool(g, _conv(g, _nchw(g), w[0], w[1], w[2]), 3, same=True)
    x = _pool(g, _conv(g, x, w[3], w[4], w[5]), 3, same=False)
    x = _pool(g, _conv(g, x, w[6], w[7], w[8]), 2, same=True)
    x = _dense(g, _flatten_keras(g, _conv(g, x, w[9], w[10], w[11])), w[12], w[13], w[14])
    outputs = {"reg": _dense(g, x, w[15], w[16]), "marks": _dense(g, x, w[17], w[18])}
    outputs["prob"] = _face_prob(g, _dense(g, x, w[19], w[20]), 1)
    return g.model("mtcnn_onet", {"images": ("n", 48, 48, 3)}, outputs, uint8=True)


def _overlap(a: np.ndarray, b: np.ndarray, area_a: np.ndarray, area_b: np.ndarray, method: str) -> np.ndarray:
    """Intersection over union (or over the smaller box, method 'min') of boxes a and b."""
    iw = np.maximum(0, np.minimum(a[..., 2], b[..., 2]) - np.maximum(a[..., 0], b[..., 0]))
    ih = np.maximum(0, np.minimum(a[..., 3], b[..., 3]) - np.maximum(a[..., 1], b[..., 1]))
    inter = iw * ih
    denom = np.minimum(area_a, area_b) if method == "min" else area_a + area_b - inter
    return inter / np.maximum(denom, 1e-9)


def _nms(boxes: np.ndarray, scores: np.ndarray, threshold: float, method: str = "union") -> np.ndarray:
    """Greedy non-maximum suppression; returns kept indices, best first.

    Up to MTCNN_NMS_PAIRWISE_MAX boxes the overlaps of all pairs are computed in one pass (the same
    arithmetic per pair), then walked: a third of the time of one pass per kept box."""
    order = np.argsort(-scores)
    b = boxes[order]
    area = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    if len(b) > MTCNN_NMS_PAIRWISE_MAX:
        return order[_nms_walk(b, area, threshold, method)]
    over = _overlap(b[:, None], b[None], area[:, None], area[None], method) > threshold
    alive = np.ones(len(b), dtype=bool)
    keep = []
    for i in range(len(b)):
        if alive[i]:
            keep.append(i)
            alive &= ~over[i]
    return order[np.asarray(keep, dtype=int)]


def _nms_walk(b: np.ndarray, area: np.ndarray, threshold: float, method: str) -> np.ndarray:
    """Greedy suppression of score-ordered boxes, one pass over the rest per kept box."""
    rest = np.arange(len(b))
    keep = []
    while rest.size:
        i, rest = rest[0], rest[1:]
        keep.append(i)
        rest = rest[_overlap(b[i], b[rest], area[i], area[rest], method) <= threshold]
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
    """Bilinear crops of `boxes` resized to size x size; outside the image is mid-grey."""
    out = np.empty((len(boxes), size, size, 3), dtype=np.uint8)
    for n, (x1, y1, x2, y2) in enumerate(boxes[:, :4]):
        sx, sy = (x2 - x1) / size, (y2 - y1) / size
        m = np.array([[sx, 0, x1 + 0.5 * sx - 0.5], [0, sy, y1 + 0.5 * sy - 0.5]], dtype=np.float64)
        out[n] = cv2.warpAffine(
            img,
            m,
            (size, size),
            flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
            borderMode=cv2.BORDER_CONSTANT,
            borderValue=(128, 128, 128),
        )
    return out


def finer_levels(usual_min_face: float, min_face: float) -> list[float]:
    """Pyramid scales above the usual first one (12 / usual_min_face): from the one where a face
    of `min_face` px is 12 px down, a factor apart, while more than half a step (a factor of
    sqrt(1 / MTCNN_SCALE_FACTOR)) above the usual first level."""
    out: list[float] = []
    scale, usual = 12.0 / min_face, 12.0 / usual_min_face
    while scale > usual / np.sqrt(tuning.MTCNN_SCALE_FACTOR):
        out.append(scale)
        scale *= tuning.MTCNN_SCALE_FACTOR
    return out


class MtcnnDetector:
    """Loads the packaged weights once; `detect(rgb)` on an RGB uint8 array."""

    def __init__(self, min_face_px: int = tuning.MTCNN_MIN_FACE_PX) -> None:
        w = {n: [np.asarray(a, dtype=np.float32) for a in joblib.load(p)] for n, p in mtcnn_weights().items()}
        self._pnet = session(pnet_graph(w["pnet"]))
        self._rnet = session(rnet_graph(w["rnet"]))
        self._onet = session(onet_graph(w["onet"]))
        self.min_face_px = min_face_px

    def detect(self, rgb: np.ndarray, min_face_px: float | None = None) -> list[MtcnnFace]:
        """Faces of at least `min_face_px` (default: the detector's) in `rgb`.

        Smaller faces than the detector's own minimum are searched on extra, finer pyramid
        levels above its usual ones, which stay exactly as they are: faces the usual levels
        find are found as before (a pyramid started elsewhere loses some, see tuning)."""
        img = np.ascontiguousarray(rgb)  # the networks take uint8 pixels and normalise them
        h, w = img.shape[:2]
        scale = 12.0 / self.min_face_px
        proposals = []
        level = img
        while min(h, w) * scale >= 12:
            size = (max(1, int(np.ceil(w * scale))), max(1, int(np.ceil(h * scale))))
            # each level from the previous one: the area filter costs the source's pixels, and
            # ten levels from the full image took a third of the detection time
            level = cv2.resize(level, size, interpolation=cv2.INTER_AREA)
            proposals += self._pnet_level(level, scale)
            scale *= tuning.MTCNN_SCALE_FACTOR
        for scale in finer_levels(self.min_face_px, min_face_px or self.min_face_px):
            size = (max(1, int(np.ceil(w * scale))), max(1, int(np.ceil(h * scale))))
            method = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
            proposals += self._pnet_level(cv2.resize(img, size, interpolation=method), scale)
        if not proposals:
            return []
        return self._refine(img, np.concatenate(proposals))

    def _pnet_level(self, level: np.ndarray, scale: float) -> list[np.ndarray]:
        """PNet's proposals (x1, y1, x2, y2, score in input pixels) on one pyramid level."""
        reg, prob = self._pnet.run(None, {"images": level[None]})
        prob = prob[..., 0]
        ys, xs = np.nonzero(prob[0] > tuning.MTCNN_THRESHOLDS[0])
        if not len(ys):
            return []
        cell = np.stack([xs * 2, ys * 2, xs * 2 + 12, ys * 2 + 12], axis=1).astype(np.float32)
        boxes = (cell + reg[0, ys, xs] * 12) / scale
        scores = prob[0, ys, xs]
        keep = _nms(boxes, scores, 0.5)
        return [np.column_stack([boxes[keep], scores[keep]])]

    def _refine(self, img: np.ndarray, cand: np.ndarray) -> list[MtcnnFace]:
        """RNet and ONet on PNet's proposals: the final boxes, scores and keypoints."""
        h, w = img.shape[:2]
        cand = _square(cand[_nms(cand[:, :4], cand[:, 4], 0.7)])
        # RNet refines and rejects the proposals.
        reg, prob = self._rnet.run(None, {"images": _patches(img, cand, 24)})
        prob = prob.reshape(-1)
        ok = prob > tuning.MTCNN_THRESHOLDS[1]
        cand = np.column_stack([_regress(cand[ok, :4], reg[ok]), prob[ok]])
        if not len(cand):
            return []
        cand = _square(cand[_nms(cand[:, :4], cand[:, 4], 0.7)])
        # ONet gives the final boxes, scores and five keypoints.
        reg, marks, prob = self._onet.run(None, {"images": _patches(img, cand, 48)})
        prob = prob.reshape(-1)
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
