"""RAW files on DNG and CR2 files built from the test photos (tests/support/rawfiles.py): faces found in
the embedded preview, or in LibRaw's decode of the Bayer mosaic when there is no preview or only a
thumbnail, placed on the RAW's own size and orientation, RAW+JPEG pairs sharing one set of faces,
and the sidecar read back by exiftool and by Debian's exiv2."""

from __future__ import annotations

import io
import json
import shutil
import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest

from jobs.pipeline import STAGES
from tagmyphotos.core import Core
from tagmyphotos.geometry import NormBox, to_oriented
from tagmyphotos.stages.runner import run_stage
from tagmyphotos.store import jobs as jobs_store
from tagmyphotos.store import models as m
from tests.support.base import EXIFTOOL, FACES, make_config, scan_and_analyze
from tests.support.rawfiles import make_cr2, make_dng


def _core(tmp_path: Path, **env: str) -> Core:
    return Core(make_config(tmp_path / "library", tmp_path / "data", **env))


def _name_all(photo_path: str, name: str) -> None:
    person, _ = m.Person.get_or_create(name=name)
    photo = m.Photo.get(m.Photo.path == photo_path)
    m.Face.update(state=m.FaceState.CONFIRMED, person=person).where(m.Face.photo == photo.id).execute()


def _write(core: Core) -> dict[str, object]:
    job_id = jobs_store.create_job("write", {"no_follow": True})
    run_stage(core, STAGES["write"], job_id)
    job = m.Job.get_by_id(job_id)
    assert job.state == m.JobState.DONE, job.error
    return dict(job.result)


def _exiftool_regions(path: Path) -> dict[str, object]:
    out = subprocess.run([str(EXIFTOOL), "-j", "-struct", "-n", "-XMP-mwg-rs:RegionInfo", "-XMP-iptcExt:PersonInImage",
                          str(path)], capture_output=True, text=True, check=True)  # fmt: skip
    return dict(json.loads(out.stdout)[0])


def _exiv2(path: Path) -> dict[str, str]:
    """Debian's exiv2 reading a sidecar: key -> value."""
    out = subprocess.run(["exiv2", "-px", str(path)], capture_output=True, text=True, check=True).stdout
    return {parts[0]: parts[3] for line in out.splitlines() if len(parts := line.split(None, 3)) == 4}


def _boxes(photo: m.Photo) -> list[NormBox]:
    w, h = (photo.height, photo.width) if photo.orientation >= 5 else (photo.width, photo.height)
    faces = m.Face.select().where(m.Face.photo == photo.id)
    return sorted((NormBox(f.x / w, f.y / h, f.w / w, f.h / h) for f in faces), key=lambda b: b.x)


def test_faces_of_a_lone_dng_come_from_its_preview_on_the_raw_size_and_orientation(tmp_path: Path) -> None:
    lib = tmp_path / "library"
    lib.mkdir()
    shutil.copyfile(FACES / "couple.jpg", lib / "couple.jpg")
    dng = make_dng(FACES / "couple.jpg", lib / "raw" / "couple_raw.dng", orientation=6, preview_max=1200)
    core = _core(tmp_path)
    try:
        scan_and_analyze(core)
        raw = m.Photo.get(m.Photo.path == "raw/couple_raw.dng")
        assert (raw.kind, raw.state, raw.format, raw.faces_from) == ("raw", m.PhotoState.DONE, "DNG", None)
        # the RAW's own stored size and orientation, not the preview's
        assert (raw.width, raw.height, raw.orientation) == (*dng.raw_size, 6)
        jpeg = m.Photo.get(m.Photo.path == "couple.jpg")
        raw_boxes, jpeg_boxes = _boxes(raw), _boxes(jpeg)
        assert len(raw_boxes) == len(jpeg_boxes) == 2
        for a, b in zip(raw_boxes, jpeg_boxes, strict=True):
            assert a.iou(b) > 0.7  # the same faces, in the displayed frame of the RAW
        face = m.Face.select().where(m.Face.photo == raw.id).first()
        assert face.embedding and (core.cfg.data / face.thumb).is_file()
        assert not (core.cfg.data / "tmp" / "raw-previews").exists() or not any(
            (core.cfg.data / "tmp" / "raw-previews").iterdir()
        )  # the extracted previews are gone
    finally:
        core.close()


