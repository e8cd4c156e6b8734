"""Build small ONNX graphs from numpy weights and run them on ONNX Runtime, one thread each.

The networks of the default engine (dlib's ResNet, MTCNN's three stages) ship as weights in
packages, not as ONNX files; this is the one place that turns weights into a graph and a graph
into a session. ONNX Runtime chooses its kernels (SSE4, AVX2, AVX-512, NEON) when it starts,
which is what makes the engine run on a Celeron without AVX and on arm64. The analysis runs one
worker per core, so each session gets one intra-op thread.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

Shape = tuple[int | str, ...]


@dataclass
class Graph:
    """Nodes and initialisers of a graph being built; `shapes` keeps static shapes where known."""

    nodes: list[Any] = field(default_factory=list)
    inits: list[Any] = field(default_factory=list)
    shapes: dict[str, Shape] = field(default_factory=dict)
    count: int = 0

    def name(self, kind: str) -> str:
        self.count += 1
        return f"{kind}{self.count}"

    def const(self, value: np.ndarray, kind: str = "w") -> str:
        from onnx import numpy_helper

        name = self.name(kind)
        self.inits.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def op(self, op_type: str, inputs: list[str], shape: Shape = (), **attrs: Any) -> str:
        from onnx import helper

        out = self.name(op_type.lower())
        self.nodes.append(helper.make_node(op_type, inputs, [out], **attrs))
        self.shapes[out] = shape
        return out

    def model(self, name: str, inputs: dict[str, Shape], outputs: dict[str, str], uint8: bool = False) -> bytes:
        """Serialized model; `outputs` maps each output's public name to the tensor it is.

        Inputs are float32, or uint8 pixels with `uint8`."""
        from onnx import TensorProto, helper

        in_type = TensorProto.UINT8 if uint8 else TensorProto.FLOAT
        nodes = list(self.nodes)
        for public, tensor in outputs.items():
            nodes.append(helper.make_node("Identity", [tensor], [public]))
        graph = helper.make_graph(
            nodes,
            name,
            [helper.make_tensor_value_info(n, in_type, list(s)) for n, s in inputs.items()],
            [helper.make_value_info(n, helper.make_tensor_type_proto(TensorProto.FLOAT, None)) for n in outputs],
            self.inits,
        )
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="tagmyphotos")
        model.ir_version = 8  # readable by every onnxruntime >= 1.14
        return bytes(model.SerializeToString())


def session(model: bytes) -> Any:
    """An ONNX Runtime session on one thread (the analysis already runs a worker per core)."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    return ort.InferenceSession(model, opts, providers=["CPUExecutionProvider"])
