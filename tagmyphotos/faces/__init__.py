"""Pure face analysis: pixels in, faces out (decode, detect, align, embed, thumbnail). No database.

Why pure: the same code runs in worker processes, benchmarks and the qemu check of other CPUs; a new
engine is a new module here, chosen by config, and its embeddings carry the pipeline id that made them.

Modules:
- images: decode a photo into oriented RGB, bounded in size
- detect: find faces (HOG, MTCNN)
- mtcnn: MTCNN in numpy + OpenCV from the wheel's weights
- embed: landmarks, aligned chips, embeddings
- analyze: one photo or many: `FaceAnalyzer`, `AnalysisSettings`
- workers: run the analyzer on N processes
- manual: a face boxed by hand: check, align, embed
- thumb: face thumbnails for the review pages
- weights: model weights that ship inside installed packages
"""

__all__ = ["analyze", "detect", "embed", "images", "manual", "mtcnn", "thumb", "weights", "workers"]