def test_lone_raw_gets_a_sidecar_with_its_dimensions_read_back_by_exiftool_and_exiv2(tmp_path: Path) -> None:
    lib = tmp_path / "library"
    dng = make_dng(FACES / "img1.jpg", lib / "IMG_0001.dng", orientation=8, preview_max=900)
    cr2 = make_cr2(FACES / "img3.jpg", lib / "IMG_0002.CR2", orientation=6, preview_max=1000)
    core = _core(tmp_path, TAGMYPHOTOS_WRITE__SIDECAR_NAMING="photo.xmp")  # Lightroom's naming
    try:
        scan_and_analyze(core)
        for path, name in (("IMG_0001.dng", "Ada Lovelace"), ("IMG_0002.CR2", "Grace Hopper")):
            photo = m.Photo.get(m.Photo.path == path)
            assert photo.state == m.PhotoState.DONE and m.Face.select().where(m.Face.photo == photo.id).count() == 1
            _name_all(path, name)
        raw_before = {p: p.read_bytes() for p in (dng.path, cr2.path)}
        result = _write(core)
        assert result["written"] == 2 and result["failed"] == 0
        for info, name in ((dng, "Ada Lovelace"), (cr2, "Grace Hopper")):
            assert info.path.read_bytes() == raw_before[info.path]  # the RAW itself is never touched
            side = info.path.with_suffix(".xmp")
            assert side.is_file() and not info.path.with_name(info.path.name + ".xmp").exists()
            tags = _exiftool_regions(side)
            assert tags["PersonInImage"] == [name]
            region_info = tags["RegionInfo"]
            assert region_info["AppliedToDimensions"] == {"W": info.raw_size[0], "H": info.raw_size[1], "Unit": "pixel"}
            (region,) = region_info["RegionList"]
            assert region["Name"] == name and region["Type"] == "Face"
            exiv2 = _exiv2(side)
            assert exiv2["Xmp.iptcExt.PersonInImage"] == name
            dims = "Xmp.mwg-rs.Regions/mwg-rs:AppliedToDimensions/stDim:"
            assert (exiv2[dims + "w"], exiv2[dims + "h"]) == (str(info.raw_size[0]), str(info.raw_size[1]))
            area = "Xmp.mwg-rs.Regions/mwg-rs:RegionList[1]/mwg-rs:Area/stArea:"
            stored = NormBox.from_center(*(float(exiv2[area + k]) for k in "xywh"))
            photo = m.Photo.get(m.Photo.path == info.path.name)
            (face_box,) = _boxes(photo)
            assert to_oriented(stored, info.orientation).iou(face_box) > 0.95  # the face, on the RAW's frame
        assert _write(core)["written"] == 0  # a second run has nothing to do
    finally:
        core.close()


