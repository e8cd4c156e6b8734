"""Read the names people gave in Immich: people, and each named face's box on our photos.

Why the metadata search: `POST /api/search/metadata` with `withPeople` answers a page of up to
1,000 assets with their people and each person's faces (boxes in pixels of the image Immich
measured, `imageWidth` x `imageHeight`), so an import costs one request per page of assets,
not one per face or per photo. Assets are found by originalPath below the path map's remote
prefix (a case-insensitive substring match in Immich, so each answer is kept only when its path
is exactly one of ours). A server that leaves the faces out falls back to `GET /api/faces`
for that asset. Hidden and unnamed people are not imported. Renames go both ways through
review.imported_people (`PUT /api/people/{id}` when push_renames is on).
"""

from __future__ import annotations

import posixpath
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from integrations.pathmap import PathMapError, to_remote_absolute
from integrations.reading import Fetched, Reading
from tagmyphotos.config import ImmichConfig, IntegrationsConfig
from tagmyphotos.geometry import NormBox
from tagmyphotos.review.imported_names import ImportedName, ImportedPhoto
from tagmyphotos.review.imported_people import ImportedPerson

if TYPE_CHECKING:
    from integrations.immich.client import ImmichClient

# Assets per page of Immich's POST /api/search/metadata during a name import (Immich's maximum).
IMMICH_IMPORT_PAGE_SIZE = 1000


def remote_paths(cfg: ImmichConfig, library_root: Path, photos: dict[str, int]) -> dict[str, int]:
    """Immich's originalPath of each photo of ours -> our photo id."""
    out = {}
    for rel, photo_id in photos.items():
        try:
            out[to_remote_absolute(cfg.path_map, library_root, rel)] = photo_id
        except PathMapError:
            continue
    return out


def search_prefix(cfg: ImmichConfig, library_root: Path) -> str:
    prefix = cfg.path_map.remote_prefix.strip() or cfg.path_map.local_prefix.strip() or library_root.as_posix()
    return posixpath.normpath(prefix).rstrip("/") + "/"


def face_name(asset_face: dict[str, Any], person: dict[str, Any]) -> ImportedName | None:
    """One Immich face of a person as a ImportedName (None for a box Immich cannot size)."""
    w, h = int(asset_face.get("imageWidth") or 0), int(asset_face.get("imageHeight") or 0)
    if w <= 0 or h <= 0:
        return None
    x1, y1 = max(0, asset_face["boundingBoxX1"]), max(0, asset_face["boundingBoxY1"])
    x2, y2 = min(w, asset_face["boundingBoxX2"]), min(h, asset_face["boundingBoxY2"])
    if x2 <= x1 or y2 <= y1:
        return None
    box = NormBox(x1 / w, y1 / h, (x2 - x1) / w, (y2 - y1) / h)
    return ImportedName(str(asset_face["id"]), str(person["id"]), str(person["name"]).strip(), box, (w, h))


def _asset_names(
    client: ImmichClient, asset: dict[str, Any], skipped: Counter[str], reading: Reading
) -> list[ImportedName]:
    people = asset.get("people") or []
    if people and any("faces" not in p for p in people):  # an older server: ask for the boxes
        by_person: dict[str, list[dict[str, Any]]] = {}
        reading.before_request()
        for face in client.get_faces(str(asset["id"])):
            if face.get("person"):
                by_person.setdefault(str(face["person"]["id"]), []).append(face)
        people = [{**p, "faces": by_person.get(str(p["id"]), [])} for p in people]
    skipped["unnamed"] += len(asset.get("unassignedFaces") or [])
    names = []
    for person in people:
        if not str(person.get("name") or "").strip():
            skipped["unnamed"] += len(person["faces"])
        elif person.get("isHidden"):
            skipped["hidden"] += len(person["faces"])
        else:
            for face in person["faces"]:
                fn = face_name(face, person)
                if fn is None:
                    skipped["no_size"] += 1
                else:
                    names.append(fn)
    return names


def fetch_names(
    client: ImmichClient, cfg: ImmichConfig, library_root: Path, photos: dict[str, int], reading: Reading | None = None
) -> Fetched:
    """Every named face Immich has on photos of ours, in pages of assets; and its people.

    Within `reading`'s bounds: cancel honoured before each request, pages and items counted, a
    photo with too many named faces left out. What is kept is one entry per asset of ours (an
    asset sent again replaces itself), so memory follows our library, not the server's answers.
    """
    reading = reading or Reading.of(IntegrationsConfig())
    out = Fetched()
    ours = remote_paths(cfg, library_root, photos)
    where = {photo_id: rel for rel, photo_id in photos.items()}
    by_asset: dict[str, ImportedPhoto] = {}
    size = IMMICH_IMPORT_PAGE_SIZE
    page: int | None = 1
    while page:
        reading.before_request()
        body = {"originalPath": search_prefix(cfg, library_root), "withPeople": True, "page": page, "size": size}
        data = client.api.request("POST", "/search/metadata", json=body).json()["assets"]
        items = data.get("items") or []
        for asset in items:
            photo_id = ours.get(asset.get("originalPath", ""))
            if photo_id is None:
                skipped = len(asset.get("people") or [])
                out.skipped["not_ours"] += 1 if skipped else 0
                continue
            names = _asset_names(client, asset, out.skipped, reading)
            if reading.crowded(where.get(photo_id, str(photo_id)), len(names)):
                out.skipped["crowded"] += 1
            elif names:
                by_asset[str(asset.get("id"))] = ImportedPhoto(photo_id, tuple(names))
        following = _next_page(data.get("nextPage"), page)
        page = following if items and reading.page("Immich", len(items)) else None
    out.photos = list(by_asset.values())
    out.people = list(all_people(client, reading))
    out.requests = client.api.requests
    return out


def _next_page(value: Any, current: int) -> int | None:
    """Immich's nextPage ("2", "3", ...); None for the last page, or one that does not move on."""
    try:
        following = int(value) if value else None
    except (TypeError, ValueError):
        return None
    return following if following is not None and following > current else None


def all_people(client: ImmichClient, reading: Reading | None = None) -> list[ImportedPerson]:
    """Immich's people (hidden ones too), one entry per id, within `reading`'s bounds."""
    reading = reading or Reading.of(IntegrationsConfig())
    people: dict[str, ImportedPerson] = {}
    page = 1
    while not reading.stopped:
        reading.before_request()
        params = {"page": page, "size": IMMICH_IMPORT_PAGE_SIZE, "withHidden": "true"}
        data = client.api.request("GET", "/people", params=params).json()
        found = data.get("people") or []
        for p in found:
            people[str(p["id"])] = ImportedPerson(str(p["id"]), str(p.get("name") or ""), bool(p.get("isHidden")))
        if not found or not data.get("hasNextPage") or not reading.page("Immich", len(found)):
            break
        page += 1
    return list(people.values())


def push_rename(client: ImmichClient, person_id: str, name: str) -> None:
    client.api.request("PUT", f"/people/{person_id}", json={"name": name})
