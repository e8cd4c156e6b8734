"""The JPEG a camera embeds in its RAW file, taken out with exiftool so faces can be found in it.

Why the embedded JPEG and not a RAW decoder: every RAW format carries one (CR2/NEF/ARW/ORF/RW2
`JpgFromRaw` or `PreviewImage`, DNG a JPEG-compressed preview IFD), exiftool already reads them
all, and it is what the camera showed, white balance applied; decoding sensor data would need
a RAW library per format and seconds per photo. The preview is often stored unrotated with no
orientation of its own: the RAW's orientation is given to it so faces are detected upright.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from tagmyphotos.errors import TagMyPhotosError
from tagmyphotos.jpeg import is_jpeg
from tagmyphotos.metadata.exiftool import ExifToolSession, path_arg

# Tags that hold an embedded JPEG, the largest wins (JpgFromRaw is full size where present).
PREVIEW_TAGS = ("JpgFromRaw", "PreviewImage", "OtherImage")


class RawPreviewError(TagMyPhotosError):
    """No usable embedded JPEG; `str()` is a sentence for the photo's error column."""


@dataclass(frozen=True)
class RawPreview:
    """An embedded JPEG written to a file of its own, oriented like the RAW."""

    path: Path
    tag: str  # which tag it came from
    bytes: int


def extract_preview(
    session: ExifToolSession, raw: Path, folder: Path, orientation: int, stored: tuple[int, int]
) -> RawPreview:
    """Write the largest embedded JPEG of `raw` into `folder` (emptied first) and give it the
    RAW's `orientation` when it has none of its own and is stored like the sensor data (of
    `stored` width, height); raises RawPreviewError."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    pattern = str(folder.resolve() / "%t.%s")
    session.run(["-b", "-W", pattern, *(f"-{t}" for t in PREVIEW_TAGS), path_arg(raw)])
    found = sorted(
        (p for p in folder.iterdir() if p.is_file() and is_jpeg(p)), key=lambda p: p.stat().st_size, reverse=True
    )
    if not found:
        raise RawPreviewError(
            f"{raw.name}: exiftool finds no embedded JPEG preview (JpgFromRaw, PreviewImage) in this RAW "
            "file; put a JPEG of the same name beside it to have its faces found"
        )
    best = found[0]
    if orientation != 1 and _needs_orientation(session, best, stored):
        session.run(["-n", f"-Orientation={orientation}", "-overwrite_original", path_arg(best)])
    return RawPreview(best, best.stem, best.stat().st_size)


def _needs_orientation(session: ExifToolSession, jpeg: Path, stored: tuple[int, int]) -> bool:
    """No orientation of its own, and not already turned upright (portrait vs landscape)."""
    entries, _ = session.read_json(["-n", "-Orientation", "-ImageWidth", "-ImageHeight", path_arg(jpeg)])
    entry = entries[0] if entries else {}
    if entry.get("Orientation") is not None:
        return False
    width, height = int(entry.get("ImageWidth") or 0), int(entry.get("ImageHeight") or 0)
    if not (width and height and stored[0] and stored[1]) or width == height or stored[0] == stored[1]:
        return True
    return (width > height) == (stored[0] > stored[1])