def test_raw_jpeg_pair_shares_one_set_of_faces_and_both_files_are_tagged(tmp_path: Path) -> None:
    lib = tmp_path / "library" / "2024"
    lib.mkdir(parents=True)
    shutil.copyfile(FACES / "img2.jpg", lib / "IMG_0003.JPG")
    dng = make_dng(FACES / "img2.jpg", lib / "IMG_0003.DNG", orientation=1, preview_max=800)
    core = _core(tmp_path)  # default naming: IMG_0003.DNG.xmp (digiKam, darktable)
    try:
        scan_and_analyze(core)
        jpeg = m.Photo.get(m.Photo.path == "2024/IMG_0003.JPG")
        raw = m.Photo.get(m.Photo.path == "2024/IMG_0003.DNG")
        assert raw.state == m.PhotoState.DONE and raw.faces_from == jpeg.id
        assert m.Face.select().where(m.Face.photo == raw.id).count() == 0  # one set of faces: the JPEG's
        assert m.Face.select().where(m.Face.photo == jpeg.id).count() == 1
        _name_all("2024/IMG_0003.JPG", "Alan Turing")
        result = _write(core)
        assert result["written"] == 2
        assert _exiftool_regions(lib / "IMG_0003.JPG")["PersonInImage"] == ["Alan Turing"]  # in the JPEG itself
        side = lib / "IMG_0003.DNG.xmp"
        tags = _exiftool_regions(side)
        assert tags["PersonInImage"] == ["Alan Turing"]
        assert tags["RegionInfo"]["AppliedToDimensions"]["W"] == dng.raw_size[0]
        audit = m.WriteAudit.get((m.WriteAudit.photo == raw.id) & (m.WriteAudit.result == "ok"))
        assert audit.mode == "sidecar" and audit.target == str(side)
    finally:
        core.close()


def _unknown_compression(dng: Path) -> None:
    """Give the sensor data of a DNG without preview a compression no reader knows (99)."""
    data = bytearray(dng.read_bytes())
    at = data.find(struct.pack("<HHIH", 259, 3, 1, 1))  # the sensor IFD's Compression=1, first
    data[at + 8 : at + 10] = struct.pack("<H", 99)
    dng.write_bytes(bytes(data))


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("no-image", "exiftool cannot read this RAW file"),
        ("unknown-compression", "LibRaw cannot decode IMG_0004.dng: Unsupported file format or not RAW file; "
                                "exiftool finds no embedded JPEG preview in it either"),
    ],
)  # fmt: skip
def test_raw_that_neither_libraw_nor_exiftool_can_use_fails_with_the_reason(
    tmp_path: Path, content: str, reason: str
) -> None:
    lib = tmp_path / "library"
    lib.mkdir()
    if content == "unknown-compression":
        make_dng(FACES / "img5.jpg", lib / "IMG_0004.dng", preview_max=None)
        _unknown_compression(lib / "IMG_0004.dng")
    else:
        (lib / "IMG_0004.dng").write_bytes(b"II*\0\x08\0\0\0CR\x02\0" + b"\0" * 64)
    core = _core(tmp_path)
    try:
        scan_and_analyze(core)
        photo = m.Photo.get(m.Photo.path == "IMG_0004.dng")
        assert photo.state == m.PhotoState.FAILED and reason in photo.last_error, photo.last_error
        assert m.Face.select().count() == 0
    finally:
        core.close()


