"""Decode a photo into oriented 8-bit RGB pixels, as cheaply as the caller's size allows.

The format is sniffed from the content, never the extension (libraries hold WebPs named .jpg).
JPEGs are decoded at a reduced scale with `Image.draft` when the caller only needs a bounded
image: a 12 MP photo decodes several times faster at half size. EXIF orientation is applied so that every
coordinate the pipeline produces is in the photo *as displayed*, and it is reported so region
maths can map back to stored pixels. Every failure is an `ImageError` with a human message.

Other formats (PNG, TIFF, WebP, HEIC) have no reduced decode: the whole image is decoded, then
reduced by an integer factor before any conversion, so only the decode itself is full size
(a 10900x10900 RGBA PNG under the pixel limit was 1.6 GB per preview, four at once 5.4 GB).
Decodes of more than DECODE_ALONE_PIXELS run one at a time on the machine (a lock file every
process shares: web server, analysis workers), so the peak is one such decode, not N.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import fcntl
import os
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from tagmyphotos import tuning
from tagmyphotos.errors import TagMyPhotosError
from tagmyphotos.geometry import exif_orientation

# Decodes of more pixels than this (after a JPEG's reduced decode) run one at a time on the
# machine (faces/images.decode_slot). 50 MP of RGBA is 200 MB decoded; every photo a phone or a
# camera makes (<= ~60 MP JPEG, decoded at 1/2..1/8 for analysis) stays under it, so only big
# PNG/TIFF/WebP scans and panoramas wait for each other.
DECODE_ALONE_PIXELS = 50_000_000

# Allocations from this size up are mmapped by glibc and so returned to the system when freed
# (faces/images._give_big_blocks_back); Pillow's 16 MB pixel blocks are above it.
MALLOC_MMAP_THRESHOLD_BYTES = 1 << 20

# Analysis worker processes (faces/images.reuse_freed_blocks, set after the models are loaded)
# keep freed buffers below the first size in the heap, and let the heap's free top grow to the
# second before trimming it. With the 1 MB threshold above, the kernel zeroed every fresh
# buffer page by page: on the 61 labelled testdata photos, one process, 19.3 ms of kernel time
# per photo (1.24 M page faults) on top of ~105 ms user; with 16 MB / 32 MB 2.7 ms (184 k
# faults); 32 MB / 64 MB was no faster within the noise of the shared box (load 6-10). On their
# 12-MP copies, 2 processes (scripts/bench analyze's run): CPU 0.21 -> 0.11-0.14 s per photo;
# peak RSS of the tree 946 MB with 1 MB, 924-965 MB with 16/32 (32/64: 944-1047 when set before
# the models were loaded). A 12-MP photo's reduced decode (2000x1500, 12 MB) stays in the heap;
# the second decode for small faces (up to CHIP_SOURCE_MAX_SIDE) is mmapped and returned.
WORKER_MMAP_THRESHOLD_BYTES = 16 << 20
WORKER_TRIM_THRESHOLD_BYTES = 32 << 20


def _mallopt(param: int, value: int) -> None:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallopt(param, value)
    except (OSError, AttributeError):  # not glibc (musl, macOS): their allocators differ
        pass


def _give_big_blocks_back() -> None:
    """Make glibc return freed image memory to the system. Pillow holds pixels in 16 MB blocks;
    after the first such block is freed, glibc raises its mmap threshold and keeps later ones
    in per-thread heaps, so four previews on four server threads stayed 1.9 GB resident after
    they were done. A fixed threshold keeps every block mmapped: freed means returned."""
    _mallopt(_M_MMAP_THRESHOLD, MALLOC_MMAP_THRESHOLD_BYTES)


def reuse_freed_blocks() -> None:
    """For a process that decodes one photo after another (an analysis worker): keep freed
    pixel buffers in the heap for the next photo instead of returning them. Every buffer freshly
    mmapped is zeroed page by page by the kernel on first touch, which cost a sixth of the
    analysis CPU (WORKER_MMAP_THRESHOLD_BYTES); a worker holds one photo at a time, so
    what it keeps is about one photo's buffers."""
    _mallopt(_M_MMAP_THRESHOLD, WORKER_MMAP_THRESHOLD_BYTES)
    _mallopt(_M_TRIM_THRESHOLD, WORKER_TRIM_THRESHOLD_BYTES)


_M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter numbers
_M_TRIM_THRESHOLD = -1
_give_big_blocks_back()

