"""HEIC/HEIF/AVIF geometry (issue 28): sizes and regions refer to the picture viewers show, after the
clean-aperture crop and the container's irot/imir, in the analysis, the write check and
AppliedToDimensions alike. HEICs of odd sizes are written by pillow-heif (libheif + x265), which pads
them to even sizes and stores a `clap` crop, and turns an EXIF orientation into irot/imir; the sample
iPhone HEIC and AVIFs written by Pillow (irot/imir, no padding) are checked too."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image

from tagmyphotos.core import Core
from tagmyphotos.faces.images import load_image
from tagmyphotos.geometry import NormBox
from tagmyphotos.metadata.exiftool import ExifToolSession
from tagmyphotos.metadata.read import read_photo
from tagmyphotos.store import models as m
from tests.support.base import EXIFTOOL, FACES, TESTDATA, make_config, run, scan_and_analyze

REAL = TESTDATA / "real"
pillow_heif = pytest.importorskip("pillow_heif")
pillow_heif.register_heif_opener()


T = Image.Transpose
# EXIF orientation -> the transpose that turns the displayed picture into the stored pixels
_STORE = {2: T.FLIP_LEFT_RIGHT, 3: T.ROTATE_180, 4: T.FLIP_TOP_BOTTOM, 5: T.TRANSPOSE, 6: T.ROTATE_90,
          7: T.TRANSVERSE, 8: T.ROTATE_270}  # fmt: skip


def save_heif(src: Path, dest: Path, size: tuple[int, int], orientation: int = 1) -> Path:
    """`src` resized to `size` (as shown) and saved as HEIC (or AVIF by suffix) with an EXIF
    orientation, which both encoders store as irot/imir: stored turned back, shown upright."""
    with Image.open(src) as im:
        shown = im.convert("RGB").resize(size)
    if orientation in _STORE:
        shown = shown.transpose(_STORE[orientation])
    exif = Image.Exif()
    exif[0x0112] = orientation
    dest.parent.mkdir(parents=True, exist_ok=True)
    shown.save(dest, quality=85, exif=exif.tobytes())
    return dest


def _exiftool(path: Path, *tags: str) -> dict[str, object]:
    out = subprocess.run([str(EXIFTOOL), "-j", "-n", "-G1", "-struct", *tags, str(path)],
                         capture_output=True, text=True, check=True)  # fmt: skip
    return dict(json.loads(out.stdout)[0])


def _shown_by_reader(path: Path) -> tuple[int, int, int]:
    with ExifToolSession(str(EXIFTOOL)) as session:
        meta = read_photo(session, path, with_hash=False)
    return meta.width, meta.height, meta.orientation


def test_the_metadata_reader_sees_the_frame_the_decoder_shows(tmp_path: Path) -> None:
    """For every HEIF the decoder's displayed size is the size the writer checks, orientation 1."""
    files = [save_heif(FACES / "img2.jpg", tmp_path / f"o{o}.heic", (641, 427), o) for o in range(1, 9)]
    files += [save_heif(FACES / "img2.jpg", tmp_path / f"a{o}.avif", (641, 427), o) for o in (1, 2, 6, 7)]
    exif_only = shutil.copyfile(files[0], tmp_path / "exif-only.heic")  # EXIF says 6, no irot: not turned
    subprocess.run([str(EXIFTOOL), "-q", "-n", "-Orientation=6", "-overwrite_original", str(exif_only)], check=True)
    files += [exif_only, REAL / "IMG_2682.heic", REAL / "8bit-sRGB.avif"]
    coded = _exiftool(files[5], "-Composite:ImageSize", "-QuickTime:CleanAperture", "-QuickTime:Rotation")
    assert coded == {"SourceFile": str(files[5]), "Composite:ImageSize": "428 642",  # padded by the encoder
                     "QuickTime:CleanAperture": "427 641 -0.5 -0.5", "QuickTime:Rotation": 3}  # fmt: skip
    seen = {}
    for path in files:
        info = load_image(path, max_side=256).info
        seen[path.name] = (info.width, info.height)
        assert _shown_by_reader(path) == (info.width, info.height, 1), path.name
    assert seen["o1.heic"] == seen["o2.heic"] == seen["exif-only.heic"] == seen["a1.avif"] == (641, 427)
    assert seen["o6.heic"] == seen["o7.heic"] == seen["a6.avif"] == seen["a7.avif"] == (641, 427)  # upright again
    assert seen["IMG_2682.heic"] == (4032, 3024)


def test_an_odd_sized_rotated_heic_is_written_with_regions_on_the_faces(tmp_path: Path) -> None:
    """The issue's case: a HEIC padded by its encoder (odd width and height here, turned by irot)
    was refused ("the photo is ... now, ... at analysis"); now it is written, and the regions
    exiftool reads back are the face boxes of the picture as shown."""
    lib = tmp_path / "library"
    save_heif(FACES / "couple.jpg", lib / "couple.heic", (1141, 795), orientation=6)
    save_heif(FACES / "img3.jpg", lib / "plain.heic", (515, 771))
    core = Core(make_config(lib, tmp_path / "data"))
    try:
        scan_and_analyze(core)
        couple = m.Photo.get(m.Photo.path == "couple.heic")
        assert (couple.state, couple.width, couple.height, couple.orientation) == (m.PhotoState.DONE, 1141, 795, 1)
        person, _ = m.Person.get_or_create(name="Ada Lovelace")
        m.Face.update(state=m.FaceState.CONFIRMED, person=person).execute()
        faces = {p: list(m.Face.select().join(m.Photo).where(m.Photo.path == p)) for p in ("couple.heic", "plain.heic")}
        assert [len(f) for f in faces.values()] == [2, 1]
        job = run(core, "write")
        assert job.state == m.JobState.DONE and job.result["written"] == 2 and job.result["failed"] == 0, job.result
        for path, rows in faces.items():
            photo = m.Photo.get(m.Photo.path == path)
            regions = _exiftool(lib / path, "-XMP-mwg-rs:RegionInfo")["XMP-mwg-rs:RegionInfo"]
            assert regions["AppliedToDimensions"] == {"W": photo.width, "H": photo.height, "Unit": "pixel"}
            read = sorted((NormBox.from_center(*(float(r["Area"][k]) for k in "XYWH")) for r in regions["RegionList"]),
                          key=lambda b: b.x)  # fmt: skip
            boxes = sorted((NormBox(f.x / photo.width, f.y / photo.height, f.w / photo.width, f.h / photo.height)
                            for f in rows), key=lambda b: b.x)  # fmt: skip
            assert len(read) == len(boxes) and all(a.iou(b) > 0.95 for a, b in zip(read, boxes, strict=True))
        assert run(core, "write").result["written"] == 0  # written once: nothing left to do
    finally:
        core.close()