def test_dngs_without_preview_or_with_a_thumbnail_are_decoded_by_libraw_named_and_written(tmp_path: Path) -> None:
    """The acceptance of issue 28: the faces of the JPEG twin (kept in another folder, so not
    paired), found in LibRaw's half-size decode, named, and written to the sidecar on the RAW's
    own size and orientation, read back by exiftool and exiv2."""
    lib = tmp_path / "library"
    (lib / "jpeg").mkdir(parents=True)
    shutil.copyfile(FACES / "couple.jpg", lib / "jpeg" / "couple.jpg")
    bare = make_dng(FACES / "couple.jpg", lib / "raw" / "bare.dng", orientation=6, preview_max=None)
    thumb = make_dng(FACES / "couple.jpg", lib / "raw" / "thumb.dng", orientation=8, preview_max=160)
    renamed = tmp_path / "renamed.dng"  # a DNG named .CR2: LibRaw goes by the content
    make_dng(FACES / "img5.jpg", renamed, preview_max=None)
    shutil.copyfile(renamed, lib / "raw" / "IMG_0005.CR2")
    core = _core(tmp_path)
    try:
        scan_and_analyze(core)
        (analysis,) = m.Job.select().where(m.Job.type == "analyze")
        assert analysis.result["raw_decoded"] == 3 and analysis.result["raw_previews"] == 0, analysis.result
        jpeg_boxes = _boxes(m.Photo.get(m.Photo.path == "jpeg/couple.jpg"))
        assert len(jpeg_boxes) == 2
        for info in (bare, thumb):
            raw = m.Photo.get(m.Photo.path == f"raw/{info.path.name}")
            assert (raw.state, raw.format, raw.faces_from) == (m.PhotoState.DONE, "DNG", None)
            assert (raw.width, raw.height, raw.orientation) == (*info.raw_size, info.orientation)
            raw_boxes = _boxes(raw)
            assert len(raw_boxes) == len(jpeg_boxes)
            for a, b in zip(raw_boxes, jpeg_boxes, strict=True):
                assert a.iou(b) > 0.7, (info.path.name, a, b)
        assert m.Face.select().join(m.Photo).where(m.Photo.path == "raw/IMG_0005.CR2").count() == 1
        for info, name in ((bare, "Ada Lovelace"), (thumb, "Grace Hopper")):
            _name_all(f"raw/{info.path.name}", name)
        assert _write(core)["written"] == 2
        for info, name in ((bare, "Ada Lovelace"), (thumb, "Grace Hopper")):
            side = info.path.with_name(info.path.name + ".xmp")
            region_info = _exiftool_regions(side)["RegionInfo"]
            assert region_info["AppliedToDimensions"] == {"W": info.raw_size[0], "H": info.raw_size[1], "Unit": "pixel"}
            assert [r["Name"] for r in region_info["RegionList"]] == [name, name]
            exiv2 = _exiv2(side)
            dims = "Xmp.mwg-rs.Regions/mwg-rs:AppliedToDimensions/stDim:"
            assert (exiv2[dims + "w"], exiv2[dims + "h"]) == (str(info.raw_size[0]), str(info.raw_size[1]))
            stored = []
            for n in (1, 2):
                area = f"Xmp.mwg-rs.Regions/mwg-rs:RegionList[{n}]/mwg-rs:Area/stArea:"
                stored.append(NormBox.from_center(*(float(exiv2[area + k]) for k in "xywh")))
            shown = sorted((to_oriented(b, info.orientation) for b in stored), key=lambda b: b.x)
            faces = _boxes(m.Photo.get(m.Photo.path == f"raw/{info.path.name}"))
            assert all(a.iou(b) > 0.95 for a, b in zip(shown, faces, strict=True))  # on the RAW's frame
    finally:
        core.close()


