"""/photos: list and filter, detail with faces and write state, a scaled preview, the original.

Previews are decoded on demand (JPEG draft decoding makes a 1024 px preview of a 12 MP photo
cost ~50 ms) and cached by the browser through an ETag made of the file's content hash, so
nothing is stored on the NAS's disk for them.
"""

from __future__ import annotations

import datetime as dt
import io
import mimetypes
import os
import urllib.parse
from collections.abc import Iterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import FileResponse, StreamingResponse
from PIL import Image
from pydantic import BaseModel, ConfigDict, Field, StrictBool, model_validator

from tagmyphotos.core import Core
from tagmyphotos.faces.images import ImageError, load_image
from tagmyphotos.library import paths
from tagmyphotos.metadata.raw import RawPreviewError
from tagmyphotos.review import mark, photos
from tagmyphotos.stages.steps import purge, raw
from tagmyphotos.store import models as m

from .deps import IdPath, Page, PageParams, get_core, page_params
from .errors import ProblemRoute
from .faces import Who
from .problems import ApiProblem, problem_responses
from .schemas import (
    API_PREFIX,
    FOLDER_PATTERN,
    MAX_ID,
    PATH_PATTERN,
    TEXT_PATTERN,
    FaceOut,
    RequestBody,
    ReviewResultOut,
    at_most_one,
)  # fmt: skip
from .writes import WriteAuditOut, audit_out

router = APIRouter(prefix="/photos", tags=["photos"], route_class=ProblemRoute)

# Preview sizes (long side, px) a client may ask for; the default suits a review screen.
PREVIEW_MIN_PX, PREVIEW_MAX_PX, PREVIEW_DEFAULT_PX = 64, 2048, 1024
PREVIEW_JPEG_QUALITY = 82
PREVIEW_CACHE = "private, max-age=86400"
# Largest coordinate a face box may give (px): beyond any photo analysis accepts.
MAX_BOX_PX = 1_000_000
# Write attempts a photo's detail lists (the audit log has them all).
WRITES_SHOWN = 10


# A day in a query: RFC 3339 full-date (the year 0 does not exist).
DATE_QUERY: dict[str, Any] = {"format": "date", "pattern": r"^(?!0000)[0-9]{4}-[0-9]{2}-[0-9]{2}$"}


def iso_day(value: str | None, name: str) -> dt.date | None:
    """A YYYY-MM-DD query value as a date; 422 for anything else (a number is not a day)."""
    if value is None:
        return None
    try:
        if len(value) != 10 or not value.isascii() or not value.replace("-", "").isdigit():
            raise ValueError(value)
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ApiProblem(422, f"{name}: give a day as YYYY-MM-DD", "validation") from None


class PhotoOut(BaseModel):
    """A photo of the library (never moved or renamed by us)."""

    id: int
    path: str = Field(description="relative to the library root, '/'-separated")
    kind: str = Field(description="image | raw")
    format: str | None = Field(None, description="by content: JPEG, PNG, WEBP, HEIF, TIFF, ...")
    size: int = Field(description="bytes")
    width: int | None = Field(None, description="as displayed (after EXIF orientation)")
    height: int | None = None
    orientation: int
    state: str = Field(description="pending | done | failed | error | missing")
    error: str | None = Field(None, description="why analysis or reading failed")
    faces: int = Field(0, description="faces found")
    unknown_faces: int = Field(0, description="faces with no name and no suggestion")
    confirmed_faces: int = 0
    written: bool = Field(description="names have been written into the file or its sidecar")
    write_error: str | None = None
    mtime: float
    preview_url: str


class PhotoNameOut(BaseModel):
    """A person named on the photo, and where the name came from."""

    person_id: int
    name: str
    sources: list[str] = Field(
        description="the file's tags that name the person (XMP-iptcExt:PersonInImage, XMP-lr:HierarchicalSubject, "
        "XMP-digiKam:TagsList, XMP-dc:Subject, XMP-mwg-rs:RegionInfo, XMP-MP:RegionInfoMP), 'Google Takeout' (the "
        "JSON file beside the photo in a Google Photos export), 'immich' or "
        "'photoprism' (imported from there), or 'review' for a name given in Tag My Photos"
    )
    face_id: int | None = Field(None, description="the face confirmed for this person")
    status: str = Field(description="face: on a confirmed face; suggested: a face here is suggested for the person; "
                                    "photo: named by the file on no face (kept as is when writing)")  # fmt: skip


