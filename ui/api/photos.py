"""/photos: list and filter, detail with faces and write state, a scaled preview, the original.

Previews are decoded on demand (JPEG draft decoding makes a 1024 px preview of a 12 MP photo
cost ~50 ms) and cached by the browser through an ETag made of the file's content hash, so
nothing is stored on the NAS's disk for them.
"""

from __future__ import annotations

import io
import mimetypes
import os
import urllib.parse
from collections.abc import Iterator
from typing import Any, Literal

import peewee as pw
from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import FileResponse, StreamingResponse
from PIL import Image
from pydantic import BaseModel, Field, model_validator

from tagmyphotos.core import Core
from tagmyphotos.faces.images import ImageError, load_image
from tagmyphotos.library import paths
from tagmyphotos.review import mark
from tagmyphotos.store import models as m
from tagmyphotos.store.views import face_views

from .deps import MAX_ID, IdPath, Page, PageParams, get_core, order_by, page_params, paginate
from .errors import ApiProblem, ProblemRoute, problem_responses
from .faces import Who
from .schemas import API_PREFIX, FaceOut, ReviewResultOut, faces_query
from .writes import WriteAuditOut, audit_out

router = APIRouter(prefix="/photos", tags=["photos"], route_class=ProblemRoute)

# Preview sizes (long side, px) a client may ask for; the default suits a review screen.
PREVIEW_MIN_PX, PREVIEW_MAX_PX, PREVIEW_DEFAULT_PX = 64, 2048, 1024
PREVIEW_JPEG_QUALITY = 82
PREVIEW_CACHE = "private, max-age=86400"
_FAILED = (m.PHOTO_FAILED, m.PHOTO_ERROR)
# Largest coordinate a face box may give (px): beyond any photo analysis accepts.
MAX_BOX_PX = 1_000_000


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


class PhotoDetail(PhotoOut):
    face_list: list[FaceOut] = Field(description="faces in this photo, left to right")
    written_signature: str | None = Field(None, description="fingerprint of what we last wrote")
    writes: list[WriteAuditOut] = Field(description="the latest write attempts, newest first")
    original_url: str


class MarkFace(Who):
    """A face the detector missed: its box in the photo as displayed (EXIF orientation applied),
    full-resolution pixels; optionally who it is (by id or by name, not both)."""

    x: float = Field(ge=-MAX_BOX_PX, le=MAX_BOX_PX, description="left edge; a box over the edge is clamped")
    y: float = Field(ge=-MAX_BOX_PX, le=MAX_BOX_PX, description="top edge")
    w: float = Field(gt=0, le=MAX_BOX_PX, description="width (at least analysis.min_face_px inside the photo)")
    h: float = Field(gt=0, le=MAX_BOX_PX, description="height")

    @model_validator(mode="after")
    def _at_most_one(self) -> MarkFace:
        if self.person_id is not None and self.name is not None:
            raise ValueError("give person_id or name, not both")
        return self


def _counts(photo_ids: list[int]) -> dict[int, dict[str, int]]:
    out: dict[int, dict[str, int]] = {pid: {} for pid in photo_ids}
    if photo_ids:
        query = (
            m.Face.select(m.Face.photo, m.Face.state, pw.fn.COUNT(m.Face.id))
            .where(m.Face.photo.in_(photo_ids))
            .group_by(m.Face.photo, m.Face.state)
        )
        for pid, state, n in m.rows(query):
            out[int(pid)][str(state)] = int(n)
    return out


def _photo_fields(p: m.Photo, counts: dict[str, int]) -> dict:
    swap = (p.orientation or 1) >= 5
    return {
        "id": p.id, "path": p.path, "kind": p.kind, "format": p.format, "size": p.size,
        "width": p.height if swap else p.width, "height": p.width if swap else p.height,
        "orientation": p.orientation or 1, "state": p.state, "error": p.last_error,
        "faces": sum(counts.values()), "unknown_faces": counts.get(m.FACE_UNKNOWN, 0),
        "confirmed_faces": counts.get(m.FACE_CONFIRMED, 0), "written": bool(p.written_signature),
        "write_error": p.write_error, "mtime": p.mtime,
        "preview_url": f"{API_PREFIX}/photos/{p.id}/preview",
    }  # fmt: skip


def _folder_filter(query: Any, folder: str, recursive: bool) -> Any:
    prefix = paths.clean_relative(folder, allow_empty=True)
    if not prefix:
        return query if recursive else query.where(~m.Photo.path.contains("/"))
    prefix += "/"
    query = query.where(pw.fn.SUBSTR(m.Photo.path, 1, len(prefix)) == prefix)
    if not recursive:
        query = query.where(~pw.fn.SUBSTR(m.Photo.path, len(prefix) + 1).contains("/"))
    return query


