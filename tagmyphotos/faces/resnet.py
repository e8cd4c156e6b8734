"""dlib's face-recognition ResNet as an ONNX graph, run by ONNX Runtime.

The graph is built in memory from the weights of dlib_face_recognition_resnet_model_v1.dat
(faces_dlibfile): ONNX Runtime picks SSE/AVX2/AVX-512/NEON kernels at run time, so the same
network runs on a Celeron without AVX and on arm64, and 3-5x faster than dlib-bin's own
(BLAS-less) CPU code. The architecture is dnn_face_recognition_ex.cpp's: a 7x7/2 convolution,
a 3x3/2 max pool, 14 residual blocks whose down-sampling ones add a 2x2/2 average pool of their
input (dlib zero-pads the smaller tensor of an addition, channels and rows/columns alike),
a global average and a 128-wide fully connected layer. dlib's affine layers (frozen batch
norm) are folded into the convolutions.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tagmyphotos.faces.dlibfile import ConvLayer, DlibFormatError, read_resnet
from tagmyphotos.faces.onnxgraph import Graph, Shape

# input_rgb_image_sized<150>: (pixel - mean) / 256 per channel, RGB order.
INPUT_MEAN = np.array([122.782, 117.001, 104.298], dtype=np.float32)
INPUT_SIZE = 150


def _chw(g: Graph, x: str) -> tuple[int, int, int]:
    """The static (channels, rows, columns) of tensor x (the graph's sizes are all fixed)."""
    c, h, w = (int(v) for v in g.shapes[x])
    return c, h, w


def _conv(g: Graph, x: str, layer: ConvLayer, relu: bool) -> str:
    c, h, w = _chw(g, x)
    k = layer.weight.shape[2]
    oh = (h + 2 * layer.pad - k) // layer.stride + 1
    ow = (w + 2 * layer.pad - k) // layer.stride + 1
    weight = layer.weight * layer.scale[:, None, None, None]
    bias = layer.bias * layer.scale + layer.shift
    out = g.op(
        "Conv",
        [x, g.const(weight.astype(np.float32)), g.const(bias.astype(np.float32))],
        (layer.weight.shape[0], oh, ow),
        kernel_shape=[k, k],
        strides=[layer.stride] * 2,
        pads=[layer.pad] * 4,
    )
    return g.op("Relu", [out], g.shapes[out]) if relu else out


def _pad_to(g: Graph, x: str, shape: tuple[int, int, int]) -> str:
    """Zero-pad channels, rows and columns at their ends (dlib's add of unequal tensors)."""
    have = _chw(g, x)
    if have == shape:
        return x
    extra = [0, 0, 0, 0, 0, *(s - h for s, h in zip(shape, have, strict=True))]
    return g.op("Pad", [x, g.const(np.array(extra, dtype=np.int64), "pads")], shape, mode="constant")


def _add(g: Graph, a: str, b: str) -> str:
    (c1, h1, w1), (c2, h2, w2) = _chw(g, a), _chw(g, b)
    full = (max(c1, c2), max(h1, h2), max(w1, w2))
    return g.op("Add", [_pad_to(g, a, full), _pad_to(g, b, full)], full)


def _block(g: Graph, x: str, first: ConvLayer, second: ConvLayer) -> str:
    y = _conv(g, _conv(g, x, first, relu=True), second, relu=False)
    shortcut = x
    if first.stride != 1:
        c, h, w = _chw(g, x)
        s = first.stride
        pooled = (c, (h - s) // s + 1, (w - s) // s + 1)
        shortcut = g.op("AveragePool", [x], pooled, kernel_shape=[s, s], strides=[s, s])
    total = _add(g, y, shortcut)
    return g.op("Relu", [total], g.shapes[total])


def build_graph(path: Path | str) -> bytes:
    """The serialized ONNX model: input 'chips' (N, 3, 150, 150) normalised, output (N, 128)."""
    net = read_resnet(path)
    if len(net.convs) % 2 != 1 or net.convs[0].weight.shape[2] != 7:
        raise DlibFormatError(f"{path}: not the ResNet of dnn_face_recognition_ex")
    g = Graph()
    g.shapes["chips"] = (3, INPUT_SIZE, INPUT_SIZE)
    x = _conv(g, "chips", net.convs[0], relu=True)
    c, h, w = _chw(g, x)
    x = g.op("MaxPool", [x], (c, (h - 3) // 2 + 1, (w - 3) // 2 + 1), kernel_shape=[3, 3], strides=[2, 2])
    for i in range(1, len(net.convs), 2):
        x = _block(g, x, net.convs[i], net.convs[i + 1])
    x = g.op("GlobalAveragePool", [x], (g.shapes[x][0], 1, 1))
    x = g.op("Flatten", [x], (g.shapes[x][0], 1, 1), axis=1)
    out = g.op("MatMul", [x, g.const(net.fc.astype(np.float32))], (net.fc.shape[1], 1, 1))
    inputs: dict[str, Shape] = {"chips": ("n", 3, INPUT_SIZE, INPUT_SIZE)}
    return g.model("dlib_face_recognition_resnet_model_v1", inputs, {"embeddings": out})


def normalise(chips: list[np.ndarray]) -> np.ndarray:
    """RGB uint8 chips (150 x 150) to the network's input tensor."""
    batch = (np.stack(chips).astype(np.float32) - INPUT_MEAN) / 256.0
    return np.ascontiguousarray(batch.transpose(0, 3, 1, 2))
