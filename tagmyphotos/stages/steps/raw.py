"""Where a RAW file's faces come from: its JPEG twin, the JPEG embedded in it, or LibRaw.

Photographers keep RAW+JPEG pairs (IMG_0001.CR2 beside IMG_0001.JPG) or RAW files only. A RAW
with a JPEG of the same stem in its folder shares that JPEG's faces (one set of faces, so a
name given once tags both files; the RAW gets them in its XMP sidecar). A RAW alone is analysed
on its embedded preview when that is as large as what the detector would see, else on LibRaw's
half-size decode of its sensor data (faces/raw: no preview at all, or a 160 px thumbnail); the
faces are placed on the RAW's own pixel size and orientation, which is what its sidecar's
regions and AppliedToDimensions describe.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from tagmyphotos.core import Core
from tagmyphotos.faces.images import ImageError, probe
from tagmyphotos.faces.raw import decode_raw
from tagmyphotos.library.paths import resolve_inside
from tagmyphotos.metadata.exiftool import ExifToolError, ExifToolSession, UnsafeArgument
from tagmyphotos.metadata.raw import RawPreviewError, extract_preview
from tagmyphotos.metadata.read import read_photo
from tagmyphotos.stages.write import writer
from tagmyphotos.store import models as m

_SIBLING_STATES = (m.PhotoState.PENDING, m.PhotoState.ANALYZING, m.PhotoState.DONE)


@dataclass(frozen=True)
class RawSource:
    """A RAW's own size and orientation, and where its faces come from (one of the two)."""

    photo_id: int
    format: str  # exiftool's file type: DNG, CR2, NEF, ...
    stored: tuple[int, int]  # the RAW's pixels as exiftool reports them (width, height)
    orientation: int
    sibling_id: int | None = None  # the JPEG of a RAW+JPEG pair
    preview: Path | None = None  # the image to analyse: the embedded JPEG or LibRaw's decode
    decoded: bool = False  # `preview` is LibRaw's decode


@dataclass(frozen=True)
class RawImage:
    """The image a lone RAW is analysed and shown from, and the orientation it is shown with."""

    path: Path
    orientation: int
    decoded: bool  # by LibRaw (else the embedded JPEG)


