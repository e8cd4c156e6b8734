"""Pure face analysis: pixels in, faces out (decode, detect, align, embed, thumbnail). No database.

Why pure: the same code runs in worker processes, benchmarks and the qemu check of other CPUs; a new
engine is a new module here, chosen by config, and its embeddings carry the pipeline id that made them.

Modules:
- images: decode a photo into oriented RGB, bounded in size
- engine: the engine contract (detect, landmarks, chip, embed) and the engine/detector choices
- engine_onnx: the default engine, no dlib and no AVX needed (MTCNN, numpy landmarks, ONNX ResNet)
- engine_dlib: the previous engine on dlib-bin (HOG), CPUs with AVX only
- detect: find faces (HOG, MTCNN)
- mtcnn: MTCNN on ONNX Runtime + OpenCV from the wheel's weights
- align: dlib's 5-point shape predictor and get_face_chip in numpy
- dlibfile: read dlib's .dat model files without dlib
- resnet: dlib's face ResNet as an ONNX graph
- onnxgraph: build ONNX graphs from weights; one-thread sessions
- embed: dlib-bin's landmarks, chips and descriptor; deepface models
- analyze: one photo or many: `FaceAnalyzer`, `AnalysisSettings`
- workers: run the analyzer on N processes
- manual: a face boxed by hand: check, align, embed
- thumb: face thumbnails for the review pages
- weights: model weights that ship inside installed packages
"""

__all__ = [
    "align",
    "analyze",
    "detect",
    "dlibfile",
    "embed",
    "engine",
    "engine_dlib",
    "engine_onnx",
    "images",
    "manual",
    "mtcnn",
    "onnxgraph",
    "resnet",
    "thumb",
    "weights",
    "workers",
]
