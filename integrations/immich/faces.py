"""Immich faces: push our named faces (opt-in) and drop Immich's duplicate unnamed ML faces (opt-in).

Why push: users who keep Immich's face import off still get the people, through the people and
faces API. It must be idempotent: a face already on the asset for the same person at the same
place (any source) is never created again. Why dedupe: Immich keeps its own machine-learning
face next to the imported one, so one head shows two faces; the unnamed ML face overlapping one
of ours is soft-deleted, but only when ours is sure to exist in Immich (pushed, or import on).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from integrations.batch import FaceBox, WrittenFace, WrittenFile
from tagmyphotos import tuning
from tagmyphotos.config import ImmichConfig

if TYPE_CHECKING:
    from integrations.immich.client import ImmichClient

Corners = tuple[float, float, float, float]


def iou(a: Corners, b: Corners) -> float:
    """Intersection over union of two (x1, y1, x2, y2) boxes."""
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def immich_corners(face: dict[str, Any]) -> Corners:
    """An Immich face box, normalized by the image size the face was recorded against."""
    w = max(1, int(face.get("imageWidth") or 1))
    h = max(1, int(face.get("imageHeight") or 1))
    return (
        face["boundingBoxX1"] / w,
        face["boundingBoxY1"] / h,
        face["boundingBoxX2"] / w,
        face["boundingBoxY2"] / h,
    )


def person_name(face: dict[str, Any]) -> str:
    person = face.get("person") or {}
    return str(person.get("name") or "").strip()


def is_unnamed_ml(face: dict[str, Any]) -> bool:
    # Faces from Immich versions without sourceType are machine-learning ones.
    return face.get("sourceType", "machine-learning") == "machine-learning" and not person_name(face)


def _same_name(a: str, b: str) -> bool:
    return a.strip().casefold() == b.strip().casefold()


def best_overlap(box: FaceBox, faces: list[dict[str, Any]]) -> tuple[dict[str, Any] | None, float]:
    best, best_iou = None, 0.0
    for face in faces:
        value = iou(box.corners(), immich_corners(face))
        if value > best_iou:
            best, best_iou = face, value
    return (best, best_iou) if best_iou >= tuning.FACE_SAME_IOU else (None, best_iou)


def face_body(asset_id: str, person_id: str, face: WrittenFace, wf: WrittenFile) -> dict[str, Any]:
    """POST /api/faces body: the box in pixels of the oriented image Immich displays."""
    w, h = wf.image_width, wf.image_height
    x1, y1, x2, y2 = face.box.corners()
    x, y = round(x1 * w), round(y1 * h)
    return {
        "assetId": asset_id,
        "personId": person_id,
        "x": x,
        "y": y,
        "width": max(1, min(w - x, round((x2 - x1) * w))),
        "height": max(1, min(h - y, round((y2 - y1) * h))),
        "imageWidth": w,
        "imageHeight": h,
    }


class People:
    """Name -> Immich person id for one notification round; finds before it creates."""

    def __init__(self, client: ImmichClient) -> None:
        self.client = client
        self.ids: dict[str, str] = {}
        self.created = 0

    def id_for(self, name: str) -> str:
        key = name.strip().casefold()
        if key not in self.ids:
            hits = [p for p in self.client.search_person(name.strip()) if _same_name(p.get("name", ""), name)]
            exact = [p for p in hits if p.get("name", "").strip() == name.strip()]
            visible = [p for p in exact or hits if not p.get("isHidden")]
            candidates = visible or exact or hits
            chosen = candidates[0] if candidates else None
            if chosen is None:
                self.ids[key] = self.client.create_person(name.strip())
                self.created += 1
            else:
                self.ids[key] = str(chosen["id"])
        return self.ids[key]


def sync_faces(
    client: ImmichClient,
    cfg: ImmichConfig,
    assets: list[tuple[str, WrittenFile]],
    import_on: bool | None,
) -> tuple[dict[str, int], list[str]]:
    """Push and/or dedupe faces for (asset id, written file) pairs; returns counts and notes."""
    push = cfg.push_faces
    notes: list[str] = []
    if push and import_on is True:
        push = False
        notes.append("faces not pushed because Immich's face import is on (pushing would duplicate them)")
    dedupe = cfg.remove_duplicate_ml_faces
    if dedupe and not push and import_on is not True:
        dedupe = False
        notes.append(
            "duplicate Immich faces kept: with push_faces off, removal needs Immich's face import to be on "
            "and readable by the key"
        )
    counts = {"faces_created": 0, "faces_present": 0, "faces_conflicting": 0, "faces_no_size": 0}
    counts["ml_faces_removed"] = 0
    people = People(client)
    for asset_id, wf in assets:
        if not wf.faces or not (push or dedupe):
            continue
        existing = client.get_faces(asset_id)
        covered: list[WrittenFace] = []
        for face in wf.faces:
            named = [f for f in existing if person_name(f)]
            match, _ = best_overlap(face.box, named)
            if match is not None:
                if _same_name(person_name(match), face.name):
                    counts["faces_present"] += 1
                    covered.append(face)
                else:
                    counts["faces_conflicting"] += 1
                continue
            if not push:
                if import_on:
                    covered.append(face)
                continue
            if wf.image_width <= 0 or wf.image_height <= 0:
                counts["faces_no_size"] += 1
                continue
            client.create_face(face_body(asset_id, people.id_for(face.name), face, wf))
            counts["faces_created"] += 1
            covered.append(face)
        if dedupe:
            for ml in [f for f in existing if is_unnamed_ml(f)]:
                if any(iou(c.box.corners(), immich_corners(ml)) >= tuning.FACE_SAME_IOU for c in covered):
                    client.delete_face(str(ml["id"]))
                    counts["ml_faces_removed"] += 1
    counts["people_created"] = people.created
    if counts["faces_conflicting"]:
        notes.append(
            f"{counts['faces_conflicting']} faces carry another name in Immich and were left as they are"
        )
    if counts["faces_no_size"]:
        notes.append(f"{counts['faces_no_size']} faces not pushed (image size unknown)")
    return counts, notes
