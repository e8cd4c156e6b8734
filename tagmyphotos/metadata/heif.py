"""The frame a HEIC/HEIF/AVIF photo is shown in, from what exiftool reads in its container.

Why: a HEIF file stores the coded picture (its `ispe` size, which exiftool reports as
ImageSize) and then transformations every viewer applies, in this order: `clap`, a
clean-aperture crop (HEVC encoders pad to even or block sizes: a 4352x2903 photo is coded as
4352x2904 and cropped back), `irot`, a rotation by quarter turns, and `imir`, a mirror. The EXIF
Orientation inside a HEIF is informative only (libheif, Apple's Photos and pillow-heif ignore
it). The analysis decodes the photo as shown (pillow-heif applies all three; Pillow's AVIF
plugin reports irot/imir as the orientation it then applies), so its sizes and face boxes are in
the shown frame, and the write check, the regions and AppliedToDimensions must use that frame
too: with the coded size a padded photo was refused ("the photo is 4352x2904 now, (4352, 2903)
at analysis"), and with the EXIF orientation its regions would be turned twice.

So for these formats the metadata reader reports the shown size (the crop, turned by irot) and
orientation 1: regions are read and written relative to the picture as displayed.
"""

from __future__ import annotations

from typing import Any

# exiftool's FileType of the formats whose geometry lives in the container
HEIF_TYPES = frozenset({"HEIC", "HEIF", "AVIF"})
# what the reader asks exiftool for (with -n -G1: "641 427 -0.5 -0.5", quarter turns 0..3)
FRAME_TAGS = ("-QuickTime:CleanAperture", "-QuickTime:Rotation")


def shown_size(file_type: str, entry: dict[str, Any], width: int, height: int) -> tuple[int, int] | None:
    """The displayed (width, height) of a HEIF-family photo whose coded size is width x height,
    or None for other formats (their EXIF orientation applies as usual)."""
    if file_type.upper() not in HEIF_TYPES:
        return None
    w, h = width, height
    crop = str(entry.get("QuickTime:CleanAperture") or "").split()
    try:
        cw, ch = (round(float(v)) for v in crop[:2])
    except ValueError:
        cw = ch = 0
    if len(crop) >= 2 and 0 < cw <= (w or cw) and 0 < ch <= (h or ch):
        w, h = cw, ch
    try:
        quarter_turns = int(entry.get("QuickTime:Rotation") or 0)
    except (TypeError, ValueError):
        quarter_turns = 0
    return (h, w) if quarter_turns % 2 else (w, h)