class PhotoDetail(PhotoOut):
    face_list: list[FaceOut] = Field(description="faces in this photo, left to right")
    names: list[PhotoNameOut] = Field(description="people named on this photo, with where each name came from")
    written_signature: str | None = Field(None, description="fingerprint of what we last wrote")
    writes: list[WriteAuditOut] = Field(description="the latest write attempts, newest first")
    original_url: str


class MarkFace(Who):
    """A face the detector missed: its box in the photo as displayed (EXIF orientation applied),
    full-resolution pixels; optionally who it is (by id or by name, not both)."""

    model_config = ConfigDict(json_schema_extra=at_most_one("person_id", "name"))

    x: float = Field(ge=-MAX_BOX_PX, le=MAX_BOX_PX, description="left edge; a box over the edge is clamped")
    y: float = Field(ge=-MAX_BOX_PX, le=MAX_BOX_PX, description="top edge")
    w: float = Field(gt=0, le=MAX_BOX_PX, description="width (at least analysis.min_face_px inside the photo)")
    h: float = Field(gt=0, le=MAX_BOX_PX, description="height")

    @model_validator(mode="after")
    def _at_most_one(self) -> MarkFace:
        if self.person_id is not None and self.name is not None:
            raise ValueError("give person_id or name, not both")
        return self


class PersonTagOut(BaseModel):
    id: int
    name: str
    on_face: bool = Field(True, description="false: named by the photo's own tags on no face we know")


class PhotoListItem(PhotoOut):
    """A photo in a list: with the people named in it."""

    unnamed_faces: int = Field(0, description="faces without a confirmed name (unknown or suggested)")
    people: list[PersonTagOut] = Field(description="people confirmed in this photo (and photo-level names)")

    @classmethod
    def of(cls, card: photos.PhotoCard) -> PhotoListItem:
        data = {k: v for k, v in card.__dict__.items() if k != "people"}
        return cls(**data, people=[PersonTagOut(id=t.id, name=t.name, on_face=t.on_face) for t in card.people],
                   preview_url=f"{API_PREFIX}/photos/{card.id}/preview")  # fmt: skip


@router.get(
    "", response_model=Page[PhotoListItem], summary="List photos; find photos by people",
    responses=problem_responses(400, 404),
    description="Photos with several people (`people=1&people=2`, `mode` all / any / only), in a folder, "
    "in a date range, with unnamed faces, ... `only` = all of them and no other named person (add "
    "`has_unnamed_faces=false` for nobody else at all). Dates are the files' modification dates (the "
    "server's local days; no EXIF taken date is stored). Order by a field, '-' for descending.",
)  # fmt: skip
def list_photos(
    page: PageParams = Depends(page_params),
    people: list[Annotated[int, Field(ge=1, le=MAX_ID)]] = Query(
        [], max_length=50, description="person ids (repeat the parameter)"
    ),
    mode: Literal["all", "any", "only"] = Query("all", description="how `people` combine"),
    person_id: int | None = Query(None, ge=1, le=MAX_ID, description="one person (same as people=ID)"),
    date_from: str | None = Query(
        None, description="first day (file modification date), YYYY-MM-DD", json_schema_extra=DATE_QUERY
    ),
    date_to: str | None = Query(
        None, description="last day, inclusive (before date_from: no photo)", json_schema_extra=DATE_QUERY
    ),
    has_unnamed_faces: bool | None = Query(None, description="photos with (or without) faces not yet named"),
    state: Literal["pending", "done", "failed", "error", "missing"] | None = Query(None),
    folder: str | None = Query(
        None,
        description="library-relative folder ('': the library's root)",
        json_schema_extra={"pattern": FOLDER_PATTERN},
    ),
    recursive: bool = Query(True, description="include sub-folders of `folder`"),
    has_unknown_faces: bool | None = Query(
        None, description="photos with (or without) faces with no name and no suggestion"
    ),  # fmt: skip
    has_error: bool | None = Query(None, description="analysis/read failed or the last write failed"),
    written: bool | None = Query(None, description="names written into the file (or not)"),
    q: str | None = Query(
        None, max_length=200, description="text the path contains", json_schema_extra={"pattern": TEXT_PATTERN}
    ),
    order: Literal["path", "-path", "date", "-date", "mtime", "-mtime", "size", "-size", "id", "-id"] = "path",
) -> dict:
    first, last = iso_day(date_from, "date_from"), iso_day(date_to, "date_to")
    if first and last and first > last:  # an empty range: no photo is in it
        return {"items": [], "total": 0, "limit": page.limit, "offset": page.offset}
    start, end = photos.day_bounds(first, last)
    chosen = tuple(people) + ((person_id,) if person_id is not None else ())
    flt = photos.PhotoFilter(
        people=chosen, mode=mode, folder=folder, recursive=recursive, date_from=start, date_to=end,
        has_unnamed_faces=has_unnamed_faces, has_unknown_faces=has_unknown_faces, state=state,
        has_error=has_error, written=written, text=q or None, order=order.replace("mtime", "date"),
    )  # fmt: skip
    found = photos.find_photos(flt, page.offset, page.limit)
    items = [PhotoListItem.of(card) for card in found.items]
    return {"items": items, "total": found.total, "limit": page.limit, "offset": page.offset}


