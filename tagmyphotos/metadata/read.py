"""Read people tags already in a photo or its XMP sidecar: MWG and Microsoft face regions,
PersonInImage and keyword lists, plus what the writer needs to know about the file itself.

Region boxes are returned in the ORIENTED view (the photo as displayed after EXIF
orientation), normalized 0..1, top-left based, like every other box of the pipeline; the raw
structures are kept exactly as read (numbers as text) so the writer can put foreign regions
back untouched. One exiftool command reads the photo and its sidecar together.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy.optimize import linear_sum_assignment

from tagmyphotos import tuning
from tagmyphotos.config import PHOTO_EXTENSIONS, RAW_EXTENSIONS
from tagmyphotos.geometry import NormBox, to_oriented, valid_orientation
from tagmyphotos.jpeg import is_jpeg, jpeg_image_digest
from tagmyphotos.metadata.exiftool import ExifToolSession, RunResult, path_arg
from tagmyphotos.metadata.heif import FRAME_TAGS, shown_size

_PHOTO_SUFFIXES = frozenset((*PHOTO_EXTENSIONS, *RAW_EXTENSIONS))
MWG_TAG = "XMP-mwg-rs:RegionInfo"
MP_TAG = "XMP-MP:RegionInfoMP"
PERSON_IN_IMAGE = "XMP-iptcExt:PersonInImage"
SUBJECT = "XMP-dc:Subject"
HIERARCHICAL = "XMP-lr:HierarchicalSubject"
DIGIKAM_TAGS = "XMP-digiKam:TagsList"
MS_LAST_KEYWORD = "XMP-microsoft:LastKeywordXMP"
CATALOG_SETS = "XMP-mediapro:CatalogSets"
IPTC_KEYWORDS = "IPTC:Keywords"
KEYWORD_TAGS = (
    PERSON_IN_IMAGE,
    SUBJECT,
    HIERARCHICAL,
    DIGIKAM_TAGS,
    MS_LAST_KEYWORD,
    CATALOG_SETS,
    IPTC_KEYWORDS,
)
SIDECAR_NAMINGS = ("photo.jpg.xmp", "photo.xmp")

_TAG_ARGS = [f"-{MWG_TAG}", f"-{MP_TAG}", *(f"-{t}" for t in KEYWORD_TAGS)]
_COMMON_ARGS = ["-struct", "-n", "-G1", "-Warning", "-Error", "-FileType", "-FileTypeExtension", "-Orientation"]
_READ_ARGS = [*_COMMON_ARGS, "-Composite:ImageSize", *FRAME_TAGS, *_TAG_ARGS]
# JPEG (by content): the size is the frame header's (what Composite:ImageSize gives for every
# JPEG), so exiftool need not build its composite tags (-e): ~1 CPU ms less per read.
_JPEG_READ_ARGS = [*_COMMON_ARGS, "-File:ImageWidth", "-File:ImageHeight", *_TAG_ARGS, "-e"]


def as_list(value: Any) -> list[Any]:
    """exiftool's -j gives a one-item list as a scalar; None/absent is an empty list."""
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


@dataclass(frozen=True)
class FileRegion:
    """One region found in a file."""

    name: str | None  # as written by the tool (not sanitised)
    type: str | None  # MWG Type: Face, Pet, Focus, BarCode; "Face" for Microsoft regions
    box: NormBox | None  # ORIENTED view; None when the region has no usable rectangle
    source: str  # "mwg" or "mp"
    raw: dict[str, Any]  # the structure exactly as read (numbers as text)

    @property
    def is_named_face(self) -> bool:
        return bool(self.name) and (self.type or "Face") == "Face"


@dataclass
class TagSet:
    """The people-related tags of one file (the photo itself or its sidecar)."""

    path: Path
    mwg: dict[str, Any] | None = None  # raw XMP-mwg-rs:RegionInfo
    mp: dict[str, Any] | None = None  # raw XMP-MP:RegionInfoMP
    keywords: dict[str, list[str]] = field(default_factory=dict)  # tag -> values
    mwg_regions: list[FileRegion] = field(default_factory=list)
    mp_regions: list[FileRegion] = field(default_factory=list)