def test_libraw_decodes_the_test_dng_to_its_photo_in_exiftools_orientation(tmp_path: Path) -> None:
    from PIL import Image

    from tagmyphotos.faces.images import load_image
    from tagmyphotos.faces.raw import decode_raw

    info = make_dng(FACES / "couple.jpg", tmp_path / "c.dng", orientation=6, preview_max=None)
    decoded = decode_raw(info.path, tmp_path / "c.jpg", 6)
    assert decoded.sensor == info.raw_size and decoded.libraw_orientation == 6  # LibRaw reads the same tag
    assert decoded.size == (info.raw_size[0] // 2, info.raw_size[1] // 2)  # half size, as stored
    shown = load_image(decoded.path).pixels.astype(float)  # turned upright by the JPEG's orientation
    with Image.open(FACES / "couple.jpg") as im:
        twin = np.asarray(im.convert("RGB").resize((shown.shape[1], shown.shape[0]))).astype(float)
    assert np.abs(shown - twin).mean() < 20  # the same picture (colour rendering differs a little)


def test_raw_previews_come_from_the_embedded_jpeg_or_the_twin(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient
    from PIL import Image

    from jobs import runtime
    from tagmyphotos.system import auth
    from tests.support.api import make_app

    lib = tmp_path / "library"
    make_dng(FACES / "couple.jpg", lib / "lone.dng", orientation=6, preview_max=900)  # stored sideways
    shutil.copyfile(FACES / "img2.jpg", lib / "pair.jpg")
    make_dng(FACES / "img2.jpg", lib / "pair.dng", preview_max=300)
    bare = make_dng(FACES / "img2.jpg", lib / "bare.dng", orientation=8, preview_max=None)
    (lib / "broken.cr2").write_bytes(b"II*\0\x08\0\0\0CR\x02\0" + b"\0" * 64)
    core = _core(tmp_path)
    try:
        scan_and_analyze(core)
        app = make_app(core)
        _, key = auth.create_api_key("raw", auth.SCOPE_READ)
        ids = {p.path: p.id for p in m.Photo.select()}
        with TestClient(app) as client:
            def preview(path: str) -> Image.Image:
                resp = client.get(f"/api/v1/photos/{ids[path]}/preview?size=400", headers={"X-API-Key": key})
                assert resp.status_code == 200, resp.text
                return Image.open(io.BytesIO(resp.content))

            lone = preview("lone.dng")
            assert lone.width == 400 and abs(lone.width / lone.height - 2280 / 1588) < 0.01  # the 900 px JPEG, upright
            assert preview("pair.dng").size == preview("pair.jpg").size  # the twin, not the 300 px preview
            shown = preview("bare.dng")  # LibRaw's decode, upright
            assert abs(shown.width / shown.height - bare.raw_size[1] / bare.raw_size[0]) < 0.01
            broken = client.get(f"/api/v1/photos/{ids['broken.cr2']}/preview", headers={"X-API-Key": key})
            assert broken.status_code in (404, 422)
    finally:
        runtime.install(None)
        core.close()


@pytest.mark.asyncio
async def test_photo_page_of_a_paired_raw_points_to_its_jpeg(tmp_path: Path) -> None:
    from tests.support.ui_harness import simulated_ui

    lib = tmp_path / "library"
    lib.mkdir()
    shutil.copyfile(FACES / "img2.jpg", lib / "IMG_0009.jpg")
    make_dng(FACES / "img2.jpg", lib / "IMG_0009.dng", preview_max=300)
    core = _core(tmp_path)
    try:
        scan_and_analyze(core)
        raw = m.Photo.get(m.Photo.path == "IMG_0009.dng")
        async with simulated_ui(core) as user:
            await user.open(f"/photo/{raw.id}")
            await user.should_see(marker="photo-twin", retries=20)
            await user.should_see("IMG_0009.jpg")
            await user.should_not_see("No faces found in this photo")
    finally:
        core.close()


def test_a_jpeg_added_after_its_raw_takes_the_raw_over_unless_faces_were_named(tmp_path: Path) -> None:
    lib = tmp_path / "library"
    make_dng(FACES / "img2.jpg", lib / "a.dng", preview_max=600)
    make_dng(FACES / "img3.jpg", lib / "b.dng", preview_max=600)
    core = _core(tmp_path)
    try:
        scan_and_analyze(core)
        a, b = (m.Photo.get(m.Photo.path == p) for p in ("a.dng", "b.dng"))
        assert m.Face.select().where(m.Face.photo.in_([a.id, b.id])).count() == 2  # found in their previews
        _name_all("b.dng", "Named On The Raw")
        shutil.copyfile(FACES / "img2.jpg", lib / "a.jpg")  # exported later, beside the RAW
        shutil.copyfile(FACES / "img3.jpg", lib / "b.jpg")
        scan_and_analyze(core)
        jpeg_a = m.Photo.get(m.Photo.path == "a.jpg")
        assert m.Photo.get_by_id(a.id).faces_from == jpeg_a.id  # one set of faces now: the JPEG's
        assert m.Face.select().where(m.Face.photo == a.id).count() == 0
        assert m.Photo.get_by_id(b.id).faces_from is None  # a name on the RAW is never dropped
        assert m.Face.get(m.Face.photo == b.id).person.name == "Named On The Raw"
    finally:
        core.close()