class PurgeIn(RequestBody):
    dry_run: StrictBool = Field(True, description="only count (the default); false forgets them")


class PurgeOut(BaseModel):
    missing: int = Field(description="photos marked missing by the last scans")
    purged: int = Field(description="photos forgotten (0 in a dry run)")
    faces: int = Field(description="their faces (forgotten with them)")
    named_faces: int = Field(description="of those, faces with a confirmed name")
    dry_run: bool


@router.post(
    "/purge", response_model=PurgeOut, summary="Forget photos marked missing (a dry-run count by default)",
    description="A photo gone from the library is marked missing and keeps its faces and names (it may be on "
    "a disk that is not mounted). Purging forgets those photos, their faces and names; no file is touched. "
    "Send `{\"dry_run\": false}` to purge; the default only counts.",
)  # fmt: skip
def purge_missing(body: PurgeIn, core: Core = Depends(get_core)) -> PurgeOut:
    return PurgeOut(**purge.purge_missing(core, dry_run=body.dry_run).to_dict())


def _detail(info: photos.PhotoInfo | None, missing: str) -> PhotoDetail:
    if info is None:
        raise ApiProblem(404, missing)
    card = {k: v for k, v in info.__dict__.items() if k in PhotoOut.model_fields}
    audits = m.WriteAudit.select().where(m.WriteAudit.photo == info.id).order_by(m.WriteAudit.id.desc())
    return PhotoDetail(
        **card,
        preview_url=f"{API_PREFIX}/photos/{info.id}/preview",
        face_list=[FaceOut.of(f) for f in info.face_list],
        names=[PhotoNameOut(**n.to_dict()) for n in info.names],
        written_signature=info.written_signature,
        writes=[audit_out(a) for a in audits.limit(WRITES_SHOWN)],
        original_url=f"{API_PREFIX}/photos/{info.id}/original",
    )


def _photo(photo_id: int) -> m.Photo:
    photo = m.Photo.get_or_none(m.Photo.id == photo_id)
    if photo is None:
        raise ApiProblem(404, f"no photo with id {photo_id}")
    return photo


@router.get(
    "/by-path", response_model=PhotoDetail, summary="Find a photo by its library path",
    responses=problem_responses(400, 404),
)  # fmt: skip
def photo_by_path(
    path: str = Query(
        ..., min_length=1, description="library-relative path", json_schema_extra={"pattern": PATH_PATTERN}
    ),
    core: Core = Depends(get_core),
) -> PhotoDetail:
    rel = paths.clean_relative(path)
    paths.resolve_inside(core.library, rel, must_exist=False)  # refuses links out of the library
    return _detail(photos.photo_detail_at(rel), f"no photo at {rel} (scan the library if it is new)")