try:  # HEIC/HEIF (iPhone photos); pillow-heif is a declared dependency
    from pillow_heif import register_heif_opener

    register_heif_opener()
except ImportError:  # pragma: no cover - only without the dependency
    pass

# EXIF Orientation value -> PIL transpose that turns stored pixels into displayed pixels.
_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
# Output rows per strip when a decoded image is reduced (faces/images._reduced): small copies.
REDUCE_STRIP_ROWS = 64
# Images of more pixels than this become arrays strip by strip (_pixels), in strips of these rows.
PIXELS_STRIP_FROM = 4_000_000
PIXELS_STRIP_ROWS = 256


class ImageError(TagMyPhotosError):
    """A photo that cannot be analysed; `str(exc)` is a sentence fit for the photo's error column."""


@dataclass(frozen=True)
class ImageInfo:
    """What the header says, before decoding a pixel."""

    format: str  # as detected from content: JPEG, PNG, WEBP, HEIF, TIFF, ...
    stored_width: int  # pixels as stored in the file
    stored_height: int
    orientation: int  # EXIF orientation 1..8 (1 when absent)

    @property
    def width(self) -> int:
        """Width as displayed (after orientation)."""
        return self.stored_height if self.orientation >= 5 else self.stored_width

    @property
    def height(self) -> int:
        return self.stored_width if self.orientation >= 5 else self.stored_height


@dataclass(frozen=True)
class LoadedImage:
    """Oriented RGB pixels, possibly reduced: `scale` = pixel size / full oriented size (<= 1)."""

    info: ImageInfo
    pixels: np.ndarray  # H x W x 3 uint8, C-contiguous, oriented
    scale: float

    @property
    def is_full_resolution(self) -> bool:
        return self.pixels.shape[1] == self.info.width and self.pixels.shape[0] == self.info.height


def _orientation(im: Image.Image) -> int:
    if im.format == "HEIF":
        # pillow-heif applies the HEIF transforms (clap, irot, imir) itself while decoding and
        # resets EXIF to 1; an EXIF orientation inside a HEIF is ignored, as viewers do.
        return 1
    # Pillow's AVIF plugin decodes as coded and reports irot/imir as the EXIF orientation (the
    # file's own EXIF orientation replaced): applied here like a JPEG's (metadata/heif).
    return exif_orientation(im)


def _open(path: Path | str, max_pixels: int) -> tuple[Image.Image, ImageInfo]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            im = Image.open(path)
    except FileNotFoundError as exc:
        raise ImageError(f"file not found: {path}") from exc
    except UnidentifiedImageError as exc:
        raise ImageError(f"not an image format this version can read: {Path(path).name}") from exc
    except Image.DecompressionBombError as exc:
        raise ImageError(f"refused to decode {Path(path).name}: {exc}") from exc
    except OSError as exc:
        raise ImageError(f"cannot read {Path(path).name}: {exc}") from exc
    w, h = im.size
    if w * h > max_pixels:
        im.close()
        raise ImageError(
            f"{w}x{h} = {w * h / 1e6:.0f} megapixels is over the limit of {max_pixels / 1e6:.0f} "
            "megapixels (a guard against decompression bombs; raise analysis.max_image_pixels to allow it)"
        )
    if w < 1 or h < 1:
        im.close()
        raise ImageError(f"{Path(path).name} has no pixels ({w}x{h})")
    return im, ImageInfo(str(im.format or "unknown"), w, h, _orientation(im))


def probe(path: Path | str, max_pixels: int = tuning.IMAGE_MAX_PIXELS) -> ImageInfo:
    """Format, stored size and orientation from the header only."""
    im, info = _open(path, max_pixels)
    im.close()
    return info