@dataclass
class PhotoMetadata:
    """What exiftool says about a photo (by content, not extension) and its tags."""

    path: Path
    file_type: str  # exiftool FileType from content: JPEG, PNG, WEBP, Extended WEBP, HEIC, ...
    type_extension: str  # exiftool's extension for that content, lower case: jpg, webp, heic, ...
    width: int  # stored pixels (0 when exiftool could not tell: damaged or unknown file); HEIC/AVIF: as shown
    height: int
    orientation: int  # EXIF orientation 1..8; HEIC/AVIF: 1 (metadata/heif)
    image_data_hash: str  # image-data digest; "" when not asked, not hashable or damaged
    embedded: TagSet
    sidecar: TagSet | None
    warnings: list[str]
    error: str

    @property
    def effective(self) -> TagSet:
        """The tags a viewer sees: the sidecar's where it has them, the photo's otherwise."""
        if self.sidecar is None:
            return self.embedded
        s, e = self.sidecar, self.embedded
        keywords = {t: (s.keywords[t] if t in s.keywords else e.keywords.get(t, [])) for t in KEYWORD_TAGS}
        out = TagSet(self.path, keywords={t: v for t, v in keywords.items() if v})
        out.mwg, out.mwg_regions = (s.mwg, s.mwg_regions) if s.mwg is not None else (e.mwg, e.mwg_regions)
        out.mp, out.mp_regions = (s.mp, s.mp_regions) if s.mp is not None else (e.mp, e.mp_regions)
        return out

    def named_faces(self) -> list[FileRegion]:
        """Named face regions with a box: every MWG one (a person may appear twice, e.g. in a
        mirror), then Microsoft ones only for names MWG does not have (tools write both)."""
        tags = self.effective
        usable = [r for r in tags.mwg_regions if r.is_named_face and r.box is not None and r.box.area > 0]
        names = {r.name for r in usable}
        for r in tags.mp_regions:
            if r.is_named_face and r.box is not None and r.box.area > 0 and r.name not in names:
                usable.append(r)
                names.add(r.name)
        return usable

    def person_names(self) -> list[str]:
        """Every person named in regions or PersonInImage, in order of appearance."""
        tags = self.effective
        names = [r.name for r in [*tags.mwg_regions, *tags.mp_regions] if r.is_named_face and r.name]
        names += tags.keywords.get(PERSON_IN_IMAGE, [])
        return list(dict.fromkeys(names))


def sidecar_candidates(photo: Path, naming: str = "photo.jpg.xmp") -> list[Path]:
    """Possible sidecar paths, the configured naming first.

    Photos whose names differ only in the extension (`a.jpg`, `a.png`) would share `a.xmp`:
    for them only `photo.ext.xmp` is a candidate, whatever the naming (issue 25, item 7).
    """
    appended = [photo.with_name(photo.name + ".xmp"), photo.with_name(photo.name + ".XMP")]
    replaced = [photo.with_suffix(".xmp"), photo.with_suffix(".XMP")]
    if naming not in SIDECAR_NAMINGS:
        raise ValueError(f"sidecar naming must be one of {SIDECAR_NAMINGS}, not {naming!r}")
    if stem_shared_with(photo):
        return appended
    return appended + replaced if naming == "photo.jpg.xmp" else replaced + appended


def stem_shared_with(photo: Path) -> list[str]:
    """The other photos in the folder with the same name but for the extension (any case)."""
    try:
        stems = _photo_stems(str(photo.parent), photo.parent.stat().st_mtime_ns)
    except OSError:
        return []
    return [name for name in stems.get(photo.stem.casefold(), ()) if name != photo.name]


def find_sidecar(photo: Path, naming: str = "photo.jpg.xmp") -> Path | None:
    """The existing sidecar of a photo (configured naming preferred), or None."""
    for p in sidecar_candidates(photo, naming):
        if p.is_file() and p != photo:
            return p
    return None


@functools.lru_cache(maxsize=64)
def _photo_stems(folder: str, mtime_ns: int) -> dict[str, tuple[str, ...]]:
    """Photo file names of a folder by stem (casefolded); cached until the folder changes."""
    found: dict[str, list[str]] = {}
    with os.scandir(folder) as entries:
        for entry in entries:
            stem, dot, ext = entry.name.rpartition(".")
            if dot and stem and ext.lower() in _PHOTO_SUFFIXES:
                found.setdefault(stem.casefold(), []).append(entry.name)
    return {stem: tuple(names) for stem, names in found.items() if len(names) > 1}


