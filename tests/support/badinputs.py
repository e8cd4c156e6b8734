"""The hostile-input corpus: files a real photo library contains that no camera should make.

`build_corpus(library, source)` writes every case into `library` (cheaply: the 50k x 50k PNG
"bomb" is a 100-byte header with a tiny IDAT) and returns what each case must become after the
real scan and analyze stages. Derived images are made from `source` (a one-face photo), so a
case expected to be handled must also still show its face: "handled" means analysed right,
not merely "did not crash".

Run `python -m tests.badinputs DIR` to write the corpus into DIR and list it.
"""

from __future__ import annotations

import argparse
import io
import os
import stat
import struct
import sys
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from tests.support.base import ROOT

SHARED = Path(os.environ.get("TMP_SHARED_DIR", ROOT.parent / "shared"))
SOURCE = SHARED / "testdata" / "faces" / "img1.jpg"  # one clear face
HEIC = SHARED / "testdata" / "real" / "IMG_2682.heic"
AVIF = SHARED / "testdata" / "real" / "8bit-sRGB.avif"

# What a case must end as after scan + analyze:
DONE = "done"  # a Photo row in state done (with >= `faces` faces)
ERROR = "error"  # a Photo row in state error/failed with a readable last_error
WALK_ERROR = "walk_error"  # no Photo row; the scan job logged an error event for the path
IGNORED = "ignored"  # no Photo row and no error (not a photo, or a link out of the library)
DONE_OR_ERROR = "done_or_error"  # depends on the codec build (AVIF)

# Long side of the derived images: big enough for the face, small enough to analyse fast.
DERIVED_SIDE = 800


@dataclass(frozen=True)
class BadInput:
    rel: str  # library-relative path as the app stores/shows it ('\\xNN' for undecodable bytes)
    what: str
    expect: str
    faces: int = 0  # DONE: at least this many faces must be found
    hint: str = ""  # ERROR/WALK_ERROR: a word the message must contain (case-insensitive)
    root_only: bool = False  # needs root (device nodes)


def _base(source: Path) -> Image.Image:
    im = Image.open(source).convert("RGB")
    im.thumbnail((DERIVED_SIDE, DERIVED_SIDE), Image.Resampling.LANCZOS)
    return im


def _jpeg(im: Image.Image, **kw: object) -> bytes:
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=90, **kw)
    return buf.getvalue()


def _encode(im: Image.Image, fmt: str, **kw: object) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **kw)
    return buf.getvalue()


