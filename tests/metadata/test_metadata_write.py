"""The writer on temp copies of real photos with the real exiftool: round trip, idempotence,
merge with other tools' tags, rotated photos, sidecars, refusals, verification and restore."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps

from tagmyphotos.geometry import NormBox
from tagmyphotos.metadata.backups import BackupStore, sha256_file
from tagmyphotos.metadata.exiftool import ExifToolSession, UnsafeArgument
from tagmyphotos.metadata.plan import PersonRegion, WriteOptions
from tagmyphotos.metadata.read import KEYWORD_TAGS, MP_TAG, MWG_TAG, as_list, read_photo
from tagmyphotos.metadata.write import MetadataWriter, WriteError
from tests.support.base import TESTDATA

REAL, FACES = TESTDATA / "real", TESTDATA / "faces"
MARIE = NormBox(0.311905, 0.208571, 0.113095, 0.198571)  # portrait.jpg as displayed
PIERRE = NormBox(0.639286, 0.118571, 0.0964286, 0.241429)
CURIES = [PersonRegion("Marie Curie", MARIE), PersonRegion("Pierre Curie", PIERRE)]


@pytest.fixture(scope="module")
def session():
    with ExifToolSession() as s:
        yield s


@pytest.fixture()
def lib(tmp_path: Path) -> Path:
    d = tmp_path / "library"
    d.mkdir()
    return d


def put(lib: Path, src: Path, name: str | None = None) -> Path:
    dst = lib / (name or src.name)
    shutil.copyfile(src, dst)
    os.chmod(dst, 0o644)
    return dst


def writer(session: ExifToolSession, lib: Path, **opts) -> MetadataWriter:
    return MetadataWriter(session, BackupStore(lib.parent / "data" / "backups", lib), WriteOptions(**opts))


def all_tags(session: ExifToolSession, path: Path) -> dict:
    (entry,), _ = session.read_json(["-a", "-G1", "-struct", "-n", "-x", "System:all", str(path)])
    return entry


def faces_of(session: ExifToolSession, path: Path) -> dict[str, NormBox]:
    return {str(r.name): r.box for r in read_photo(session, path).named_faces() if r.box is not None}


# --- round trip and idempotence ------------------------------------------------------------------


def test_round_trip_idempotence_and_restore(session: ExifToolSession, lib: Path) -> None:
    photo = put(lib, FACES / "img1.jpg")
    original = photo.read_bytes()
    w = writer(session, lib)
    wanted = [PersonRegion("Ada Lovelace", NormBox(0.3, 0.2, 0.25, 0.2)), PersonRegion("Zoë O'Brien", MARIE)]
    first = w.write(photo, wanted)
    assert first.status == "written" and first.mode == "in-file" and first.target == photo
    assert first.image_hash_before == first.image_hash_after != ""
    assert first.file_sha256_before == sha256_file(lib.parent / "data" / "backups" / "files" / "img1.jpg")
    assert first.file_sha256_after == sha256_file(photo) != first.file_sha256_before
    got = faces_of(session, photo)
    assert set(got) == {"Ada Lovelace", "Zoë O'Brien"}
    assert got["Ada Lovelace"].close_to(NormBox(0.3, 0.2, 0.25, 0.2), 1e-5)
    tags = all_tags(session, photo)
    assert tags["XMP-dc:Subject"] == ["Ada Lovelace", "Zoë O'Brien"]
    assert tags["XMP-lr:HierarchicalSubject"] == ["People|Ada Lovelace", "People|Zoë O'Brien"]
    assert tags["XMP-digiKam:TagsList"] == ["People/Ada Lovelace", "People/Zoë O'Brien"]
    assert tags["XMP-iptcExt:PersonInImage"] == ["Ada Lovelace", "Zoë O'Brien"]
    assert tags["XMP-mwg-rs:RegionInfo"]["AppliedToDimensions"] == {"H": "1868", "Unit": "pixel", "W": "1382"}

    written, mtime = photo.read_bytes(), photo.stat().st_mtime_ns
    again = w.write(photo, wanted)
    assert again.status == "unchanged" and again.changes == []
    assert photo.read_bytes() == written and photo.stat().st_mtime_ns == mtime  # no write at all

    w.write(photo, wanted[:1], managed_names=["Zoë O'Brien"])  # a second, different write
    w.restore(photo)
    assert photo.read_bytes() == original  # the FIRST original, byte for byte


def test_single_person_lists_and_other_formats_in_file(session: ExifToolSession, lib: Path) -> None:
    w = writer(session, lib, microsoft_regions=True)
    for src in (REAL / "density_plot.png", REAL / "denali.webp", REAL / "IMG_2682.heic"):
        photo = put(lib, src)
        result = w.write(photo, [PersonRegion("Solo", NormBox(0.4, 0.4, 0.2, 0.2))])
        assert (result.status, result.mode) == ("written", "in-file"), src.name
        assert result.image_hash_before.startswith("exiftool-md5:")
        assert faces_of(session, photo)["Solo"].close_to(NormBox(0.4, 0.4, 0.2, 0.2), 1e-5)
        meta = read_photo(session, photo)
        assert meta.embedded.keywords["XMP-dc:Subject"] == ["Solo"]  # a scalar in exiftool's JSON
        assert [r.name for r in meta.embedded.mp_regions] == ["Solo"]
        assert w.write(photo, [PersonRegion("Solo", NormBox(0.4, 0.4, 0.2, 0.2))]).status == "unchanged"


# --- merging with other software's tags -----------------------------------------------------


def test_merge_with_regions_and_keywords_of_other_tools(session: ExifToolSession, lib: Path) -> None:
    photo = put(lib, REAL / "portrait.jpg")
    before = all_tags(session, photo)
    w = writer(session, lib)
    # Marie stays (box from our detector, close to the file's), Pierre was removed by the user,
    # Irène is new.
    detector_box = NormBox(MARIE.x + 0.01, MARIE.y + 0.02, MARIE.w, MARIE.h * 0.9)
    irene = NormBox(0.05, 0.5, 0.1, 0.1)
    wanted = [PersonRegion("Marie Curie", detector_box), PersonRegion("Irène Curie", irene)]
    result = w.write(photo, wanted, managed_names=["Pierre Curie"])
    assert result.status == "written"
    after = all_tags(session, photo)
    regions = after["XMP-mwg-rs:RegionInfo"]["RegionList"]
    assert [r["Name"] for r in regions] == ["Marie Curie", "Irène Curie"]
    assert regions[0] == before["XMP-mwg-rs:RegionInfo"]["RegionList"][0]  # kept verbatim
    assert [r["PersonDisplayName"] for r in after["XMP-MP:RegionInfoMP"]["Regions"]] == ["Marie Curie"]
    assert as_list(after["IPTC:Keywords"]) == ["Marie Curie"]
    assert after["XMP-dc:Subject"] == ["Marie Curie", "Irène Curie"]
    assert as_list(after["XMP-microsoft:LastKeywordXMP"]) == ["People/Marie Curie"]
    managed = {MWG_TAG, MP_TAG, *KEYWORD_TAGS, "XMP-x:XMPToolkit", "ExifTool:Warning"}
    # editing the IPTC keyword list (Pierre removed) adds IPTC's mandatory record versions
    managed |= {"IPTC:ApplicationRecordVersion", "IPTC:EnvelopeRecordVersion", "File:CurrentIPTCDigest"}
    changed = {k for k in set(before) | set(after) if before.get(k) != after.get(k)}
    assert changed <= managed, changed - managed  # nothing else in the file moved
    assert after["XMP-acdsee:Categories"] == before["XMP-acdsee:Categories"]


def test_picasa_keywords_and_exif_survive(session: ExifToolSession, lib: Path) -> None:
    photo = put(lib, REAL / "picasa.jpg")
    before = all_tags(session, photo)
    writer(session, lib).write(photo, [PersonRegion("Someone", NormBox(0.2, 0.2, 0.3, 0.4))])
    after = all_tags(session, photo)
    assert after["IPTC:Keywords"] == ["Frost", "Yard"]
    for key, value in before.items():
        if not key.startswith(("XMP", "ExifTool")):
            assert after.get(key) == value, key  # EXIF, IPTC, JFIF, File: all untouched


# --- rotated photos ----------------------------------------------------------------------------

_ROTATE_CONFIG = {3: "RotateMWGRegionCW180", 6: "RotateMWGRegionCW90", 8: "RotateMWGRegionCW270"}
_UNDO = {3: Image.Transpose.ROTATE_180, 6: Image.Transpose.ROTATE_90, 8: Image.Transpose.ROTATE_270}


@pytest.mark.parametrize("orientation", [3, 6, 8])
def test_rotated_photos_agree_with_exiftool_and_a_detector(
    session: ExifToolSession, lib: Path, orientation: int
) -> None:
    """Store portrait.jpg's pixels rotated with EXIF Orientation, write the Curies on the photo
    as displayed, and check the stored regions three ways."""
    shown = Image.open(REAL / "portrait.jpg").convert("RGB")
    photo = lib / f"rotated-{orientation}.jpg"
    shown.transpose(_UNDO[orientation]).save(photo, quality=95)
    assert session.run(["-overwrite_original", "-n", f"-IFD0:Orientation={orientation}", str(photo)]).status == 0
    assert ImageOps.exif_transpose(Image.open(photo)).size == shown.size
    writer(session, lib).write(photo, CURIES)

    # 1. exiftool's own region rotation (config_files/rotate_regions.config) of the stored regions
    config = Path(session.executable).parent / "config_files" / "rotate_regions.config"
    tag = _ROTATE_CONFIG[orientation]
    cmd = [session.executable, "-config", str(config), "-j", "-n", "-struct", f"-{tag}", str(photo)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    rotated = json.loads(out)[0][tag]["RegionList"]
    assert len(rotated) == 2
    for region in rotated:
        a = region["Area"]
        box = NormBox.from_center(a["X"], a["Y"], a["W"], a["H"])
        assert box.close_to(MARIE if region["Name"] == "Marie Curie" else PIERRE, 2e-6), region["Name"]

    # 2. our reader gives back the displayed boxes
    got = faces_of(session, photo)
    assert got["Marie Curie"].close_to(MARIE, 2e-6) and got["Pierre Curie"].close_to(PIERRE, 2e-6)

    # 3. a face detector on the displayed photo finds Marie inside her region
    dlib = pytest.importorskip("dlib")
    pixels = np.array(ImageOps.exif_transpose(Image.open(photo)).convert("RGB"))
    h, w = pixels.shape[:2]
    found = [
        NormBox(r.left() / w, r.top() / h, r.width() / w, r.height() / h)
        for r in dlib.get_frontal_face_detector()(pixels, 1)
    ]
    assert found and max(f.iou(got["Marie Curie"]) for f in found) >= 0.3


# --- sidecars -----------------------------------------------------------------------------------


def test_webp_named_jpg_falls_back_to_a_sidecar(session: ExifToolSession, lib: Path) -> None:
    photo = put(lib, FACES / "img47.jpg")
    original = photo.read_bytes()
    w = writer(session, lib)
    result = w.write(photo, [PersonRegion("Someone", NormBox(0.3, 0.2, 0.3, 0.3))])
    assert result.mode == "sidecar" and result.target == lib / "img47.jpg.xmp"
    assert "WEBP" in result.note and ".jpg" in result.note
    assert photo.read_bytes() == original
    assert faces_of(session, photo)["Someone"].close_to(NormBox(0.3, 0.2, 0.3, 0.3), 1e-5)
    assert w.write(photo, [PersonRegion("Someone", NormBox(0.3, 0.2, 0.3, 0.3))]).status == "unchanged"
    w.restore(result.target)
    assert not result.target.exists()  # the sidecar did not exist before: restoring removes it


def test_forced_sidecar_starts_from_the_photos_xmp(session: ExifToolSession, lib: Path) -> None:
    photo = put(lib, REAL / "portrait.jpg")
    original = photo.read_bytes()
    result = writer(session, lib, mode="sidecar", sidecar_naming="photo.xmp").write(
        photo, [PersonRegion("Marie Curie", MARIE)], managed_names=["Pierre Curie"]
    )
    assert result.target == lib / "portrait.xmp" and photo.read_bytes() == original
    side = all_tags(session, result.target)
    assert [r["Name"] for r in side["XMP-mwg-rs:RegionInfo"]["RegionList"]] == ["Marie Curie"]
    assert side["XMP-acdsee:Categories"].startswith("<Categories>")  # other tools' XMP came along
    assert as_list(side["XMP-dc:Subject"]) == ["Marie Curie"]


def test_an_existing_sidecar_is_updated_not_replaced(session: ExifToolSession, lib: Path) -> None:
    photo = put(lib, FACES / "img2.jpg")
    sidecar = lib / "img2.jpg.xmp"
    res = session.run(["-XMP-dc:Title=Holiday", "-XMP-dc:Subject=Beach", str(sidecar)])
    assert res.status == 0
    original_sidecar, original_photo = sidecar.read_bytes(), photo.read_bytes()
    result = writer(session, lib).write(photo, [PersonRegion("Ann", NormBox(0.4, 0.3, 0.2, 0.2))])
    assert result.mode == "sidecar" and "exists" in result.note  # "auto": viewers read it first
    assert result.target == sidecar and result.backup is not None and photo.read_bytes() == original_photo
    tags = all_tags(session, sidecar)
    assert tags["XMP-dc:Title"] == "Holiday" and tags["XMP-dc:Subject"] == ["Beach", "Ann"]
    writer(session, lib, mode="sidecar").restore(sidecar)
    assert sidecar.read_bytes() == original_sidecar


# --- refusals and failures ------------------------------------------------------------------------


def test_read_only_file_gets_a_sidecar(session: ExifToolSession, lib: Path) -> None:
    photo = put(lib, FACES / "img3.jpg")
    os.chmod(photo, 0o444)
    original = photo.read_bytes()
    result = writer(session, lib).write(photo, [PersonRegion("Bo", NormBox(0.4, 0.3, 0.2, 0.2))])
    assert result.mode == "sidecar" and "read-only" in result.note
    assert photo.read_bytes() == original and (lib / "img3.jpg.xmp").is_file()
    with pytest.raises(WriteError, match="read-only"):
        writer(session, lib, mode="in-file").write(photo, [PersonRegion("Cy", NormBox(0.4, 0.3, 0.2, 0.2))])


@pytest.mark.parametrize(
    ("src", "cut"),
    [("img1.jpg", 5000), ("img4.jpg", 6000), ("img4.jpg", 400_000)],  # in the EXIF, early, late in the scan
)
def test_corrupt_jpeg_is_refused_and_untouched(session: ExifToolSession, lib: Path, src: str, cut: int) -> None:
    photo = lib / "broken.jpg"
    photo.write_bytes((FACES / src).read_bytes()[:cut])
    original = photo.read_bytes()
    with pytest.raises(WriteError, match="damaged"):
        writer(session, lib).write(photo, [PersonRegion("Di", NormBox(0.4, 0.3, 0.2, 0.2))])
    assert photo.read_bytes() == original
    assert sorted(p.name for p in lib.iterdir()) == ["broken.jpg"]
    assert not (lib.parent / "data").exists()  # not even a backup: nothing was attempted


def test_names_cannot_inject_exiftool_arguments(session: ExifToolSession, lib: Path) -> None:
    photo = put(lib, FACES / "img5.jpg")
    canary = lib / "pwned"
    evil = [
        f"Eve\n-execute\n-o\n{canary}\n",
        "-overwrite_original_in_place",
        f"Mallory\r-if\r${{system('touch {canary}')}}",
        "\x1b[2J\x00Trudy\x07",
    ]
    boxes = [NormBox(0.1 + 0.2 * i, 0.1, 0.15, 0.15) for i in range(4)]
    result = writer(session, lib).write(photo, [PersonRegion(n, b) for n, b in zip(evil, boxes, strict=True)])
    assert result.status == "written"
    assert not canary.exists() and sorted(p.name for p in lib.iterdir()) == ["img5.jpg"]
    names = set(faces_of(session, photo))
    assert names == {
        f"Eve -execute -o {canary}",
        "-overwrite_original_in_place",
        f"Mallory -if ${{system('touch {canary}')}}",
        "[2JTrudy",
    }
    with pytest.raises(UnsafeArgument):
        session.run(["-XMP-dc:Subject+=a\n-execute"])
    weird = lib / "new\nline.jpg"
    shutil.copyfile(photo, weird)
    with pytest.raises(WriteError, match="line break"):
        writer(session, lib).write(weird, [PersonRegion("A", MARIE)])


def test_dry_run_shows_before_and_after_and_writes_nothing(session: ExifToolSession, lib: Path) -> None:
    photo = put(lib, REAL / "portrait.jpg")
    original = photo.read_bytes()
    result = writer(session, lib).write(photo, [PersonRegion("Marie Curie", MARIE)], ["Pierre Curie"], dry_run=True)
    assert result.status == "dry-run" and photo.read_bytes() == original
    subject = next(c for c in result.changes if c.tag == "XMP-dc:Subject")
    assert subject.before == ("Marie Curie", "Pierre Curie") and subject.after == ("Marie Curie",)
    regions = next(c for c in result.changes if c.tag == MWG_TAG)
    assert len(regions.before) == 2 and len(regions.after) == 1 and regions.after[0].startswith("Marie Curie")
    assert not (lib.parent / "data").exists()


def test_a_failed_verification_restores_the_original(
    session: ExifToolSession, lib: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A write that damages the image data (simulated by flipping one compressed byte right
    after exiftool wrote) is caught by the digest check and undone from the backup."""
    photo = put(lib, FACES / "img6.jpg")
    original = photo.read_bytes()
    real_written = MetadataWriter._written

    def damaging_write(self, step):
        real_written(self, step)
        data = bytearray(step.photo.read_bytes())
        data[-50] ^= 0x55
        step.photo.write_bytes(bytes(data))
        return read_photo(session, step.photo)  # what the verifying read then sees

    monkeypatch.setattr(MetadataWriter, "_written", damaging_write)
    eli = [PersonRegion("Eli", NormBox(0.4, 0.3, 0.2, 0.2))]
    with pytest.raises(WriteError, match="image data changed") as err:
        writer(session, lib).write(photo, eli)
    assert err.value.restored is True
    assert photo.read_bytes() == original


