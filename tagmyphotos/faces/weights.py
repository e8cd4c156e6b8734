"""Model weights that ship inside installed packages, and where deepface expects them.

The product runs offline: nothing here (or anywhere at run time) downloads a weight. Weights come
from wheels (`face-recognition-models` for dlib, `mtcnn` for MTCNN); deepface looks for its files
in `$DEEPFACE_HOME/.deepface/weights/<file>` and would download a missing one from GitHub, so
`python -m tagmyphotos.faces.weights --link` links the packaged files there (install.sh, Dockerfile), and
`deepface_weight_path` turns any other missing file into a clear `WeightsMissingError`.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from tagmyphotos.errors import TagMyPhotosError
from tagmyphotos.faces.dlibfile import cached_shape_predictor

# dlib's ResNet descriptor and its 5-point landmark model, as shipped by face-recognition-models.
DLIB_RESNET_FILE = "dlib_face_recognition_resnet_model_v1.dat"
DLIB_LANDMARKS_FILE = "shape_predictor_5_face_landmarks.dat"
# MTCNN's three stages, as shipped by the mtcnn wheel (joblib/lz4 lists of numpy arrays).
MTCNN_FILES = ("pnet.lz4", "rnet.lz4", "onet.lz4")

# Files linked into deepface's weights folder: the ones deepface itself would otherwise download.
DEEPFACE_LINKED = (DLIB_RESNET_FILE, DLIB_LANDMARKS_FILE)


class WeightsMissingError(TagMyPhotosError, RuntimeError):
    """A model weight file is not where it must be; the message names the file and the folder."""

    def __init__(self, file_name: str, folder: Path | str, hint: str = "") -> None:
        self.file_name = file_name
        self.folder = Path(folder)
        msg = f"model weight file {file_name!r} is missing from {self.folder}"
        msg += f" ({hint})" if hint else ""
        msg += "; nothing is downloaded at run time: put the file there and retry"
        super().__init__(msg)


@dataclass(frozen=True)
class DlibWeights:
    resnet: Path
    landmarks: Path


def _package_dir(package: str) -> Path | None:
    """Folder of an installed package, found without importing it (mtcnn imports TensorFlow)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def _require(folder: Path | None, file_name: str, package: str) -> Path:
    if folder is None:
        raise WeightsMissingError(file_name, "<not installed>", f"package {package!r} is not installed")
    path = folder / file_name
    if not path.is_file():
        raise WeightsMissingError(file_name, folder, f"it ships in the {package!r} package")
    return path


def dlib_weights() -> DlibWeights:
    """Paths of dlib's ResNet and 5-point landmark models inside face_recognition_models."""
    base = _package_dir("face_recognition_models")
    folder = base / "models" if base is not None else None
    return DlibWeights(
        resnet=_require(folder, DLIB_RESNET_FILE, "face-recognition-models"),
        landmarks=_require(folder, DLIB_LANDMARKS_FILE, "face-recognition-models"),
    )


def mtcnn_weights() -> dict[str, Path]:
    """Paths of MTCNN's pnet/rnet/onet weights inside the mtcnn wheel, keyed by stage name."""
    base = _package_dir("mtcnn")
    folder = base / "assets" / "weights" if base is not None else None
    return {name.split(".")[0]: _require(folder, name, "mtcnn") for name in MTCNN_FILES}


def converted_dir() -> Path:
    """Where models converted from packaged weights are kept (install.sh fills it; see dlibfile).

    $TAGMYPHOTOS_MODEL_CACHE, else inside the environment that holds the weights' package."""
    return Path(os.environ.get("TAGMYPHOTOS_MODEL_CACHE") or Path(sys.prefix) / "share" / "tagmyphotos" / "models")


def default_deepface_home() -> Path:
    """deepface's own rule: $DEEPFACE_HOME, else the user's home folder."""
    return Path(os.environ.get("DEEPFACE_HOME") or Path.home())


def deepface_weights_dir(home: Path | str | None = None) -> Path:
    return Path(home if home is not None else default_deepface_home()) / ".deepface" / "weights"


def deepface_weight_path(file_name: str, home: Path | str | None = None) -> Path:
    """Where deepface reads `file_name`; raises WeightsMissingError instead of downloading it."""
    path = deepface_weights_dir(home) / os.path.basename(file_name)
    if not path.is_file():
        raise WeightsMissingError(path.name, path.parent, "this model's weights do not ship in a package")
    return path


def link_weights(home: Path | str | None = None) -> list[Path]:
    """Symlink packaged weights into deepface's folder; idempotent, replaces stale links."""
    folder = deepface_weights_dir(home)
    folder.mkdir(parents=True, exist_ok=True)
    dlib = dlib_weights()
    sources = {DLIB_RESNET_FILE: dlib.resnet, DLIB_LANDMARKS_FILE: dlib.landmarks}
    linked = []
    for name in DEEPFACE_LINKED:
        source, target = sources[name], folder / name
        if target.is_symlink() and Path(os.readlink(target)) == source:
            linked.append(target)
            continue
        if target.is_symlink() or (target.exists() and not target.is_file()):
            target.unlink()
        elif target.is_file():
            linked.append(target)  # a real file put there by the user: keep it
            continue
        target.symlink_to(source)
        linked.append(target)
    return linked


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tagmyphotos.faces.weights", description=__doc__)
    parser.add_argument("--link", action="store_true", help="link packaged weights for deepface")
    parser.add_argument("--home", help="DEEPFACE_HOME to link into (default: $DEEPFACE_HOME or ~)")
    parser.add_argument("--convert", action="store_true", help="convert dlib's landmark model for the onnx engine")
    args = parser.parse_args(argv)
    try:
        dlib = dlib_weights()
        mtcnn = mtcnn_weights()
        for path in (dlib.resnet, dlib.landmarks, *mtcnn.values()):
            print(f"found  {path}")
        if args.link:
            for path in link_weights(args.home):
                print(f"linked {path}")
        if args.convert:
            cached_shape_predictor(dlib.landmarks, converted_dir())
            print(f"converted {dlib.landmarks.name} into {converted_dir()}")
    except WeightsMissingError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