@router.get(
    "", response_model=Page[PhotoOut], summary="List photos",
    responses=problem_responses(400),
    description="Filter by state, person, folder, unknown faces or errors; order by a field "
    "(prefix '-' for descending).",
)  # fmt: skip
def list_photos(
    page: PageParams = Depends(page_params),
    state: Literal["pending", "done", "failed", "error", "missing"] | None = Query(None),
    person_id: int | None = Query(None, ge=1, le=MAX_ID, description="photos with a confirmed face of this person"),
    folder: str | None = Query(None, max_length=4096, description="library-relative folder"),
    recursive: bool = Query(True, description="include sub-folders of `folder`"),
    has_unknown_faces: bool | None = Query(None, description="photos with (or without) unnamed faces"),
    has_error: bool | None = Query(None, description="analysis/read failed or the last write failed"),
    written: bool | None = Query(None, description="names written into the file (or not)"),
    q: str | None = Query(None, max_length=200, description="text the path contains"),
    order: Literal["path", "-path", "mtime", "-mtime", "size", "-size", "id", "-id"] = "path",
) -> dict:
    query = m.Photo.select()
    if state:
        query = query.where(m.Photo.state == state)
    if person_id is not None:
        query = query.where(m.Photo.id.in_(m.Face.select(m.Face.photo).where(m.Face.person == person_id)))
    if folder is not None:
        query = _folder_filter(query, folder, recursive)
    if has_unknown_faces is not None:
        unknown = m.Photo.id.in_(m.Face.select(m.Face.photo).where(m.Face.state == m.FACE_UNKNOWN))
        query = query.where(unknown if has_unknown_faces else ~unknown)
    if has_error is not None:
        bad = m.Photo.state.in_(_FAILED) | m.Photo.write_error.is_null(False)
        query = query.where(bad if has_error else ~bad)
    if written is not None:
        query = query.where(m.Photo.written_signature.is_null(not written))
    if q:
        query = query.where(m.Photo.path.contains(q))
    fields = {"path": m.Photo.path, "mtime": m.Photo.mtime, "size": m.Photo.size, "id": m.Photo.id}
    query = query.order_by(*order_by(m.Photo, order, fields))
    result = paginate(query, page, lambda p: p)
    counts = _counts([p.id for p in result["items"]])
    result["items"] = [PhotoOut(**_photo_fields(p, counts[p.id])) for p in result["items"]]
    return result


def _detail(photo: m.Photo) -> PhotoDetail:
    faces = face_views(faces_query().where(m.Face.photo == photo.id).order_by(m.Face.x, m.Face.id))
    counts: dict[str, int] = {}
    for f in faces:
        counts[f.state] = counts.get(f.state, 0) + 1
    audits = m.WriteAudit.select().where(m.WriteAudit.photo == photo.id).order_by(m.WriteAudit.id.desc())
    return PhotoDetail(
        **_photo_fields(photo, counts),
        face_list=[FaceOut.of(f) for f in faces],
        written_signature=photo.written_signature,
        writes=[audit_out(a) for a in audits.limit(10)],
        original_url=f"{API_PREFIX}/photos/{photo.id}/original",
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
    path: str = Query(..., min_length=1, max_length=4096, description="library-relative path"),
    core: Core = Depends(get_core),
) -> PhotoDetail:
    rel = paths.clean_relative(path)
    paths.resolve_inside(core.library, rel, must_exist=False)  # refuses links out of the library
    photo = m.Photo.get_or_none(m.Photo.path == rel)
    if photo is None:
        raise ApiProblem(404, f"no photo at {rel} (scan the library if it is new)")
    return _detail(photo)


@router.get(
    "/{photo_id}", response_model=PhotoDetail, summary="A photo with its faces and write state",
    responses=problem_responses(404),
)  # fmt: skip
def get_photo(photo_id: IdPath) -> PhotoDetail:
    return _detail(_photo(photo_id))


def _etag_match(request: Request, etag: str) -> bool:
    given = request.headers.get("if-none-match", "")
    return any(tag.strip() in (etag, "*", "W/" + etag) for tag in given.split(","))


@router.get(
    "/{photo_id}/preview", summary="A scaled JPEG preview, oriented as displayed",
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
        loaded = load_image(real, max_side=size, max_pixels=core.cfg.analysis.max_image_pixels)
    except ImageError as exc:
        raise ApiProblem(422, f"no preview: {exc}", "no-preview") from exc
    image = Image.fromarray(loaded.pixels)
    image.thumbnail((size, size), Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    image.save(buf, "JPEG", quality=PREVIEW_JPEG_QUALITY, optimize=True)
    return Response(buf.getvalue(), media_type="image/jpeg", headers=headers)


@router.get(
    "/{photo_id}/original", summary="The original file, byte for byte",
    response_class=FileResponse, responses={200: {"content": {"application/octet-stream": {}}},
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
    "/{photo_id}/faces", response_model=ReviewResultOut, status_code=201,
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