@contextmanager
def decode_slot(pixels: int) -> Iterator[None]:
    """Hold the machine's one slot for big decodes (blocking) when `pixels` is over the bound."""
    if pixels <= DECODE_ALONE_PIXELS:
        yield
        return
    path = os.path.join(tempfile.gettempdir(), "tagmyphotos-big-decode.lock")
    with open(path, "a") as lock:  # a file of its own per caller: flock excludes threads too
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _reduced(im: Image.Image, max_side: int | None) -> Image.Image:
    """The decoded image shrunk by the largest integer factor that keeps it >= max_side."""
    if max_side is None:
        return im
    factor = max(im.size) // max_side
    if factor < 2:
        return im
    if im.mode.startswith("I;16"):
        im = im.convert("I")  # values kept: _to_rgb scales 16-bit to 8-bit afterwards
    elif im.mode in ("1", "P"):
        im = im.convert("RGBA" if "transparency" in im.info else ("L" if im.mode == "1" else "RGB"))
    # In strips: Pillow reduces RGBA through a full-size premultiplied copy (+475 MB at 119 MP).
    w, h = im.size
    out = Image.new(im.mode, ((w + factor - 1) // factor, (h + factor - 1) // factor))
    step = factor * REDUCE_STRIP_ROWS
    for top in range(0, h, step):
        out.paste(im.crop((0, top, w, min(h, top + step))).reduce(factor), (0, top // factor))
    return out


def _to_rgb(im: Image.Image) -> Image.Image:
    """8-bit RGB from any mode: 16-bit scaled (not clipped), alpha composited on white."""
    mode = im.mode
    if mode == "RGB":
        return im
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        a = np.asarray(im, dtype=np.float32)
        top = 65535.0 if mode.startswith("I;16") or a.max() > 255 else 255.0
        if mode == "F" and a.max() <= 1.0:
            top = 1.0
        g = np.clip(a * (255.0 / top), 0, 255).astype(np.uint8)
        return Image.fromarray(np.ascontiguousarray(np.stack([g, g, g], axis=-1)), "RGB")
    if mode == "P":
        im = im.convert("RGBA" if "transparency" in im.info else "RGB")
    elif mode in ("LA", "La", "PA", "RGBa"):
        im = im.convert("RGBA")
    if im.mode == "RGBA":
        background = Image.new("RGB", im.size, (255, 255, 255))
        background.paste(im, mask=im.getchannel("A"))
        return background
    return im.convert("RGB")  # L, 1, CMYK, YCbCr, LAB, HSV, RGBX


def _pixels(im: Image.Image) -> np.ndarray:
    """The RGB image as an array. np.asarray goes through Image.tobytes, which gathers the
    pixels in 64 KB pieces and then joins them: three copies at once (a 12-MP decode peaked
    114 MB above its pixels); big images are copied in strips into the array instead."""
    w, h = im.size
    if w * h <= PIXELS_STRIP_FROM:
        return np.asarray(im, dtype=np.uint8)
    out = np.empty((h, w, 3), dtype=np.uint8)
    for top in range(0, h, PIXELS_STRIP_ROWS):
        out[top : top + PIXELS_STRIP_ROWS] = np.asarray(im.crop((0, top, w, min(h, top + PIXELS_STRIP_ROWS))))
    return out


def load_image(
    path: Path | str,
    max_side: int | None = None,
    max_pixels: int = tuning.IMAGE_MAX_PIXELS,
) -> LoadedImage:
    """Decode `path` oriented as displayed; with `max_side`, JPEGs decode reduced (never below it).

    The result is at least `max_side` on its long side when the photo is (draft only picks a
    scale whose size is >= the request), so callers resize further with a proper filter.
    """
    im, info = _open(path, max_pixels)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            if getattr(im, "n_frames", 1) > 1:
                im.seek(0)  # animated GIF/WebP, MPO: the first frame is the photo
            if max_side is not None and im.format == "JPEG":
                # draft wants the request in stored orientation; it picks scale 1/2, 1/4 or 1/8.
                w, h = info.stored_width, info.stored_height
                factor = max(w, h) / max_side
                if factor >= 2:
                    im.draft("RGB", (int(w / factor) + 1, int(h / factor) + 1))
            with decode_slot(im.size[0] * im.size[1]):
                im.load()
                small = _reduced(im, max_side)
                if small is not im:
                    im.close()  # the full-size pixels go now, before any conversion
                rgb = _to_rgb(small)
            transpose = _TRANSPOSE.get(info.orientation)
            if transpose is not None:
                rgb = rgb.transpose(transpose)
            pixels = _pixels(rgb)
    except ImageError:
        raise
    except Image.DecompressionBombError as exc:
        raise ImageError(f"refused to decode {Path(path).name}: {exc}") from exc
    except Exception as exc:  # decoders of hostile files raise anything (struct.error, EOFError...)
        raise ImageError(f"cannot decode {Path(path).name} ({info.format}): {exc}") from exc
    finally:
        im.close()
    if not pixels.flags.c_contiguous:
        pixels = np.ascontiguousarray(pixels)
    return LoadedImage(info=info, pixels=pixels, scale=pixels.shape[1] / info.width)