def _num(value: Any) -> float | None:
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return f if np.isfinite(f) else None


def _size(entry: dict[str, Any]) -> tuple[int, int]:
    parts = str(entry.get("Composite:ImageSize") or "").replace("x", " ").split()
    if "File:ImageWidth" in entry:  # a JPEG's frame header (_JPEG_READ_ARGS)
        parts = [str(entry["File:ImageWidth"]), str(entry.get("File:ImageHeight"))]
    if len(parts) == 2 and all(p.isdigit() for p in parts):
        return int(parts[0]), int(parts[1])
    return 0, 0


def _orientation(entry: dict[str, Any]) -> int | None:
    for key in ("IFD0:Orientation", "XMP-tiff:Orientation"):
        if key in entry:
            return valid_orientation(entry[key])
    other = [v for k, v in entry.items() if k.endswith(":Orientation")]
    return valid_orientation(other[0]) if other else None


def regions_in_display_frame(mwg: dict[str, Any], width: int, height: int, orientation: int) -> bool:
    """Some tools write regions on the displayed image; their AppliedToDimensions say so
    (width and height swapped against the stored pixels of a 90-degree-rotated photo)."""
    dims = mwg.get("AppliedToDimensions")
    if orientation < 5 or width == height or not isinstance(dims, dict):
        return False
    w, h = _num(dims.get("W")), _num(dims.get("H"))
    return w == height and h == width


def parse_mwg(mwg: Any, width: int, height: int, orientation: int) -> list[FileRegion]:
    if not isinstance(mwg, dict):
        return []
    frame = 1 if regions_in_display_frame(mwg, width, height, orientation) else orientation
    out = []
    for raw in as_list(mwg.get("RegionList")):
        if not isinstance(raw, dict):
            continue
        area: dict[str, Any] = raw["Area"] if isinstance(raw.get("Area"), dict) else {}
        x, y, w, h = (_num(area.get(k)) for k in ("X", "Y", "W", "H"))
        unit = str(area.get("Unit") or "normalized")
        box = None
        if None not in (x, y, w, h) and unit == "normalized":
            box = to_oriented(NormBox.from_center(x, y, w, h), frame)  # type: ignore[arg-type]
        name = raw.get("Name")
        out.append(FileRegion(None if name is None else str(name), raw.get("Type"), box, "mwg", raw))
    return out


def parse_mp(mp: Any, orientation: int) -> list[FileRegion]:
    """Microsoft regions: "x, y, w, h" top-left rectangles, read on the stored pixels like MWG
    (exiftool's convert_regions maps them to MWG without any rotation)."""
    if not isinstance(mp, dict):
        return []
    out = []
    for raw in as_list(mp.get("Regions")):
        if not isinstance(raw, dict):
            continue
        nums = [_num(p) for p in str(raw.get("Rectangle") or "").split(",")]
        box = None
        if len(nums) == 4 and None not in nums:
            box = to_oriented(NormBox(*nums), orientation)  # type: ignore[arg-type]
        name = raw.get("PersonDisplayName")
        out.append(FileRegion(None if name is None else str(name), "Face", box, "mp", raw))
    return out


def _tagset(path: Path, entry: dict[str, Any], width: int, height: int, orientation: int) -> TagSet:
    mwg = entry.get(MWG_TAG) if isinstance(entry.get(MWG_TAG), dict) else None
    mp = entry.get(MP_TAG) if isinstance(entry.get(MP_TAG), dict) else None
    keywords = {t: [str(v) for v in as_list(entry.get(t))] for t in KEYWORD_TAGS if entry.get(t) is not None}
    return TagSet(
        path,
        mwg,
        mp,
        keywords,
        parse_mwg(mwg, width, height, orientation),
        parse_mp(mp, orientation),
    )


@dataclass(frozen=True)
class ReadRequest:
    """One exiftool read of a photo (and sidecar), built first so it can be batched."""

    photo: Path
    files: list[str]  # the photo, then the sidecar if any
    args: list[str]
    jpeg: bool
    with_hash: bool


