"""Read the names people gave in PhotoPrism: subjects, and the face markers of our photos.

Why this way: PhotoPrism lists subjects (people) with `GET /api/v1/subjects` and photos with
faces with `GET /api/v1/photos?q=faces:yes` (both paged by count/offset), and a photo's markers
come with its files in `GET /api/v1/photos/{uid}`: one request per page and one per photo with
faces. Markers hold boxes normalized to the photo as displayed (X, Y top-left, W, H). A marker
counts when it is a valid face marker of a named subject that is not hidden. Photos are matched
by their path below originals, through the PhotoPrism path map.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from integrations.pathmap import PathMapError, to_remote_relative
from integrations.reading import Fetched, Reading
from tagmyphotos.config import IntegrationsConfig, PhotoPrismConfig
from tagmyphotos.geometry import NormBox
from tagmyphotos.review.imported_names import ImportedName, ImportedPhoto
from tagmyphotos.review.imported_people import ImportedPerson

if TYPE_CHECKING:
    from integrations.photoprism.client import PhotoPrismClient

# Photos per page of PhotoPrism's GET /api/v1/photos and subjects per page during a name import.
PHOTOPRISM_IMPORT_PAGE_SIZE = 500


def _paged(client: PhotoPrismClient, path: str, params: dict[str, Any], reading: Reading) -> Iterator[dict[str, Any]]:
    """The items of a count/offset listing, one page at a time, within `reading`'s bounds."""
    size, offset = PHOTOPRISM_IMPORT_PAGE_SIZE, 0
    while not reading.stopped:
        reading.before_request()
        page = client.api.request("GET", path, params={**params, "count": size, "offset": offset}).json() or []
        yield from page
        if not reading.page("PhotoPrism", len(page)) or len(page) < size:
            return
        offset += size


def subjects(client: PhotoPrismClient, reading: Reading | None = None) -> list[ImportedPerson]:
    rows = _paged(client, "/api/v1/subjects", {"hidden": "yes"}, reading or Reading.of(IntegrationsConfig()))
    found = {
        str(s["UID"]): ImportedPerson(str(s["UID"]), str(s.get("Name") or ""), bool(s.get("Hidden")))
        for s in rows
        if s.get("Type", "person") == "person"
    }
    return list(found.values())


def marker_name(
    marker: dict[str, Any], people: dict[str, ImportedPerson], skipped: Counter[str]
) -> ImportedName | None:
    if marker.get("Type") != "face" or marker.get("Invalid"):
        return None
    subject = people.get(str(marker.get("SubjUID") or ""))
    name = str(marker.get("Name") or (subject.name if subject else "")).strip()
    if subject is None or not name:
        skipped["unnamed"] += 1
        return None
    if subject.hidden:
        skipped["hidden"] += 1
        return None
    x, y = max(0.0, float(marker["X"])), max(0.0, float(marker["Y"]))
    w, h = min(1.0 - x, float(marker["W"])), min(1.0 - y, float(marker["H"]))
    if w <= 0 or h <= 0:
        skipped["no_size"] += 1
        return None
    return ImportedName(str(marker["UID"]), subject.external_id, name, NormBox(x, y, w, h))


def fetch_names(
    client: PhotoPrismClient, cfg: PhotoPrismConfig, library_root: Path, photos: dict[str, int],
    reading: Reading | None = None,
) -> Fetched:  # fmt: skip
    """Named face markers on photos of ours, within `reading`'s bounds (see immich_names)."""
    reading = reading or Reading.of(IntegrationsConfig())
    out = Fetched()
    ours: dict[str, int] = {}
    for rel, photo_id in photos.items():
        try:
            ours[to_remote_relative(cfg.path_map, library_root, rel)] = photo_id
        except PathMapError:
            continue
    where = {photo_id: rel for rel, photo_id in photos.items()}
    out.people = subjects(client, reading)
    people = {p.external_id: p for p in out.people}
    by_uid: dict[str, ImportedPhoto] = {}
    for found in _paged(client, "/api/v1/photos", {"quality": 0, "merged": "true", "q": "faces:yes"}, reading):
        ours_id = ours.get(str(found.get("FileName") or ""))
        if ours_id is None:
            out.skipped["not_ours"] += 1
            continue
        if str(found["UID"]) in by_uid:  # the same photo sent again: read once
            continue
        reading.before_request()
        detail = client.api.request("GET", f"/api/v1/photos/{found['UID']}").json()
        files = detail.get("Files") or detail.get("files") or []
        primary = [f for f in files if f.get("Primary")] or files[:1]
        names = [n for f in primary for mk in f.get("Markers") or [] if (n := marker_name(mk, people, out.skipped))]
        if reading.crowded(where.get(ours_id, str(ours_id)), len(names)):
            out.skipped["crowded"] += 1
        elif names:
            by_uid[str(found["UID"])] = ImportedPhoto(ours_id, tuple(names))
    out.photos = list(by_uid.values())
    out.requests = client.api.requests
    return out
