"""Google Takeout's JSON files: the people the owner named in Google Photos, per photo.

Why a module of its own: Takeout keeps names only in a JSON file beside each photo
(`"people": [{"name": "Susan"}]`, no face box), and it names that file in several ways this
module alone knows: `photo.jpg.json`, `photo.jpg.supplemental-metadata.json` and any shortening
of it (`…supplemental-metad.json`, `…suppl.json`: the whole file name is cut at 51 characters,
which also cuts a long photo name itself), the duplicate number after the extension
(`photo(1).jpg` ↔ `photo.jpg(1).json`), an edited copy using its original's file
(`photo-edited.jpg` ↔ `photo.jpg.json`), and, when the photo's file name differs from the name
in Google Photos, the file whose `"title"` is the photo's name. Pure: files in, names out; a
file that is not Takeout's (or broken) is a `TakeoutProblem`, never an exception.

Every file is opened only when it resolves inside the given root (no link leads out), without
following a link at the last step, and only up to TAKEOUT_MAX_JSON_BYTES.
"""

from __future__ import annotations

import json
import os
import re
import stat
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from tagmyphotos import tuning

# A Google Takeout photo JSON is 1-3 KB (title, times, geo data, people); a file over this is
# not one and is not read (a hostile file cannot make the analysis read gigabytes).
TAKEOUT_MAX_JSON_BYTES = 1_000_000

SOURCE = "Google Takeout"  # PhotoName.sources: where the name came from, in the owner's words
_SUFFIX = ".supplemental-metadata"
# Takeout cuts a JSON file name to 51 characters, ".json" included: a name part this long
# may be a cut one (slack for exports that count bytes or keep one more character).
_CUT_AT = 51 - len(".json") - 3
_EDITED = ("-edited", "-bearbeitet", "-modifié", "-editado", "-modificato", "-bewerkt", "-redigerad")
_DUPLICATE = re.compile(r"^(.*)\((\d{1,4})\)$")
# Keys that only Takeout's per-photo JSON has together with "title".
_TAKEOUT_KEYS = ("photoTakenTime", "creationTime", "googlePhotosOrigin", "imageViews", "geoData", "people", "url")


@dataclass(frozen=True)
class TakeoutNames:
    """The people a Takeout file names for one photo (cleaned, in the file's order)."""

    path: Path
    title: str
    names: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class TakeoutProblem:
    """A JSON file that was meant for a photo but cannot be used (said in plain words)."""

    path: Path
    reason: str


def _split_duplicate(text: str) -> tuple[str, int]:
    found = _DUPLICATE.match(text)
    return (found.group(1), int(found.group(2))) if found else (text, 0)


def photo_key(photo_name: str) -> tuple[str, int]:
    """The name Takeout gives a photo's JSON: ("IMG.jpg", 1) for "IMG(1).jpg" and for
    "IMG-edited.jpg" the original's ("IMG.jpg", 0)."""
    stem, dot, ext = photo_name.rpartition(".")
    if not dot:
        stem, ext = photo_name, ""
    for mark in _EDITED:
        if stem.lower().endswith(mark):
            stem = stem[: -len(mark)]
            break
    stem, dup = _split_duplicate(stem)
    return (f"{stem}.{ext}" if dot else stem), dup


def json_key(json_name: str) -> tuple[str, int] | None:
    """("IMG.jpg.supplemental-me", 1) for "IMG.jpg.supplemental-me(1).json"; None: not .json."""
    if not json_name.lower().endswith(".json"):
        return None
    return _split_duplicate(json_name[: -len(".json")])


def names_match(json_part: str, photo_part: str) -> int:
    """How well a JSON's name part fits a photo's name: 3 exactly (photo.jpg.json), 2 with the
    supplemental-metadata suffix (whole or shortened), 1 a long name Takeout cut, 0 not at all."""
    if json_part == photo_part:
        return 3
    full = photo_part + _SUFFIX
    if json_part.startswith(photo_part + ".") and full.startswith(json_part):
        return 2
    if len(json_part) >= _CUT_AT and full.startswith(json_part):
        return 1
    return 0


def _inside(path: Path, root: Path) -> bool:
    real, top = os.path.realpath(path), os.path.realpath(root)
    return real == top or real.startswith(top.rstrip(os.sep) + os.sep)


def read_json(path: Path, root: Path) -> dict[str, Any] | TakeoutProblem:
    """The JSON object in `path` (inside `root`), or why it cannot be used."""
    if not _inside(path, root):
        return TakeoutProblem(path, "the file leads outside the folder (through a link): not read")
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError as exc:
        return TakeoutProblem(path, f"cannot be opened: {exc.strerror}")
    with os.fdopen(fd, "rb") as f:
        info = os.fstat(f.fileno())
        if not stat.S_ISREG(info.st_mode):
            return TakeoutProblem(path, "not a regular file")
        if info.st_size > TAKEOUT_MAX_JSON_BYTES:
            return TakeoutProblem(path, f"too large for a Takeout file ({info.st_size:,} bytes): not read")
        data = f.read()
    try:
        value = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as exc:
        return TakeoutProblem(path, f"not valid JSON ({str(exc)[:80]})")
    return value if isinstance(value, dict) else TakeoutProblem(path, "not a Google Takeout file (no JSON object)")


