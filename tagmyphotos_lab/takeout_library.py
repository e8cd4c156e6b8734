"""A test library for names without boxes, built from ../shared/testdata/faces, and its score.

Group pictures are 2-4 different people's portraits pasted side by side (Pillow), each with
the people it shows named in random order: in a Google Takeout JSON beside it (mode "json",
the file names Takeout uses, varied) or in PersonInImage written with exiftool (mode
"personinimage"). Single portraits are named the same way; some photos carry no names. A
person's photos are split, so a group photo's portrait is never also a single one (no face is
its own evidence). Nobody is named by hand. `score` reads the database after the analysis and
the match stage: per face, the truth is the portrait under its centre.
"""

from __future__ import annotations

import csv
import json
import random
import subprocess
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps

from tagmyphotos.store import models as m

JSON_NAMES = ("{}.json", "{}.supplemental-metadata.json", "{}.supplemental-metad.json", "{}.suppl.json")


@dataclass(frozen=True)
class Built:
    """One photo of the built library and who is where on it."""

    path: str  # relative to the library
    kind: str  # group | single | none
    spans: tuple[tuple[str, int, int], ...]  # (person, x from, x to) in the picture's pixels


def identities(faces: Path) -> dict[str, str]:
    with open(faces / "identities.csv", newline="") as f:
        return {row["file"]: row["identity"] for row in csv.DictReader(f)}


def plan(
    faces: Path, groups: int | None, singles_per_person: int, seed: int
) -> tuple[list[list[str]], list[str], list[str]]:
    """(groups of files, single files, files with no names): a person's photos go to one use each."""
    rng = random.Random(seed)
    ident = identities(faces)
    by_person: dict[str, list[str]] = {}
    for file, person in sorted(ident.items()):
        by_person.setdefault(person, []).append(file)
    singles, pool = [], {}
    for person, files in sorted(by_person.items()):
        rng.shuffle(files)
        keep = singles_per_person if len(files) > 2 else 0  # people with 2 photos: only in groups
        singles += files[:keep]
        pool[person] = files[keep:]
    made: list[list[str]] = []
    while groups is None or len(made) < groups:
        people = [p for p in sorted(pool) if pool[p]]
        if len(people) < 2:
            break
        chosen = rng.sample(people, min(len(people), rng.randint(2, 4)))
        made.append([pool[p].pop() for p in chosen])
    rest = [f for files in pool.values() for f in files]
    if groups is not None:  # a small library (tests): singles of the group people, a few unnamed photos
        shown = {ident[f] for files in made for f in files}
        singles = [f for f in singles if ident[f] in shown]
        rest = rest[:2]
    return made, singles, rest


def _portrait(path: Path, height: int) -> Image.Image:
    im = ImageOps.exif_transpose(Image.open(path)).convert("RGB")
    return im.resize((max(1, round(im.width * height / im.height)), height))


def build(faces: Path, dest: Path, mode: str, groups: int | None = None, singles_per_person: int = 1,
          seed: int = 0, height: int = 640, exiftool: str = "exiftool") -> list[Built]:  # fmt: skip
    """Lay out the library in `dest` (mode "json" or "personinimage"); returns what is where."""
    ident = identities(faces)
    rng = random.Random(seed + 1)
    dest.mkdir(parents=True, exist_ok=True)
    out: list[Built] = []
    made, singles, rest = plan(faces, groups, singles_per_person, seed)
    for n, files in enumerate(made):
        parts = [_portrait(faces / f, height) for f in files]
        canvas = Image.new("RGB", (sum(p.width for p in parts), height), (128, 128, 128))
        spans, x = [], 0
        for f, part in zip(files, parts, strict=True):
            canvas.paste(part, (x, 0))
            spans.append((ident[f], x, x + part.width))
            x += part.width
        name = f"group_{n:03d}.jpg"
        canvas.save(dest / name, quality=90)
        out.append(Built(name, "group", tuple(spans)))
    for f in singles:
        name = f"single_{Path(f).stem}.jpg"
        im = ImageOps.exif_transpose(Image.open(faces / f)).convert("RGB")  # some testdata are WebP inside
        im.save(dest / name, quality=92)
        out.append(Built(name, "single", ((ident[f], 0, im.width),)))
    for f in rest + ["couple.jpg"]:
        if (faces / f).exists():
            (dest / f"none_{f}").write_bytes((faces / f).read_bytes())
            out.append(Built(f"none_{f}", "none", ()))
    for n, item in enumerate(b for b in out if b.kind != "none"):
        names = [p for p, _, _ in item.spans]
        rng.shuffle(names)
        if mode == "json":
            takeout = {"title": item.path, "photoTakenTime": {"timestamp": "1546300800"},
                       "people": [{"name": p} for p in names]}  # fmt: skip
            (dest / JSON_NAMES[n % len(JSON_NAMES)].format(item.path)).write_text(json.dumps(takeout))
        else:
            args = [f"-XMP-iptcExt:PersonInImage={p}" for p in names]
            subprocess.run([exiftool, "-q", "-overwrite_original", *args, str(dest / item.path)], check=True)
    return out


def _truth(item: Built, face: m.Face) -> str | None:
    centre = face.x + face.w / 2
    for person, x0, x1 in item.spans:
        if x0 <= centre < x1:
            return person
    return None


def score(built: list[Built]) -> dict[str, float | int]:
    """Per face on the built photos: confirmed / suggested right or wrong, or left."""
    # Keyed by a face's person_id, which is None for a face nobody named: that looks up no name.
    names: dict[int | None, str] = {int(p.id): p.name for p in m.Person.select()}
    keys = ("group_faces", "placed_right", "placed_wrong", "suggested_right", "suggested_wrong", "left",
            "wrong_confirmed_all", "confirmed_all", "group_photos", "photo_level_names")  # fmt: skip
    c = dict.fromkeys(keys, 0)
    for item in built:
        photo = m.Photo.get_or_none(m.Photo.path == item.path)
        if photo is None:
            continue
        c["group_photos"] += item.kind == "group"
        for face in m.Face.select().where((m.Face.photo == photo.id) & (m.Face.source == "detected")):
            truth = _truth(item, face)
            if face.state == m.FaceState.CONFIRMED:
                c["confirmed_all"] += 1
                c["wrong_confirmed_all"] += names.get(face.person_id) != truth
            if item.kind != "group" or truth is None:
                continue
            c["group_faces"] += 1
            if face.state == m.FaceState.CONFIRMED:
                c["placed_right" if names.get(face.person_id) == truth else "placed_wrong"] += 1
            elif face.state == m.FaceState.SUGGESTED and face.suggested_person_id is not None:
                right = names.get(face.suggested_person_id) == truth
                c["suggested_right" if right else "suggested_wrong"] += 1
            else:
                c["left"] += 1
        if item.kind == "group":
            c["photo_level_names"] += m.PhotoName.select().where(
                (m.PhotoName.photo == photo.id) & m.PhotoName.face.is_null()).count()  # fmt: skip
    total = max(c["group_faces"], 1)
    return {**c, "share_right": round((c["placed_right"] + c["suggested_right"]) / total, 3),
            "share_placed": round(c["placed_right"] / total, 3)}  # fmt: skip