def test_check_finds_a_damaged_write_after_a_crash(session: ExifToolSession, lib: Path) -> None:
    """A crash between exiftool's rename and our verification leaves a write nobody checked;
    `check` compares it with the backup."""
    photo = put(lib, FACES / "img8.jpg")
    w = writer(session, lib)
    eli = [PersonRegion("Eli", NormBox(0.4, 0.3, 0.2, 0.2))]
    w.write(photo, eli)
    assert w.check(photo, eli) == (True, "verified")
    ok, reason = w.check(photo, [PersonRegion("Someone Else", NormBox(0.4, 0.3, 0.2, 0.2))])
    assert not ok and "tags differ" in reason
    data = bytearray(photo.read_bytes())
    data[-50] ^= 0x55  # damage as if a broken writer had been interrupted before verifying
    photo.write_bytes(bytes(data))
    assert w.check(photo, eli) == (False, "the image data differs from the backed-up original")


def test_mtime_preserved_or_updated(session: ExifToolSession, lib: Path) -> None:
    for preserve in (True, False):
        photo = put(lib, FACES / "img7.jpg", f"m{preserve}.jpg")
        os.utime(photo, (1_600_000_000, 1_600_000_000))
        writer(session, lib, preserve_mtime=preserve).write(photo, [PersonRegion("Fay", MARIE)])
        assert (photo.stat().st_mtime == 1_600_000_000) is preserve


