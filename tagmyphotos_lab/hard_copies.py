"""Harder copies of ../shared/testdata/faces: smaller, tilted, blurred, grey, mirrored, JPEG q30.

Why: a library is full of faces the labelled testdata lacks (people in the background, scans,
phones held at an angle, black-and-white prints). scripts/evaluate --copies names people on
these copies, taught from 2 of the original photos per person (issue 20). Each copy is made
from the photo as displayed (EXIF orientation applied), deterministically (Pillow only, no
randomness), into .cache/hard-copies/<key>/<kind>/<name>.png (JPEG for the `jpeg30` kind);
the key changes when the originals or the recipe change. Every kind also knows where a point of
the original lands in the copy, so the evaluation finds the labelled face again by position,
never by guessing "the largest face".

`python -m tagmyphotos_lab hard-copies [--out DIR]` makes them and prints the folder.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageFilter, ImageOps

from tagmyphotos_lab import paths
from tagmyphotos_lab.paths import FACES

FACES_DIR = FACES
CACHE_DIR = paths.CACHE_DIR / "hard-copies"
RECIPE_VERSION = 1
# Blur: a Gaussian of this fraction of the photo's long side (4 px at 1000 px); on the labelled
# faces it brings the chip's sharpness (variance of the Laplacian) from a median of 374 to 14.
BLUR_OF_LONG_SIDE = 0.004
JPEG_QUALITY = 30


@dataclass(frozen=True)
class Kind:
    """One kind of copy: how it is made and where an original point lands in it."""

    name: str
    make: Callable[[Image.Image], Image.Image]
    scale: float = 1.0  # linear size of the copy relative to the original
    angle: float = 0.0  # degrees, counter-clockwise as seen, about the centre (canvas grows)
    mirror: bool = False
    jpeg: bool = False

    def point(self, x: float, y: float, size: tuple[int, int]) -> tuple[float, float]:
        """Where the original's point (x, y) is in the copy of an original of `size` (w, h)."""
        w, h = size
        if self.mirror:
            x = w - x
        if self.angle:
            a = math.radians(self.angle)
            cos, sin = math.cos(a), math.sin(a)
            cw, ch = rotated_size(w, h, self.angle)
            dx, dy = x - w / 2, y - h / 2
            x, y = cw / 2 + dx * cos + dy * sin, ch / 2 - dx * sin + dy * cos
        return x * self.scale, y * self.scale


def rotated_size(w: int, h: int, angle: float) -> tuple[int, int]:
    """The canvas Pillow's rotate(expand=True) makes for a w x h image."""
    return Image.new("L", (w, h)).rotate(angle, expand=True).size


def _resized(k: float) -> Callable[[Image.Image], Image.Image]:
    def make(im: Image.Image) -> Image.Image:
        return im.resize((max(1, round(im.width * k)), max(1, round(im.height * k))), Image.Resampling.LANCZOS)

    return make


def _rotated(angle: float) -> Callable[[Image.Image], Image.Image]:
    def make(im: Image.Image) -> Image.Image:
        return im.rotate(angle, Image.Resampling.BICUBIC, expand=True, fillcolor=(0, 0, 0))

    return make


def _blurred(im: Image.Image) -> Image.Image:
    return im.filter(ImageFilter.GaussianBlur(BLUR_OF_LONG_SIDE * max(im.size)))


KINDS: tuple[Kind, ...] = (
    Kind("quarter", _resized(0.25), scale=0.25),
    Kind("half", _resized(0.5), scale=0.5),
    Kind("tilt+20", _rotated(20), angle=20),
    Kind("tilt-20", _rotated(-20), angle=-20),
    Kind("tilt+40", _rotated(40), angle=40),
    Kind("tilt-40", _rotated(-40), angle=-40),
    Kind("blur", _blurred),
    Kind("grey", lambda im: im.convert("L")),
    Kind("mirror", ImageOps.mirror, mirror=True),
    Kind("jpeg30", lambda im: im, jpeg=True),
)
KIND_BY_NAME = {k.name: k for k in KINDS}


def originals(faces_dir: Path = FACES_DIR) -> list[Path]:
    return sorted(p for p in faces_dir.iterdir() if p.suffix.lower() in {".jpg", ".jpeg", ".png"})


def copies_key(faces_dir: Path = FACES_DIR) -> str:
    stamp = [(p.name, p.stat().st_size, int(p.stat().st_mtime)) for p in originals(faces_dir)]
    src = json.dumps([RECIPE_VERSION, BLUR_OF_LONG_SIDE, JPEG_QUALITY, [k.name for k in KINDS], stamp])
    return hashlib.sha256(src.encode()).hexdigest()[:16]


def copy_path(out: Path, kind: Kind, original: Path) -> Path:
    return out / kind.name / (original.stem + (".jpg" if kind.jpeg else ".png"))


def make_copies(faces_dir: Path = FACES_DIR, cache_dir: Path = CACHE_DIR) -> Path:
    """Every kind of copy of every photo, made once; returns the folder (one subfolder per kind)."""
    out = cache_dir / copies_key(faces_dir)
    if (out / "done").exists():
        return out
    for p in originals(faces_dir):
        with Image.open(p) as raw:
            im = ImageOps.exif_transpose(raw).convert("RGB")
        for kind in KINDS:
            dst = copy_path(out, kind, p)
            dst.parent.mkdir(parents=True, exist_ok=True)
            copy = kind.make(im)
            if kind.jpeg:
                copy.save(dst, "JPEG", quality=JPEG_QUALITY)
            else:
                copy.save(dst, "PNG", compress_level=1)
    (out / "done").write_text("ok\n")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=CACHE_DIR, help="cache folder (a subfolder per recipe)")
    print(make_copies(cache_dir=ap.parse_args().out))


if __name__ == "__main__":
    main()
