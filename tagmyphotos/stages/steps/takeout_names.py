"""`import-names --from takeout DIR`: the people named in a Google Takeout folder, placed here.

The analysis already reads a Takeout JSON beside each photo (stages/steps/embedded_names.py); this is
for a library analysed before the JSON files were there, or a separate copy of them. Each photo
of the library is looked up in DIR under its own relative path (or the tail of it: DIR may be
the export's "Google Photos" folder or an album in it) with the same rules as the analysis
(metadata/takeout.py); its names become photo names (source Google Takeout; the one name left
for the one face left confirms it), then the whole library's names without boxes are placed
(stages/steps/place_names.py). The report has the counts of the other imports: placed, suggested,
left as photo-level names, conflicts, unreadable files (each with why), and JSON files that
name people on no photo of the library. A dry run does it all in a transaction it rolls back.
Safe to rerun: names already recorded are merged, placed ones are not photo-level any more.
"""

from __future__ import annotations

import os
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tagmyphotos.core import Core
from tagmyphotos.metadata.takeout import SOURCE, TakeoutNames, TakeoutProblem, find_takeout, load_takeout
from tagmyphotos.review.people import recount
from tagmyphotos.stages.steps.embedded_names import EmbeddedNamesReport, take_boxless_names
from tagmyphotos.stages.steps.place_names import place_library, suggest_placements
from tagmyphotos.store import models as m
from tagmyphotos.suggest.refresh import refresh_affected

LISTED = 50  # unreadable files listed in the report (all are counted)
# Album files of a Takeout export (their title is the album's): not photo files, not problems.
_ALBUM_FILE = re.compile(r"^(metadata|metadaten|métadonnées|metadatos|metadati|metadane)(\(\d+\))?\.json$", re.I)


@dataclass
class TakeoutOutcome:
    source: str
    folder: str
    dry_run: bool
    json_files: int = 0
    photos: int = 0  # library photos a Takeout file names people on
    names: int = 0
    people_created: int = 0
    placed: int = 0  # names confirmed on a face (one name for one face, or placed across the library)
    suggested: int = 0
    photo_level: int = 0
    conflicts: int = 0
    unreadable: int = 0
    not_in_library: int = 0  # Takeout files naming people, for no photo of the library
    unreadable_items: list[dict[str, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _jsons(folder: Path) -> list[Path]:
    out = []
    for top, dirs, files in os.walk(folder):  # links to folders are not followed
        dirs.sort()
        out += [Path(top) / f for f in sorted(files) if f.lower().endswith(".json") and not _ALBUM_FILE.match(f)]
    return out


def _suffix_fit(folder: tuple[str, ...], parent: tuple[str, ...]) -> int:
    """How many trailing folder names a Takeout folder and a photo's folder share; -1: they
    do not fit (one must end like the other: DIR may be deeper or shallower than the library)."""
    n = min(len(folder), len(parent))
    if folder[len(folder) - n :] != parent[len(parent) - n :]:
        return -1
    return n


def _lookup(folder: Path, folders: list[tuple[str, ...]], rel: str) -> TakeoutNames | TakeoutProblem | None:
    """The Takeout names of a library photo: from the export folders that end like the photo's
    folder (or it like them), the best fitting first. Files from equally fitting folders that
    name other people (two photos of one name in two albums) are no answer: never guessed."""
    *parent, name = rel.split("/")
    ranked: dict[int, list[tuple[str, ...]]] = {}
    for f in folders:
        fit = _suffix_fit(f, tuple(parent))
        if fit >= 0:
            ranked.setdefault(fit, []).append(f)
    for fit in sorted(ranked, reverse=True):
        found = [x for f in ranked[fit] if (x := find_takeout(folder.joinpath(*f, name), folder)) is not None]
        named = [x for x in found if isinstance(x, TakeoutNames)]
        if len({tuple(x.names) for x in named}) == 1:
            return named[0]
        if named:
            return None
        if found:
            return found[0]
    return None


def import_takeout(core: Core, folder: Path, dry_run: bool = False) -> dict[str, Any]:
    """Read the Takeout files of `folder` for the library's photos; place and report."""
    folder = Path(os.path.realpath(folder))
    if not folder.is_dir():
        raise ValueError(f"no folder at {folder}")
    out = TakeoutOutcome(SOURCE, str(folder), dry_run)
    files = _jsons(folder)
    out.json_files = len(files)
    folders = sorted({p.parent.relative_to(folder).parts for p in files})
    used: set[Path] = set()
    problems: dict[Path, TakeoutProblem] = {}
    with m.database.atomic() as txn:
        created_before = m.Person.select().count()
        touched: set[int] = set()
        report = EmbeddedNamesReport()
        for photo in m.Photo.select(m.Photo.id, m.Photo.path).where(m.Photo.state == m.PhotoState.DONE):
            found = _lookup(folder, folders, photo.path)
            if isinstance(found, TakeoutProblem):
                used.add(found.path)
                problems[found.path] = found
            elif found is not None:
                used.add(found.path)
                _record(photo.id, found, report, touched, out)
        recount(touched)
        for path in files:
            if path not in used:
                item = load_takeout(path, folder)
                if isinstance(item, TakeoutProblem):
                    problems[path] = item
                elif item.names:
                    out.not_in_library += 1
        _unreadable(out, folder, problems)
        out.people_created = m.Person.select().count() - created_before
        placed = place_library(core, dry_run)
        out.placed = report.confirmed + placed.placed
        out.photo_level, out.conflicts = placed.photo_level, placed.conflicts
        out.suggested = placed.suggested
        if dry_run:
            txn.rollback()
    if not dry_run:
        # what was confirmed moves its neighbours' suggestions; the unsure ones go where it left room
        refresh_affected(core, placed.confirmed_faces + [pl.face_id for pl in placed.pending])
        out.suggested = suggest_placements(placed.pending)
    return out.to_dict()


def _record(
    photo_id: int, found: TakeoutNames, report: EmbeddedNamesReport, touched: set[int], out: TakeoutOutcome
) -> None:
    if not found.names:
        return
    out.photos += 1
    out.names += len(found.names)
    faces = list(m.Face.select().where(m.Face.photo == photo_id).order_by(m.Face.id))
    take_boxless_names(photo_id, faces, set(), {n: [SOURCE] for n in found.names}, report, touched)


def _unreadable(out: TakeoutOutcome, folder: Path, problems: dict[Path, TakeoutProblem]) -> None:
    out.unreadable = len(problems)
    for path in sorted(problems)[:LISTED]:
        out.unreadable_items.append({"file": os.path.relpath(path, folder), "why": problems[path].reason})
