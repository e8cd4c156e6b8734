"""Decode a RAW file's sensor data with LibRaw (rawpy), for when its embedded JPEG cannot serve.

Why: some RAWs embed no JPEG at all (DNGs from converters and phones) and many embed one far
smaller than the sensor (160x120 thumbnails), where small faces are lost. Those are decoded
here; the embedded JPEG stays the fast path where it is large enough (stages/steps/raw decides).

A half-size decode is enough for detection (analysis sees at most analysis.detect_max_px): LibRaw
takes each 2x2 Bayer cell as one RGB pixel (no demosaic), which is fast and needs a quarter of
the memory of a full decode. Measured on a 52 MP 8-bit DNG: 1.3 s, peak +239 MB (the 16-bit
sensor values, LibRaw's 4x16-bit half-size image, the 8-bit result): about
RAW_DECODE_BYTES_PER_PHOTOSITE per photosite, so big RAWs take the machine's one slot
for big decodes like any other image (faces/images.decode_slot).

The pixels are kept as stored (LibRaw's flip not applied) and written as a JPEG that carries the
caller's orientation in its EXIF: the RAW's own EXIF Orientation as exiftool reads it, which is
what the sidecar's regions are written against and what exiftool, exiv2 and digiKam turn the
photo by. LibRaw's flip (the same tag for DNG, maker notes elsewhere) is reported beside it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from tagmyphotos import tuning
from tagmyphotos.faces.images import ImageError, decode_slot

# A RAW decoded by LibRaw at half size (faces/raw) holds about this many bytes per photosite at
# its peak: measured +239 MB on a 52 MP 8-bit DNG (16-bit sensor values, LibRaw's 4x16-bit
# half-size image, the 8-bit result). Its decode_slot request is photosites * this / 4, so RAWs
# from ~40 MP up decode one at a time on the machine, as a 50 MP RGBA PNG does.
RAW_DECODE_BYTES_PER_PHOTOSITE = 5

# The half-size decode is handed to the analysis as a JPEG of this quality (visually lossless;
# a 13 MP decode is ~3 MB on disk and decodes reduced through Image.draft like any JPEG).
RAW_DECODE_JPEG_QUALITY = 95

# LibRaw's flip -> EXIF orientation (LibRaw reports only these four)
FLIP_TO_EXIF = {0: 1, 3: 3, 5: 8, 6: 6}
_EXIF_ORIENTATION = 0x0112


@dataclass(frozen=True)
class DecodedRaw:
    """The half-size decode of a RAW, written as a JPEG."""

    path: Path
    size: tuple[int, int]  # the JPEG's stored pixels (width, height)
    sensor: tuple[int, int]  # LibRaw's visible sensor area (width, height), as stored
    orientation: int  # EXIF orientation written into the JPEG (the caller's)
    libraw_orientation: int  # LibRaw's flip as an EXIF orientation


def libraw_reason(exc: Exception) -> str:
    """LibRaw's own sentence ("Unsupported file format or not RAW file"), without rawpy's b'...'."""
    text = exc.args[0] if exc.args else str(exc)
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return str(text) or type(exc).__name__


def decode_raw(raw: Path, dest: Path, orientation: int, max_pixels: int = tuning.IMAGE_MAX_PIXELS) -> DecodedRaw:
    """Decode `raw` at half size into the JPEG `dest`; raises ImageError with LibRaw's reason."""
    try:
        import rawpy
    except ImportError as exc:  # pragma: no cover - a declared dependency
        raise ImageError("LibRaw (the Python package rawpy) is not installed") from exc
    try:
        with rawpy.imread(str(raw)) as decoder:
            sizes = decoder.sizes
            photosites = sizes.width * sizes.height
            if photosites > max_pixels:
                raise ImageError(
                    f"{sizes.width}x{sizes.height} = {photosites / 1e6:.0f} megapixels is over the limit of "
                    f"{max_pixels / 1e6:.0f} megapixels (raise analysis.max_image_pixels to allow it)"
                )
            # the slot counts RGBA pixels (4 bytes each)
            with decode_slot(photosites * RAW_DECODE_BYTES_PER_PHOTOSITE // 4):
                rgb = decoder.postprocess(half_size=True, use_camera_wb=True, output_bps=8, user_flip=0)
    except ImageError:
        raise
    except rawpy.LibRawError as exc:
        raise ImageError(f"LibRaw cannot decode {raw.name}: {libraw_reason(exc)}") from exc
    except (OSError, ValueError, MemoryError) as exc:
        raise ImageError(f"LibRaw cannot decode {raw.name}: {exc}") from exc
    image = Image.fromarray(rgb, "RGB")
    del rgb
    exif = Image.Exif()
    exif[_EXIF_ORIENTATION] = orientation
    dest.parent.mkdir(parents=True, exist_ok=True)
    image.save(dest, "JPEG", quality=RAW_DECODE_JPEG_QUALITY, exif=exif.tobytes())
    return DecodedRaw(dest, image.size, (sizes.width, sizes.height), orientation, FLIP_TO_EXIF.get(sizes.flip, 1))