def read_request(
    photo: Path, sidecar: Path | None = None, naming: str = "photo.jpg.xmp", with_hash: bool = True
) -> ReadRequest:
    """The read of a photo and its sidecar: `sidecar` (read even if it does not exist yet, so a
    read batched after the write that creates it sees it) or the existing one found by naming.

    `with_hash`: also compute the image-data digest (JPEG: `jpeg_image_digest`; other formats:
    exiftool's ImageDataHash, MD5, prefixed "exiftool-md5:"). Imports can skip it.
    """
    photo = Path(path_arg(photo))
    side = sidecar if sidecar is not None else find_sidecar(photo, naming)
    files = [path_arg(photo)] + ([path_arg(side)] if side is not None else [])
    jpeg = is_jpeg(photo)
    # -fast2: stop a JPEG at its first scan (metadata is all before it); the digest is ours.
    args = [*_JPEG_READ_ARGS, "-fast2"] if jpeg else [*_READ_ARGS, *(["-ImageDataHash"] if with_hash else [])]
    return ReadRequest(photo, files, ["-j", *args, *files], jpeg, with_hash)


def parse_read(req: ReadRequest, result: RunResult) -> PhotoMetadata:
    """The PhotoMetadata of a finished `read_request`."""
    photo, files = req.photo, req.files
    by_path = {str(e.get("SourceFile")): e for e in ExifToolSession.parse_json(result)}
    entry = by_path.get(files[0])
    if entry is None:
        detail = result.stderr or "exiftool could not read it"
        return PhotoMetadata(photo, "", "", 0, 0, 1, "", TagSet(photo), None, [], detail)
    width, height = _size(entry)
    orientation = _orientation(entry)
    side_entry = by_path.get(files[1]) if len(files) > 1 else None
    if orientation is None and side_entry is not None:  # e.g. a RAW whose orientation only the sidecar has
        orientation = _orientation(side_entry)
    orientation = orientation or 1
    file_type = str(entry.get("File:FileType") or "")
    shown = shown_size(file_type, entry, width, height)
    if shown is not None:  # HEIC/AVIF: the frame viewers show (metadata/heif)
        (width, height), orientation = shown, 1
    warnings = [str(w) for w in as_list(entry.get("ExifTool:Warning"))]
    image_hash = ""
    if req.with_hash:
        exiftool_hash = str(entry.get("File:ImageDataHash") or "")
        image_hash = jpeg_image_digest(photo) if req.jpeg else (exiftool_hash and "exiftool-md5:" + exiftool_hash)
    return PhotoMetadata(
        path=photo,
        file_type=file_type,
        type_extension=str(entry.get("File:FileTypeExtension") or "").lower(),
        width=width,
        height=height,
        orientation=orientation,
        image_data_hash=image_hash,
        embedded=_tagset(photo, entry, width, height, orientation),
        sidecar=None if side_entry is None else _tagset(Path(files[1]), side_entry, width, height, orientation),
        warnings=warnings,
        error=str(entry.get("ExifTool:Error") or ""),
    )


def read_photo(
    session: ExifToolSession,
    photo: Path,
    sidecar: Path | None = None,
    naming: str = "photo.jpg.xmp",
    with_hash: bool = True,
) -> PhotoMetadata:
    """Read a photo and its sidecar now (see `read_request`)."""
    req = read_request(photo, sidecar, naming, with_hash)
    return parse_read(req, session.run(req.args))


@dataclass(frozen=True)
class RegionMatch:
    region_index: int
    face_index: int
    iou: float


def match_regions_to_faces(
    regions: Sequence[NormBox | None], faces: Sequence[NormBox], min_iou: float = tuning.IMPORT_MATCH_MIN_IOU
) -> list[RegionMatch]:
    """One-to-one matching of file regions to detected faces (both oriented) maximising total IoU;
    pairs below `min_iou` are not matches (a region without a box matches nothing). Unmatched
    regions are faces the detector missed."""
    if not regions or not faces:
        return []
    iou = np.array([[r.iou(f) if r is not None else 0.0 for f in faces] for r in regions], dtype=np.float64)
    rows, cols = linear_sum_assignment(-iou)
    return [
        RegionMatch(int(r), int(c), float(iou[r, c])) for r, c in zip(rows, cols, strict=True) if iou[r, c] >= min_iou
    ]