def parse_takeout(path: Path, value: dict[str, Any]) -> TakeoutNames | TakeoutProblem:
    """The names of a Takeout photo file; a JSON of any other shape is a problem."""
    title = value.get("title")
    if not isinstance(title, str) or not any(k in value for k in _TAKEOUT_KEYS):
        return TakeoutProblem(path, "not a Google Takeout photo file (no title and no photo fields)")
    people = value.get("people", [])
    if not isinstance(people, list) or not all(isinstance(p, dict) for p in people):
        return TakeoutProblem(path, "its people are not a list of names: skipped")
    names: list[str] = []
    for person in people:
        name = person.get("name")
        if not isinstance(name, str):
            return TakeoutProblem(path, "a person without a name in the text: skipped")
        clean = " ".join(name.split())
        if clean and clean not in names:
            names.append(clean)
    return TakeoutNames(path, title, names[: tuning.IMPORT_MAX_KEYWORD_NAMES])


def load_takeout(path: Path, root: Path) -> TakeoutNames | TakeoutProblem:
    value = read_json(path, root)
    return value if isinstance(value, TakeoutProblem) else parse_takeout(path, value)


@lru_cache(maxsize=64)
def _folder_jsons(folder: str, stamp: int) -> tuple[str, ...]:
    """The .json file names of a folder (cached until the folder changes: `stamp` is its mtime)."""
    try:
        with os.scandir(folder) as entries:
            return tuple(sorted(e.name for e in entries if e.name.lower().endswith(".json")))
    except OSError:
        return ()


def folder_jsons(folder: Path) -> tuple[str, ...]:
    try:
        stamp = os.stat(folder).st_mtime_ns
    except OSError:
        return ()
    return _folder_jsons(str(folder), stamp)


@lru_cache(maxsize=16)
def _titles(folder: str, stamp: int, root: str) -> dict[str, tuple[str, ...]]:
    """Title -> the JSON files of the folder that carry it (read once per folder state)."""
    out: dict[str, list[str]] = {}
    for name in _folder_jsons(folder, stamp):
        found = load_takeout(Path(folder) / name, Path(root))
        if isinstance(found, TakeoutNames):
            out.setdefault(found.title, []).append(name)
    return {t: tuple(v) for t, v in out.items()}


def photo_keys(photo_name: str) -> list[tuple[str, int]]:
    """The photo's own name first (a photo called "x(1).jpg" in Google Photos too), then the
    name Takeout derives (`photo_key`)."""
    keys = [(photo_name, 0), photo_key(photo_name)]
    return list(dict.fromkeys(keys))


def by_name(photo: Path) -> list[str]:
    """The folder's JSON files named for the photo, best fit first (its own name before the
    derived one; an exact name before the supplemental-metadata suffix before a cut long name)."""
    ranked = []
    for name in folder_jsons(photo.parent):
        parsed = json_key(name)
        if parsed is None:
            continue
        for rank, (key, dup) in enumerate(photo_keys(photo.name)):
            fit = names_match(parsed[0], key) if parsed[1] == dup else 0
            if fit:
                ranked.append((rank, -fit, name))
                break
    return [name for _, _, name in sorted(ranked)]


def _title_fits(item: TakeoutNames, keys: set[str]) -> bool:
    """A JSON found through a cut long name belongs to the photo only when its title begins
    like the photo's name (Takeout cuts a long photo name too, keeping the extension)."""
    json_part = json_key(item.path.name)
    if json_part is None or len(json_part[0]) < _CUT_AT or json_part[0] in keys:
        return True
    title = item.title.rpartition(".")[0] or item.title
    return any(title.startswith(k.rpartition(".")[0] or k) for k in keys)


def find_takeout(photo: Path, root: Path) -> TakeoutNames | TakeoutProblem | None:
    """The Takeout names of a photo (None: no Takeout file for it), its JSON looked up by name,
    then by title. Among several candidates the one whose title is the photo's name wins."""
    keys = {k for k, _ in photo_keys(photo.name)}
    candidates = by_name(photo)
    problem: TakeoutProblem | None = None
    found: list[TakeoutNames] = []
    for name in candidates:
        item = load_takeout(photo.parent / name, root)
        if isinstance(item, TakeoutProblem):
            problem = problem or item
        else:
            found.append(item)
    found = [item for item in found if _title_fits(item, keys)]
    for item in found:
        if len(found) == 1 or item.title in keys or photo_key(item.title)[0] in keys:
            return item
    if found:
        return None  # several cut names fit and no title says which: a guess would name the wrong photo
    if photo.parent.is_dir():
        stamp = os.stat(photo.parent).st_mtime_ns
        titled = _titles(str(photo.parent), stamp, str(root)).get(photo.name, ())
        if len(titled) == 1:
            return load_takeout(photo.parent / titled[0], root)
    return problem