@router.get(
    "/{photo_id:int}", response_model=PhotoDetail, summary="A photo with its faces and write state",
    responses=problem_responses(404),
)  # fmt: skip
def get_photo(photo_id: IdPath) -> PhotoDetail:
    return _detail(photos.photo_detail(photo_id), f"no photo with id {photo_id}")


def _etag_match(request: Request, etag: str) -> bool:
    given = request.headers.get("if-none-match", "")
    return any(tag.strip() in (etag, "*", "W/" + etag) for tag in given.split(","))


@router.get(
    "/{photo_id:int}/preview", summary="A scaled JPEG preview, oriented as displayed",
    response_class=Response, responses={200: {"content": {"image/jpeg": {}}}, **problem_responses(404, 422)},
)  # fmt: skip
def photo_preview(
    photo_id: IdPath,
    request: Request,
    size: int = Query(PREVIEW_DEFAULT_PX, ge=PREVIEW_MIN_PX, le=PREVIEW_MAX_PX, description="long side, px"),
    core: Core = Depends(get_core),
) -> Response:
    photo = _photo(photo_id)
    etag = f'"{photo.hash or photo.mtime}-{size}"'
    headers = {"ETag": etag, "Cache-Control": PREVIEW_CACHE}
    if _etag_match(request, etag):
        return Response(status_code=304, headers=headers)
    real = paths.resolve_inside(core.library, photo.path)
    try:
        with raw.shown_from(core, photo, real) as source:  # a RAW: its JPEG twin or embedded JPEG
            loaded = load_image(source, max_side=size, max_pixels=core.cfg.analysis.max_image_pixels)
    except (ImageError, RawPreviewError) as exc:
        raise ApiProblem(422, f"no preview: {exc}", "no-preview") from exc
    image = Image.fromarray(loaded.pixels)
    image.thumbnail((size, size), Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    image.save(buf, "JPEG", quality=PREVIEW_JPEG_QUALITY, optimize=True)
    return Response(buf.getvalue(), media_type="image/jpeg", headers=headers)


@router.get(
    "/{photo_id:int}/original", summary="The original file, byte for byte",
    response_class=FileResponse, responses={200: {"content": {"image/*": {}, "application/octet-stream": {}}},
                                            **problem_responses(404)},
)  # fmt: skip
def photo_original(photo_id: IdPath, core: Core = Depends(get_core)) -> StreamingResponse:
    photo = _photo(photo_id)
    try:
        # opened with O_NOFOLLOW after the check: a file swapped for a symlink is refused
        real, fd = paths.open_inside(core.library, photo.path)
    except paths.PathNotFound as exc:
        raise ApiProblem(404, f"{photo.path} is not a file in the library any more") from exc
    size = os.fstat(fd).st_size
    stream = os.fdopen(fd, "rb")

    def chunks() -> Iterator[bytes]:
        with stream:
            while block := stream.read(1 << 20):
                yield block

    media = mimetypes.guess_type(real.name)[0] or "application/octet-stream"
    disposition = f"inline; filename*=UTF-8''{urllib.parse.quote(real.name)}"
    return StreamingResponse(
        chunks(), media_type=media, headers={"Content-Disposition": disposition, "Content-Length": str(size)}
    )


@router.post(
    "/{photo_id:int}/faces", response_model=ReviewResultOut, status_code=201,
    summary="Mark a face the detector missed (and name it)", responses=problem_responses(400, 404, 409, 422),
    description="The box is checked against the photo and its minimum face size; when a detector finds a "
    "face in it, it is embedded and teaches the matcher, otherwise it only names the photo (`warnings` says "
    "so). A name already on another face of the photo moves to the new face (`displaced`). "
    "409 when the box marks a face the photo already has. Undo with POST /review/undo.",
)  # fmt: skip
def mark_face(photo_id: IdPath, body: MarkFace, core: Core = Depends(get_core)) -> ReviewResultOut:
    _photo(photo_id)
    box = (body.x, body.y, body.w, body.h)
    return ReviewResultOut.of(mark.add_face(core, photo_id, box, body.who()))
