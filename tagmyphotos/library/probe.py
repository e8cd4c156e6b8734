"""Read a new or changed file once: its content hash and header (format, size, orientation).

Why apart from the scan: the scan decides which files to read (most are unchanged and cost a
stat); this module says what one file is, by content, not by extension (a WebP named .jpg is a
WebP), and refuses an unusable one with a sentence for the user (truncated, empty, not an
image, unreadable). The write stage probes a file again after writing it.

A truncated JPEG (an interrupted copy) is told by its structure: no end-of-image marker after
the start of its image data (tagmyphotos.jpeg). A reduced decode proved it before, at ~12 CPU
ms per photo most of a first scan's time; it remains the proof only where the marker is not
near the end (a long trailer, such as a motion photo's video).
"""

from __future__ import annotations

from dataclasses import dataclass

import xxhash
from PIL import Image, UnidentifiedImageError

from tagmyphotos.errors import TagMyPhotosError
from tagmyphotos.geometry import exif_orientation
from tagmyphotos.jpeg import EOI, MalformedJpeg, image_data_offset
from tagmyphotos.tuning import HASH_CHUNK_BYTES

try:  # HEIC/HEIF headers
    from pillow_heif import register_heif_opener

    register_heif_opener()
    HEIF_SUPPORT = True
except ImportError:  # pragma: no cover - optional at run time
    HEIF_SUPPORT = False


class FileProblem(TagMyPhotosError):
    """A file we can't use, with a message for the user."""


@dataclass(frozen=True)
class Probe:
    hash: str
    format: str | None
    width: int | None
    height: int | None
    orientation: int


_MAGIC: list[tuple[bytes, int, str]] = [
    (b"\xff\xd8\xff", 0, "JPEG"),
    (b"\x89PNG\r\n\x1a\n", 0, "PNG"),
    (b"II*\x00", 0, "TIFF"),
    (b"MM\x00*", 0, "TIFF"),
    (b"WEBP", 8, "WEBP"),
    (b"GIF8", 0, "GIF"),
]
_HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"heim", b"heis", b"mif1", b"msf1", b"avif", b"avis"}


def sniff_format(head: bytes) -> str | None:
    """The image format by content, not by extension (a WebP named .jpg is a WebP)."""
    for magic, offset, name in _MAGIC:
        if head[offset : offset + len(magic)] == magic:
            return name
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in _HEIF_BRANDS:
            return "AVIF" if brand in (b"avif", b"avis") else "HEIF"
        if brand == b"crx ":
            return "CR3"
    return None


# A JPEG's end-of-image marker is looked for in at least this many last bytes (the whole last
# chunk read, up to HASH_CHUNK_BYTES); a longer trailer after it (a phone's motion-photo video)
# leaves the proof to a reduced decode.
_TAIL_BYTES = 64 << 10


def _jpeg_ends(abspath: str, size: int, tail: bytes) -> bool:
    """Whether a JPEG's image data provably ends: an end-of-image marker after the start of its
    image data (there it can only be the real end: tagmyphotos.jpeg). False also when that
    cannot be told cheaply; the caller then decodes."""
    last = tail.rfind(EOI)
    if last < 0:
        return False
    try:
        return size - len(tail) + last >= image_data_offset(abspath)
    except (OSError, MalformedJpeg):
        return False


def probe_file(abspath: str, kind: str) -> Probe:
    """Hash the whole file and read its header; raise FileProblem for unusable files."""
    hasher = xxhash.xxh3_128()
    head = b""
    tail = b""  # the last bytes read (at least _TAIL_BYTES of them when the file has them)
    size = 0
    try:
        with open(abspath, "rb") as fh:
            while chunk := fh.read(HASH_CHUNK_BYTES):
                if not head:
                    head = chunk[:64]
                hasher.update(chunk)
                size += len(chunk)
                tail = chunk if len(chunk) >= _TAIL_BYTES else (tail + chunk)[-_TAIL_BYTES:]
    except PermissionError as exc:
        raise FileProblem("permission denied: the file cannot be read") from exc
    except OSError as exc:
        raise FileProblem(f"cannot read the file: {exc.strerror}") from exc
    if not head:
        raise FileProblem("empty file (0 bytes)")
    digest = hasher.hexdigest()
    fmt = sniff_format(head)
    if kind == "raw":
        return Probe(digest, fmt or "RAW", None, None, 1)
    if fmt is None:
        raise FileProblem("not an image: the content matches no supported image format")
    if fmt == "PNG" and b"IEND" not in tail[-64:]:
        raise FileProblem("truncated PNG: the end of the image is missing")
    try:
        with Image.open(abspath) as im:
            width, height = im.size
            orientation = exif_orientation(im)
            if fmt == "JPEG" and not _jpeg_ends(abspath, size, tail):
                # A reduced decode reads every entropy-coded byte: a truncated JPEG fails here.
                im.draft("RGB", (max(1, width // 8), max(1, height // 8)))
                im.load()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        if fmt == "HEIF" and not HEIF_SUPPORT:
            raise FileProblem(
                "HEIF/HEIC photo, but HEIC support (the pillow-heif package) is not installed; "
                "it is read again on the next scan"
            ) from exc
        raise FileProblem(f"broken {fmt} image: {exc}") from exc
    except Image.DecompressionBombError as exc:
        raise FileProblem(f"image too large to be safe: {exc}") from exc
    if orientation not in range(1, 9):
        orientation = 1
    return Probe(digest, fmt, width, height, orientation)
