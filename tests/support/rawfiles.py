"""Small RAW files for tests, made from a test photo: no camera RAW sample is reachable here.

`make_dng` writes a real DNG 1.4 (TIFF structure, as Adobe's converter lays it out): IFD0 a
small uncompressed RGB thumbnail carrying the DNG tags, Make/Model and Orientation; SubIFD 1
the sensor data at full size: an 8-bit RGGB Bayer mosaic sampled from the photo, with a
LinearizationTable that maps its sRGB values back to linear light (as 8-bit DNGs do), so that
LibRaw decodes it to the photo; SubIFD 2 (unless `preview_max` is None) a JPEG preview of the
photo at a smaller size (NewSubFileType 1), which exiftool reports as PreviewImage. The stored
pixels are the photo turned back by the requested EXIF orientation, as a camera stores them.
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

# EXIF orientation -> PIL transpose that turns the displayed photo into the stored pixels.
_STORE = {1: None, 3: Image.Transpose.ROTATE_180, 6: Image.Transpose.ROTATE_90, 8: Image.Transpose.ROTATE_270}
_SHORT, _LONG, _ASCII, _BYTE, _RATIONAL = 3, 4, 2, 1, 5
# sRGB byte -> linear 16-bit light: the DNG's LinearizationTable (LibRaw applies it to the mosaic)
_LINEAR = [round(65535 * ((v / 255 / 12.92) if v <= 10 else ((v / 255 + 0.055) / 1.055) ** 2.4)) for v in range(256)]


@dataclass(frozen=True)
class DngInfo:
    path: Path
    raw_size: tuple[int, int]  # stored sensor pixels (width, height)
    preview_size: tuple[int, int]  # stored preview pixels
    orientation: int


def _entry(tag: int, typ: int, values: list[int] | bytes) -> tuple[int, int, bytes, int]:
    if typ == _ASCII:
        data = bytes(values) + b"\0"
        return tag, typ, data, len(data)
    if typ == _BYTE:
        data = bytes(values)
        return tag, typ, data, len(data)
    if typ == _RATIONAL:  # given as numerator, denominator pairs
        data = b"".join(struct.pack("<I", v) for v in values)  # type: ignore[union-attr]
        return tag, typ, data, len(values) // 2
    fmt = "<H" if typ == _SHORT else "<I"
    data = b"".join(struct.pack(fmt, v) for v in values)  # type: ignore[union-attr]
    return tag, typ, data, len(values)


def _ifd(entries: list[tuple[int, int, bytes, int]], offset: int) -> bytes:
    """One IFD at `offset`, its out-of-line values right after it; no next IFD."""
    entries = sorted(entries)
    head = 2 + 12 * len(entries) + 4
    extra = bytearray()
    body = bytearray(struct.pack("<H", len(entries)))
    for tag, typ, data, count in entries:
        if len(data) <= 4:
            body += struct.pack("<HHI", tag, typ, count) + data.ljust(4, b"\0")
        else:
            body += struct.pack("<HHII", tag, typ, count, offset + head + len(extra))
            extra += data + (b"\0" if len(data) % 2 else b"")
    return bytes(body + b"\0\0\0\0" + extra)


def bayer_mosaic(rgb: Image.Image) -> bytes:
    """The RGGB sensor of `rgb`: one byte per photosite, the colour its filter lets through."""
    a = np.asarray(rgb)
    mosaic = a[:, :, 1].copy()  # green on the two diagonal sites
    mosaic[0::2, 0::2] = a[0::2, 0::2, 0]
    mosaic[1::2, 1::2] = a[1::2, 1::2, 2]
    return mosaic.tobytes()


def make_dng(
    photo: Path,
    dest: Path,
    orientation: int = 1,
    preview_max: int | None = 1024,
    raw_max: int | None = None,
    raw_side: int | None = None,
) -> DngInfo:
    """A DNG of `photo` (as displayed) stored in `orientation` (1, 3, 6 or 8); no JPEG preview
    with `preview_max=None`; `raw_side` scales the sensor to that long side (up or down)."""
    with Image.open(photo) as im:
        shown = im.convert("RGB")
    transpose = _STORE[orientation]
    stored = shown.transpose(transpose) if transpose is not None else shown
    if raw_max:
        stored.thumbnail((raw_max, raw_max))
    if raw_side:
        k = raw_side / max(stored.size)
        stored = stored.resize((round(stored.width * k), round(stored.height * k)), Image.Resampling.BILINEAR)
    raw_w, raw_h = stored.size
    preview = stored.copy()
    preview.thumbnail((preview_max or 1, preview_max or 1))
    buf = io.BytesIO()
    preview.save(buf, "JPEG", quality=88)
    jpeg = buf.getvalue() if preview_max else b""
    thumb = stored.copy()
    thumb.thumbnail((160, 160))
    thumb_rgb = thumb.tobytes()
    grey = bayer_mosaic(stored)  # the "sensor": one byte per photosite
    del stored

    out = bytearray(b"II*\0\0\0\0\0")
    strips = {}
    for name, blob in (("thumb", thumb_rgb), ("raw", grey), ("jpeg", jpeg)):
        strips[name] = len(out)
        out += blob + (b"\0" if len(blob) % 2 else b"")
    raw_ifd_at = len(out)
    raw_ifd = _ifd(
        [
            _entry(254, _LONG, [0]),
            _entry(256, _LONG, [raw_w]),
            _entry(257, _LONG, [raw_h]),
            _entry(258, _SHORT, [8]),
            _entry(259, _SHORT, [1]),
            _entry(262, _SHORT, [32803]),  # CFA
            _entry(273, _LONG, [strips["raw"]]),
            _entry(277, _SHORT, [1]),
            _entry(278, _LONG, [raw_h]),
            _entry(279, _LONG, [len(grey)]),
            _entry(33421, _SHORT, [2, 2]),  # CFARepeatPatternDim
            _entry(33422, _BYTE, [0, 1, 1, 2]),  # CFAPattern RGGB
            _entry(50712, _SHORT, _LINEAR),  # LinearizationTable
            _entry(50717, _LONG, [65535]),  # WhiteLevel (after linearization)
        ],
        raw_ifd_at,
    )
    out += raw_ifd
    jpeg_ifd_at = len(out)
    jpeg_ifd = _ifd(
        [
            _entry(254, _LONG, [1]),
            _entry(256, _LONG, [preview.width]),
            _entry(257, _LONG, [preview.height]),
            _entry(258, _SHORT, [8, 8, 8]),
            _entry(259, _SHORT, [7]),  # JPEG
            _entry(262, _SHORT, [6]),  # YCbCr
            _entry(273, _LONG, [strips["jpeg"]]),
            _entry(277, _SHORT, [3]),
            _entry(278, _LONG, [preview.height]),
            _entry(279, _LONG, [len(jpeg)]),
        ],
        jpeg_ifd_at,
    )
    if jpeg:
        out += jpeg_ifd
    ifd0_at = len(out)
    out += _ifd(
        [
            _entry(254, _LONG, [1]),
            _entry(256, _LONG, [thumb.width]),
            _entry(257, _LONG, [thumb.height]),
            _entry(258, _SHORT, [8, 8, 8]),
            _entry(259, _SHORT, [1]),
            _entry(262, _SHORT, [2]),
            _entry(271, _ASCII, list(b"TestCam")),
            _entry(272, _ASCII, list(b"DNG Maker 1")),
            _entry(273, _LONG, [strips["thumb"]]),
            _entry(274, _SHORT, [orientation]),
            _entry(277, _SHORT, [3]),
            _entry(278, _LONG, [thumb.height]),
            _entry(279, _LONG, [len(thumb_rgb)]),
            _entry(330, _LONG, [raw_ifd_at, jpeg_ifd_at] if jpeg else [raw_ifd_at]),  # SubIFDs
            _entry(50706, _BYTE, [1, 4, 0, 0]),  # DNGVersion
            _entry(50707, _BYTE, [1, 1, 0, 0]),  # DNGBackwardVersion
            _entry(50708, _ASCII, list(b"TestCam DNG Maker 1")),  # UniqueCameraModel
            _entry(50728, _RATIONAL, [1, 1, 1, 1, 1, 1]),  # AsShotNeutral: the mosaic is white-balanced
        ],
        ifd0_at,
    )
    struct.pack_into("<I", out, 4, ifd0_at)
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_bytes(bytes(out))
    return DngInfo(dest, (raw_w, raw_h), preview.size if jpeg else (0, 0), orientation)


def make_cr2(photo: Path, dest: Path, orientation: int = 1, preview_max: int = 1024) -> DngInfo:
    """A Canon CR2-style file: the TIFF header with "CR" 2.0 and the RAW IFD offset, IFD0 the
    full JPEG (old-style JPEG strips, as Canon writes it) with Make, Orientation and an EXIF
    IFD giving the sensor's pixel size; IFD3 the (here uncompressed) sensor data."""
    with Image.open(photo) as im:
        shown = im.convert("RGB")
    transpose = _STORE[orientation]
    stored = shown.transpose(transpose) if transpose is not None else shown
    preview = stored.copy()
    preview.thumbnail((preview_max, preview_max))
    buf = io.BytesIO()
    preview.save(buf, "JPEG", quality=88)
    jpeg = buf.getvalue()
    out = bytearray(b"II*\0\0\0\0\0CR\x02\0\0\0\0\0")
    jpeg_at = len(out)
    out += jpeg + (b"\0" if len(jpeg) % 2 else b"")
    exif_at = len(out)
    out += _ifd([_entry(40962, _LONG, [stored.width]), _entry(40963, _LONG, [stored.height])], exif_at)
    ifd0_at = len(out)
    out += _ifd(
        [
            _entry(256, _LONG, [preview.width]),
            _entry(257, _LONG, [preview.height]),
            _entry(259, _SHORT, [6]),  # old-style JPEG
            _entry(271, _ASCII, list(b"Canon")),
            _entry(272, _ASCII, list(b"Canon EOS Test")),
            _entry(273, _LONG, [jpeg_at]),
            _entry(274, _SHORT, [orientation]),
            _entry(279, _LONG, [len(jpeg)]),
            _entry(34665, _LONG, [exif_at]),  # ExifIFD
        ],
        ifd0_at,
    )
    struct.pack_into("<I", out, 4, ifd0_at)
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_bytes(bytes(out))
    return DngInfo(dest, stored.size, preview.size, orientation)