def test_a_replaced_photo_is_not_written(session: ExifToolSession, lib: Path) -> None:
    photo = put(lib, REAL / "portrait-orientation-6.jpg")
    original = photo.read_bytes()
    w = writer(session, lib)
    with pytest.raises(WriteError, match="at analysis"):
        w.write(photo, CURIES, expected_size=(700, 840))  # stored size, not the displayed one
    assert photo.read_bytes() == original
    assert w.write(photo, CURIES, expected_size=(840, 700)).status == "written"


def test_names_that_look_like_exiftool_base64_are_written_as_they_are(session: ExifToolSession, lib: Path) -> None:
    """exiftool's JSON import decodes values starting with "base64:" (issue 14, item 10)."""
    photo = put(lib, FACES / "img5.jpg")
    names = ["base64:QWxpY2U=", "base64:", "Base64:Bob"]
    boxes = [NormBox(0.1 + 0.25 * i, 0.1, 0.15, 0.15) for i in range(3)]
    result = writer(session, lib).write(photo, [PersonRegion(n, b) for n, b in zip(names, boxes, strict=True)])
    assert result.status == "written"
    assert set(faces_of(session, photo)) == set(names)
    assert (
        writer(session, lib).write(photo, [PersonRegion(n, b) for n, b in zip(names, boxes, strict=True)]).status
        == "unchanged"
    )