# --- hand-made binary structures ------------------------------------------------------------
def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bomb(width: int = 50_000, height: int = 50_000) -> bytes:
    """A PNG whose header claims width x height RGB pixels, with a few hundred bytes of IDAT."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\0" * 4096, 9)
    sig = b"\x89PNG\r\n\x1a\n"
    return sig + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", idat) + _png_chunk(b"IEND", b"")


def png_rgb16(im: Image.Image) -> bytes:
    """A 16-bit-per-channel RGB PNG (Pillow cannot write one), values spread over 0..65535."""
    a = np.asarray(im, dtype=np.uint16) * 257
    h, w, _ = a.shape
    rows = b"".join(b"\0" + a[y].astype(">u2").tobytes() for y in range(h))
    ihdr = struct.pack(">IIBBBBB", w, h, 16, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", zlib.compress(rows, 6))
        + (_png_chunk(b"IEND", b""))
    )


def png_with_exif(im: Image.Image, exif_tiff: bytes) -> bytes:
    """A PNG with an eXIf chunk (any size: PNG chunks are not limited to 64 KB like JPEG's)."""
    raw = _encode(im, "PNG")
    at = raw.index(b"IDAT") - 4
    return raw[:at] + _png_chunk(b"eXIf", exif_tiff) + raw[at:]


def tiff_ifd(entries: list[tuple[int, int, int, bytes]], declared: int | None = None) -> bytes:
    """A little-endian TIFF header + one IFD; entries are (tag, type, count, value bytes).

    Values longer than 4 bytes go after the IFD; `declared` overrides the entry count (to
    claim more entries than there are).
    """
    n = len(entries)
    data_at = 8 + 2 + 12 * n + 4
    head, tail = b"", b""
    for tag, typ, count, value in entries:
        if len(value) <= 4:
            head += struct.pack("<HHI", tag, typ, count) + value.ljust(4, b"\0")
        else:
            head += struct.pack("<HHII", tag, typ, count, data_at + len(tail))
            tail += value + (b"\0" if len(value) % 2 else b"")
    count = n if declared is None else declared
    return b"II*\0" + struct.pack("<IH", 8, count) + head + struct.pack("<I", 0) + tail


SHORT, ASCII, RATIONAL, UNDEFINED, SSHORT = 3, 2, 5, 7, 8
ORIENTATION = 0x0112


def jpeg_with_app(jpeg: bytes, segments: list[tuple[int, bytes]]) -> bytes:
    """Insert APPn segments (marker number, payload) right after SOI."""
    out = b""
    for n, payload in segments:
        out += bytes([0xFF, 0xE0 + n]) + struct.pack(">H", len(payload) + 2) + payload
    return jpeg[:2] + out + jpeg[2:]


def exif_segment(tiff: bytes) -> tuple[int, bytes]:
    return 1, b"Exif\0\0" + tiff


def xmp_segment(xml: str | bytes) -> tuple[int, bytes]:
    body = xml.encode("utf-8") if isinstance(xml, str) else xml
    return 1, b"http://ns.adobe.com/xap/1.0/\0" + body


def jpeg_dimensions(jpeg: bytes, width: int, height: int) -> bytes:
    """Patch the SOF header to claim another size (the entropy data stays the small image's)."""
    i = 2
    while i < len(jpeg):
        marker = jpeg[i + 1]
        length = struct.unpack(">H", jpeg[i + 2 : i + 4])[0]
        if marker in (0xC0, 0xC1, 0xC2):
            return jpeg[: i + 5] + struct.pack(">HH", height, width) + jpeg[i + 9 :]
        i += 2 + length
    raise ValueError("no SOF marker")


BAD_XMP = '<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF><unclosed'
ABSURD_REGIONS = """<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF
 xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description
 xmlns:mwg-rs="http://www.metadataworkinggroup.com/schemas/regions/"
 xmlns:stArea="http://ns.adobe.com/xmp/sType/Area#" xmlns:stDim="http://ns.adobe.com/xap/1.0/sType/Dimensions#">
 <mwg-rs:Regions rdf:parseType="Resource"><mwg-rs:AppliedToDimensions stDim:w="-1" stDim:h="0" stDim:unit="pixel"/>
 <mwg-rs:RegionList><rdf:Bag><rdf:li rdf:parseType="Resource"><mwg-rs:Name>&#x0;Nobody</mwg-rs:Name>
 <mwg-rs:Type>Face</mwg-rs:Type><mwg-rs:Area stArea:x="NaN" stArea:y="1e308" stArea:w="-5" stArea:h="inf"
 stArea:unit="normalized"/></rdf:li></rdf:Bag></mwg-rs:RegionList></mwg-rs:Regions>
 </rdf:Description></rdf:RDF></x:xmpmeta>"""


def _palette(im: Image.Image, colors: int = 256) -> Image.Image:
    return im.quantize(colors, method=Image.Quantize.FASTOCTREE)  # median cut takes seconds


def _animated(im: Image.Image, fmt: str) -> bytes:
    frames = [im, im.rotate(90, expand=False), Image.new("RGB", im.size, (30, 60, 90))]
    if fmt == "GIF":
        frames = [_palette(f) for f in frames]
    buf = io.BytesIO()
    frames[0].save(buf, fmt, save_all=True, append_images=frames[1:], duration=200, loop=0)
    return buf.getvalue()


def _write(root: Path, rel: str, data: bytes) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def _deep_dirs(root: Path, first: str, levels: int, name_len: int) -> Path:
    """Make `levels` nested folders under root/first with relative mkdirs (the absolute path
    may pass PATH_MAX, which plain os.makedirs cannot create); returns nothing usable past
    PATH_MAX, so the caller writes files with dir_fd too."""
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    try:
        name = first
        for level in range(levels):
            os.mkdir(name, dir_fd=fd)
            new = os.open(name, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = new
            name = f"{level:02d}" + "d" * (name_len - 2)
        with os.fdopen(os.open("deepest.jpg", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd), "wb") as fh:
            fh.write(b"\xff\xd8\xff unreachable")
    finally:
        os.close(fd)
    return root / first


def build_corpus(root: Path, source: Path = SOURCE) -> list[BadInput]:
    """Write every case under `root` (a library folder) and return the expectations."""
    root.mkdir(parents=True, exist_ok=True)
    im = _base(source)
    jpeg = _jpeg(im)
    cases: list[BadInput] = []

    def add(rel: str, data: bytes | Callable[[Path], None], what: str, expect: str, **kw: object) -> None:
        if callable(data):
            data(root / rel)
        else:
            _write(root, rel, data)
        cases.append(BadInput(rel, what, expect, **kw))  # type: ignore[arg-type]

    # broken files
    add("broken/zero.jpg", b"", "zero-byte file", ERROR, hint="empty")
    add("broken/truncated.jpg", jpeg[: len(jpeg) // 2], "JPEG cut in half", ERROR, hint="jpeg")
    add("broken/truncated.png", _encode(im, "PNG")[:5000], "PNG cut short", ERROR, hint="png")
    rng = np.random.default_rng(10)
    for ext in ("jpg", "png", "heic", "webp", "tif"):
        add(f"broken/random.{ext}", rng.bytes(20_000), f"random bytes named .{ext}", ERROR, hint="image")
    add("broken/jpeg-magic-then-noise.jpg", b"\xff\xd8\xff\xe0" + rng.bytes(20_000), "JPEG magic, noise",
        ERROR, hint="jpeg")  # fmt: skip
    add("broken/text.jpg", b"<html>not a photo</html>\n" * 50, "an HTML page named .jpg", ERROR, hint="image")
    # decompression bombs: headers that claim billions of pixels
    add("bombs/50k-by-50k.png", png_bomb(), "PNG header claiming 50000x50000 (2.5 Gpx)", ERROR, hint="large")
    add("bombs/65k-jpeg.jpg", jpeg_dimensions(jpeg, 65_000, 65_000), "JPEG SOF claiming 65000x65000",
        ERROR, hint="large")  # fmt: skip
    gif_bomb = b"GIF89a" + struct.pack("<HH", 65_535, 65_535) + b"\x00\x00\x00" + b",\0\0\0\0\1\0\1\0\0\2\2D\1\0;"
    add("bombs/65k-gif.jpg", gif_bomb, "GIF screen 65535x65535 named .jpg", ERROR, hint="large")
    # pixel formats: each must still show its face
    grey16 = Image.fromarray(np.asarray(im.convert("L"), dtype=np.uint16) * 257)
    rgba = im.convert("RGBA")
    rgba.putalpha(Image.linear_gradient("L").resize(im.size).point(lambda v: 80 + v // 2))
    for rel, data, what in (
        ("formats/cmyk.jpg", _jpeg(im.convert("CMYK")), "CMYK JPEG"),
        ("formats/cmyk.tif", _encode(im.convert("CMYK"), "TIFF"), "CMYK TIFF"),
        ("formats/grey.jpg", _jpeg(im.convert("L")), "greyscale JPEG"),
        ("formats/grey16.png", _encode(grey16, "PNG"), "16-bit greyscale PNG"),
        ("formats/rgb16.png", png_rgb16(im), "16-bit RGB PNG (48 bpp)"),
        ("formats/grey16.tif", _encode(grey16, "TIFF"), "16-bit greyscale TIFF"),
        ("formats/float.tif", _encode(im.convert("F"), "TIFF"), "32-bit float TIFF"),
        ("formats/rgba.png", _encode(rgba, "PNG"), "RGBA PNG, partly transparent"),
        ("formats/la.png", _encode(rgba.convert("LA"), "PNG"), "grey + alpha PNG"),
        ("formats/palette.png", _encode(_palette(im), "PNG"), "palette PNG"),
        ("formats/palette-transparent.png",
         _encode(_palette(im, 255), "PNG", transparency=0), "palette PNG with a transparent index"),
        ("formats/anim.webp", _animated(im, "WEBP"), "animated WebP (face in frame 1)"),
        ("formats/anim-gif.jpg", _animated(im, "GIF"), "animated GIF named .jpg"),
        ("formats/webp-named.png", _encode(im, "WEBP"), "a WebP named .png"),
    ):  # fmt: skip
        add(rel, data, what, DONE, faces=1)
    add("formats/one-bit.png", _encode(im.convert("1"), "PNG"), "1-bit PNG", DONE)
    add("formats/anim.gif", _animated(im, "GIF"), "animated .gif (not a scanned extension)", IGNORED)
    if HEIC.exists():
        add("formats/iphone.heic", HEIC.read_bytes(), "12 MP iPhone HEIC", DONE)
    if AVIF.exists():
        add("formats/photo.avif.heic", AVIF.read_bytes(), "AVIF named .heic", DONE_OR_ERROR, hint="avif")
    # EXIF: impossible orientations and huge blocks; the photo must survive its metadata
    for name, entry in (
        ("orientation-0", (ORIENTATION, SHORT, 1, struct.pack("<H", 0))),
        ("orientation-9", (ORIENTATION, SHORT, 1, struct.pack("<H", 9))),
        ("orientation-65535", (ORIENTATION, SHORT, 1, struct.pack("<H", 65535))),
        ("orientation-negative", (ORIENTATION, SSHORT, 1, struct.pack("<h", -3))),
        ("orientation-text", (ORIENTATION, ASCII, 4, b"six\0")),
        ("orientation-two-values", (ORIENTATION, SHORT, 2, struct.pack("<HH", 1, 8))),
        ("orientation-rational", (ORIENTATION, RATIONAL, 1, struct.pack("<II", 3, 2))),
        ("orientation-no-values", (ORIENTATION, SHORT, 0, b"")),
    ):
        add(f"exif/{name}.jpg", jpeg_with_app(jpeg, [exif_segment(tiff_ifd([entry]))]),
            f"EXIF {name.replace('-', ' ')}", DONE, faces=1)  # fmt: skip
    note = (0x927C, UNDEFINED, 65_000, rng.bytes(65_000))  # MakerNote filling a whole APP1
    add("exif/max-app1.jpg", jpeg_with_app(jpeg, [exif_segment(tiff_ifd([note]))]), "64 KB EXIF block",
        DONE, faces=1)  # fmt: skip
    icc = [(2, b"ICC_PROFILE\0" + bytes([i + 1, 120]) + rng.bytes(65_000)) for i in range(120)]
    add("exif/8mb-of-app-segments.jpg", jpeg_with_app(jpeg, icc), "120 x 64 KB APP2 segments (7.8 MB)",
        DONE, faces=1)  # fmt: skip
    add("exif/claims-65535-entries.jpg",
        jpeg_with_app(jpeg, [exif_segment(tiff_ifd([(ORIENTATION, SHORT, 1, b"\1\0")], declared=65535))]),
        "EXIF IFD claiming 65535 entries", DONE, faces=1)  # fmt: skip
    loop = b"II*\0" + struct.pack("<IH", 8, 0) + struct.pack("<I", 8)  # next IFD = itself
    add("exif/ifd-loop.jpg", jpeg_with_app(jpeg, [exif_segment(loop)]), "EXIF IFD chain looping",
        DONE, faces=1)  # fmt: skip
    big = tiff_ifd([(0x9286, UNDEFINED, 4_000_000, rng.bytes(4_000_000))])
    add("exif/4mb-exif.png", png_with_exif(im, big), "PNG with a 4 MB eXIf chunk", DONE, faces=1)
    # XMP that is broken, or well-formed but absurd
    add("xmp/unclosed.jpg", jpeg_with_app(jpeg, [xmp_segment(BAD_XMP)]), "unterminated XMP", DONE, faces=1)
    add("xmp/absurd-regions.jpg", jpeg_with_app(jpeg, [xmp_segment(ABSURD_REGIONS)]),
        "XMP face regions with NaN/negative/inf areas", DONE, faces=1)  # fmt: skip
    add("xmp/binary-xmp.jpg", jpeg_with_app(jpeg, [xmp_segment(rng.bytes(30_000))]), "binary junk as XMP",
        DONE, faces=1)  # fmt: skip
    add("xmp/with-sidecar.jpg", jpeg, "a photo whose sidecar is junk", DONE, faces=1)
    _write(root, "xmp/with-sidecar.jpg.xmp", b"\0\1\2 not xml" + rng.bytes(2000))
    _write(root, "xmp/with-sidecar.xmp", BAD_XMP.encode())
    # names
    latin1 = os.path.join(os.fsencode(root), b"names", b"caf\xe9-latin1.jpg")
    os.makedirs(os.path.dirname(latin1), exist_ok=True)
    with open(latin1, "wb") as fh:
        fh.write(jpeg)
    cases.append(BadInput("names/caf\\xe9-latin1.jpg", "non-UTF-8 (Latin-1) file name", WALK_ERROR,
                          hint="utf-8"))  # fmt: skip
    add("names/" + "é" * 125 + ".jpg", jpeg, "254-byte file name", DONE, faces=1)
    add("names/new\nline and\ttab.jpg", jpeg, "control characters in the name", DONE, faces=1)
    add("names/emoji 🙂 写真.JPG", jpeg, "emoji, CJK and an upper-case extension", DONE, faces=1)
    add("names/-rf --version.jpg", jpeg, "a name that looks like command options", DONE, faces=1)
    add("names/folder.jpg/inside.jpg", jpeg, "a folder named like a photo", DONE, faces=1)
    add("/".join(f"n{i:02d}" for i in range(30)) + "/deep.jpg", jpeg, "30 folders deep", DONE, faces=1)

    def too_deep(path: Path) -> None:
        _deep_dirs(root, "toodeep", 45, 100)

    add("toodeep", too_deep, "folders nested past PATH_MAX (4.5 KB path)", WALK_ERROR, hint="too long")
    # links
    (root / "links").mkdir()
    _write(root, "links/real.jpg", jpeg)
    os.symlink(".", root / "links/loop-to-self")
    os.symlink("..", root / "links/loop-to-parent")
    for rel, target, what, expect in (
        ("links/self.jpg", "self.jpg", "a link to itself", WALK_ERROR),
        ("links/ping.jpg", "pong.jpg", "two links pointing at each other", WALK_ERROR),
        ("links/pong.jpg", "ping.jpg", "two links pointing at each other", WALK_ERROR),
        ("links/dangling.jpg", "gone.jpg", "a dangling link", WALK_ERROR),
        ("links/outside.jpg", "/etc/passwd", "a link out of the library", IGNORED),
        ("links/alias.jpg", "real.jpg", "a second name for a photo", DONE),
    ):
        os.symlink(target, root / rel)
        cases.append(BadInput(rel, what, expect, faces=1 if expect == DONE else 0))
    cases.append(BadInput("links/real.jpg", "a photo reached through link loops", DONE, faces=1))
    # files that are not regular files
    os.mkfifo(root / "links/fifo.jpg")
    cases.append(BadInput("links/fifo.jpg", "a named pipe (FIFO) named .jpg", WALK_ERROR, hint="regular"))
    if os.geteuid() == 0:
        os.mknod(root / "links/zero.jpg", 0o644 | stat.S_IFCHR, os.makedev(1, 5))
        cases.append(BadInput("links/zero.jpg", "the /dev/zero device node named .jpg", WALK_ERROR,
                              hint="regular", root_only=True))  # fmt: skip
    return cases


def good_photos(root: Path, sources: list[Path]) -> list[str]:
    """Copy real photos beside the corpus: they must all be processed despite it."""
    rels = []
    for src in sources:
        rel = f"good/{src.name}"
        _write(root, rel, src.read_bytes())
        rels.append(rel)
    return rels


def blocking_package(folder: Path, package: str, message: str) -> Path:
    """A folder to put first on PYTHONPATH so `import package` fails (also in spawned workers)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{package}.py").write_text(f"raise ImportError({message!r})\n")
    return folder


def empty_package(folder: Path, package: str) -> Path:
    """A folder to put first on PYTHONPATH that shadows `package` with an empty one."""
    (folder / package).mkdir(parents=True, exist_ok=True)
    (folder / package / "__init__.py").write_text("")
    return folder


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dest", type=Path, help="folder to write the corpus into (must not exist)")
    args = parser.parse_args(argv)
    if args.dest.exists():
        parser.error(f"{args.dest} exists")
    cases = build_corpus(args.dest)
    for case in cases:
        print(f"{case.expect:<14} {case.rel[:60]:<60} {case.what}")
    print(f"{len(cases)} cases in {args.dest}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
