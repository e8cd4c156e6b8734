"""What a JPEG is, by content, and the digest of its image data (everything but metadata).

Why apart from the exiftool read: a metadata write must leave the image data untouched, and
checking that is ours, not exiftool's (its ImageDataHash scans the entropy-coded data in Perl,
~40 ms for a 2 MB photo, twice per write). The read (metadata/read.py) and the RAW helpers
(metadata/raw.py) both ask whether a file is a JPEG.
"""

from __future__ import annotations

from pathlib import Path

import xxhash

_JPEG_MAGIC = b"\xff\xd8\xff"
_DIGEST_CHUNK = 1 << 20


def is_jpeg(path: Path) -> bool:
    try:
        with open(path, "rb") as f:
            return f.read(3) == _JPEG_MAGIC
    except OSError:
        return False


def jpeg_image_digest(path: Path) -> str:
    """XXH3-128 of everything in a JPEG except its metadata segments (APPn, COM): the tables,
    frame header, entropy-coded data and any trailer. A metadata write must leave it unchanged.

    Why not exiftool's ImageDataHash for JPEG: it scans the entropy-coded data in Perl (~40 ms
    for a 2 MB photo, twice per write); this is far faster and covers more bytes (DQT, DHT,
    SOF too). Why XXH3 and not SHA-256: it guards against accidental change (a tool rewriting
    the image), not forgery; it is 30x faster (0.007 vs 0.25 CPU ms for 356 KB) and is never
    stored: both sides of every comparison are computed fresh (verify_written, recheck).
    Returns "" when the file is not a well-formed JPEG up to its first scan or has no
    end-of-image marker after it (truncated: a damaged photo we refuse to write).
    """
    h = xxhash.xxh3_128()
    try:
        with open(path, "rb") as f:
            if f.read(2) != b"\xff\xd8":
                return ""
            while True:
                head = f.read(2)
                while head[:1] == b"\xff" and head[1:2] == b"\xff":  # fill bytes
                    head = head[1:] + f.read(1)
                if len(head) < 2 or head[0] != 0xFF:
                    return ""
                marker = head[1]
                if marker == 0x01 or 0xD0 <= marker <= 0xD8:  # stand-alone markers
                    h.update(head)
                    continue
                if marker == 0xD9:  # EOI before any scan: no image
                    return ""
                length_bytes = f.read(2)
                length = int.from_bytes(length_bytes, "big")
                if len(length_bytes) < 2 or length < 2:
                    return ""
                if marker == 0xDA:  # first scan: from here to the end is image data
                    h.update(head + length_bytes)
                    tail, ended = b"", False
                    while chunk := f.read(_DIGEST_CHUNK):
                        h.update(chunk)
                        # EOI (never inside scan data), maybe split between two chunks
                        ended = ended or b"\xff\xd9" in chunk or tail + chunk[:1] == b"\xff\xd9"
                        tail = chunk[-1:]
                    return "jpeg-xxh3:" + h.hexdigest() if ended else ""
                body = f.read(length - 2)
                if len(body) < length - 2:
                    return ""
                if not (0xE0 <= marker <= 0xEF or marker == 0xFE):  # keep all but APPn and COM
                    h.update(head + length_bytes + body)
    except OSError:
        return ""