def worth_decoding(preview_side: int, sensor_side: int, detect_max_px: int) -> bool:
    """LibRaw's half-size decode shows the detector more than the embedded JPEG (of long side
    `preview_side`, 0 when there is none) does."""
    return preview_side < min(detect_max_px, sensor_side // 2)


def raw_image(core: Core, session: ExifToolSession, raw: Path, folder: Path, orientation: int,
              stored: tuple[int, int]) -> RawImage:  # fmt: skip
    """The embedded JPEG where it is large enough, else LibRaw's decode, written into `folder`
    (emptied first). Raises RawPreviewError with LibRaw's reason when neither is there; a small
    preview is used when LibRaw cannot decode the file."""
    try:
        preview = extract_preview(session, raw, folder, orientation, stored)
    except RawPreviewError:
        preview = None
    side = 0
    if preview is not None:
        info = probe(preview.path)
        side = max(info.stored_width, info.stored_height)
    analysis = core.cfg.analysis
    if preview is not None and not worth_decoding(side, max(stored), analysis.detect_max_px):
        return RawImage(preview.path, orientation, decoded=False)
    try:
        decoded = decode_raw(raw, folder / "libraw-half.jpg", orientation, analysis.max_image_pixels)
    except ImageError as exc:
        if preview is not None:
            return RawImage(preview.path, orientation, decoded=False)  # small, but what there is
        raise RawPreviewError(f"{exc}; exiftool finds no embedded JPEG preview in it either") from exc
    return RawImage(decoded.path, decoded.orientation, decoded=True)


def jpeg_sibling(photo: m.Photo) -> m.Photo | None:
    """The image file of the same folder and stem (IMG_1.CR2 -> IMG_1.JPG / img_1.jpeg / .HEIC)."""
    folder, _, name = photo.path.rpartition("/")
    stem = name.rsplit(".", 1)[0]
    prefix = f"{folder}/{stem}." if folder else f"{stem}."
    query = m.Photo.select().where(
        (m.Photo.kind == "image") & m.Photo.path.startswith(prefix) & m.Photo.state.in_(_SIBLING_STATES)
    )
    for row in query.order_by(m.Photo.path):
        rest = row.path[len(prefix) :]
        if row.path[: len(prefix)].casefold() == prefix.casefold() and rest and not {".", "/"} & set(rest):
            return row
    return None


def adopt_raw_twins(core: Core, photo: m.Photo) -> int:
    """A JPEG analysed after its RAW (exported later, or copied in later): the RAW, analysed
    alone from its preview, now shares the JPEG's faces, unless the user named faces on it
    (a name is never dropped silently). Returns the RAWs linked."""
    folder, _, name = photo.path.rpartition("/")
    stem = name.rsplit(".", 1)[0]
    prefix = f"{folder}/{stem}." if folder else f"{stem}."
    linked = 0
    query = m.Photo.select().where(
        (m.Photo.kind == "raw") & m.Photo.path.startswith(prefix) & m.Photo.faces_from.is_null()
        & (m.Photo.state == m.PhotoState.DONE)
    )  # fmt: skip
    for raw in query:
        rest = raw.path[len(prefix) :]
        if raw.path[: len(prefix)].casefold() != prefix.casefold() or not rest or {".", "/"} & set(rest):
            continue
        faces = list(m.Face.select().where(m.Face.photo == raw.id))
        if any(f.state == m.FaceState.CONFIRMED for f in faces):
            continue
        with m.database.atomic():
            m.Face.delete().where(m.Face.photo == raw.id).execute()
            m.Photo.update(faces_from=photo.id).where(m.Photo.id == raw.id).execute()
        for face in faces:
            if face.thumb:
                (core.cfg.data / face.thumb).unlink(missing_ok=True)
        linked += 1
    return linked


def preview_folder(core: Core, photo_id: int) -> Path:
    return core.cfg.data / "tmp" / "raw-previews" / str(photo_id)


def raw_source(core: Core, photo: m.Photo) -> RawSource:
    """Read the RAW's size and orientation; pair it or extract its preview (RawPreviewError)."""
    path = core.cfg.library / photo.path
    session = writer(core).session
    try:
        meta = read_photo(session, path, naming=core.cfg.write.sidecar_naming, with_hash=False)
    except (ExifToolError, UnsafeArgument) as exc:
        raise RawPreviewError(f"exiftool cannot read this RAW file: {exc}") from exc
    if meta.error or not meta.width or not meta.height:
        raise RawPreviewError(f"exiftool cannot read this RAW file: {meta.error or 'no image size in it'}")
    base = RawSource(photo.id, meta.file_type, (meta.width, meta.height), meta.orientation)
    sibling = jpeg_sibling(photo)
    if sibling is not None:
        return replace(base, sibling_id=sibling.id)
    try:
        image = raw_image(core, session, path, preview_folder(core, photo.id), meta.orientation, base.stored)
    except (ExifToolError, UnsafeArgument, OSError) as exc:
        raise RawPreviewError(f"could not take the preview out of this RAW file: {exc}") from exc
    return replace(base, preview=image.path, orientation=image.orientation, decoded=image.decoded)


@contextmanager
def shown_from(core: Core, photo: m.Photo, real: Path) -> Iterator[Path]:
    """The image a photo is shown from (`real`: its resolved path): itself; a RAW its JPEG twin,
    or else what it was analysed on (its embedded JPEG or LibRaw's decode, `raw_image`), made for
    the duration (raises RawPreviewError without either). A browser shows none of the RAW
    formats, and that image is what the faces were found on."""
    if photo.kind != "raw":
        yield real
        return
    twin = m.Photo.get_or_none(m.Photo.id == photo.faces_from) if photo.faces_from else None
    if twin is not None:
        yield resolve_inside(core.cfg.library, twin.path)
        return
    folder = core.cfg.data / "tmp" / "raw-shown" / uuid.uuid4().hex
    try:
        with ExifToolSession(core.cfg.write.exiftool or None) as session:  # the calling thread's own
            image = raw_image(core, session, real, folder, photo.orientation or 1, (photo.width or 0,
                                                                                   photo.height or 0))  # fmt: skip
        yield image.path
    except (ExifToolError, UnsafeArgument, OSError) as exc:
        raise RawPreviewError(f"could not take the preview out of this RAW file: {exc}") from exc
    finally:
        shutil.rmtree(folder, ignore_errors=True)
