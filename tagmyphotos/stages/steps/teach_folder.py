"""`teach FOLDER`: a folder per person of reference photos becomes people with confirmed faces.

The layout is face_recognition's k-NN example: FOLDER/<person name>/<photos> (sub-folders of a
person folder count too). A photo counts when exactly one face is found in it; the others are
reported with the reason, never guessed.

Where the faces live:
- a photo inside the library that the scanner knows: its own Photo row (analysed now if needed),
  so the face is the same one the review pages show;
- any other photo: a Photo row with kind="reference" and path "@teach/<person>/<file>" (not a
  library path: the scanner, the analyze stage and the writer must leave kind="reference" rows
  alone). Its face is a normal confirmed face, so it feeds the suggestions like any other.
Teaching again is safe: unchanged reference photos are not analysed again, and faces already
confirmed for the person stay as they are.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tagmyphotos.faces import workers
from tagmyphotos.library.paths import PathRefused, confined
from tagmyphotos.review.confirm import confirm_groups
from tagmyphotos.review.people import PeopleError, clean_name
from tagmyphotos.stages.analyze import analyzer, record_failure, store_result
from tagmyphotos.store import models as m
from tagmyphotos.store.views import TeachReport

if TYPE_CHECKING:
    from tagmyphotos.core import Core

REFERENCE_KIND = "reference"
REFERENCE_PREFIX = "@teach/"


@dataclass(frozen=True)
class _Item:
    person: str
    path: Path
    ref: str  # the Photo.path of a reference photo: @teach/<person>/<file>


def plan(
    folder: Path, extensions: list[str], person: str | None = None, root: Path | None = None
) -> tuple[list[_Item], list[dict[str, str]]]:
    """Image files per person folder (only `person`'s, when given); files outside any person
    folder, and folders and files that lead out of `root` (default: the folder) through a
    link, are reported."""
    root = root or folder
    items: list[_Item] = []
    rejected: list[dict[str, str]] = []
    exts = {"." + e.lower().lstrip(".") for e in extensions}
    only = clean_name(person).casefold() if person is not None else None
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith(".") or (only is not None and " ".join(entry.name.split()).casefold() != only):
            continue
        if entry.is_file():
            if entry.suffix.lower() in exts:
                rejected.append({"path": str(entry), "reason": "not in a person folder (FOLDER/<name>/photo)"})
            continue
        if not entry.is_dir():
            continue
        try:
            name = clean_name(entry.name)
            confined(root, entry)
        except (PeopleError, PathRefused) as exc:
            rejected.append({"path": str(entry), "reason": f"not a usable person folder: {exc}"})
            continue
        for path in sorted(entry.rglob("*")):
            hidden = any(part.startswith(".") for part in path.relative_to(entry).parts)
            if path.is_file() and not hidden and path.suffix.lower() in exts:
                try:
                    confined(root, path)
                except PathRefused as exc:
                    rejected.append({"path": str(path), "reason": f"not read: {exc}"})
                    continue
                ref = f"{REFERENCE_PREFIX}{name}/{path.relative_to(entry).as_posix()}"
                items.append(_Item(name, path, ref))
    return items, rejected


def _checked(root: Path, paths: list[Path], refused: list[Path]) -> Iterator[Path]:
    """The paths as the analysis opens them, each checked again right then (a file or folder
    swapped for a link after `plan` is refused too); refused ones are collected."""
    for path in paths:
        try:
            confined(root, path)
        except PathRefused:
            refused.append(path)
            continue
        yield path


def teach_folder(
    core: Core, folder: Path, progress: Callable[[int, int], None] | None = None, person: str | None = None,
    root: Path | None = None,
) -> TeachReport:  # fmt: skip
    """Analyse the folder's photos and confirm each single face as its folder's person (all
    person folders, or only `person`'s). Every file read must lead inside `root` (default: the
    library or the data folder holding the folder, else the folder itself), checked again as
    it is read."""
    folder = Path(folder).expanduser().resolve()
    if not folder.is_dir():
        raise PeopleError(f"{folder} is not a folder")
    root = Path(root).resolve() if root is not None else _root_of(core, folder)
    cfg = core.cfg
    items, rejected = plan(folder, cfg.scan.extensions, person, root)
    tool = analyzer(core)
    embedding_id = tool.embedding_id
    photos: dict[Path, Any] = {}
    todo: list[Path] = []
    skipped = 0
    for item in items:
        photo, fresh = _photo_for(core, item, embedding_id)
        photos[item.path] = photo
        if fresh:
            skipped += 1
        else:
            todo.append(item.path)
    refused: list[Path] = []
    for done, batch_item in enumerate(workers.analyze_many(tool, _checked(root, todo, refused)), start=1):
        path = Path(batch_item.path)
        if batch_item.result is None:
            rejected.append({"path": str(path), "reason": f"unreadable: {batch_item.error}"})
            record_failure(photos.pop(path), batch_item.error or "analysis failed")
        else:
            store_result(cfg, photos[path], batch_item.result)
        if progress is not None:
            progress(done, len(todo))
    for path in refused:
        rejected.append({"path": str(path), "reason": "not read: it leads outside the folder it may be read "
                                                      "from (through a link)"})  # fmt: skip
        photos.pop(path, None)
    groups: dict[str, list[int]] = {}
    for item in items:
        photo = photos.get(item.path)
        if photo is None:
            continue
        faces = [int(i) for (i,) in m.rows(m.Face.select(m.Face.id).where(_usable(photo.id, embedding_id)))]
        if len(faces) != 1:
            reason = "no face found" if not faces else f"{len(faces)} faces found: use photos of this person alone"
            rejected.append({"path": str(item.path), "reason": reason})
            continue
        groups.setdefault(item.person, []).append(faces[0])
    undo_id: int | None = None
    created: list[str] = []
    if groups:
        confirmed, created = confirm_groups(core, groups, action="teach")
        undo_id = confirmed.undo_id
    return TeachReport(
        people={name: len(ids) for name, ids in sorted(groups.items())},
        created=sorted(created),
        rejected=rejected,
        skipped=skipped,
        undo_id=undo_id,
    )


def _root_of(core: Core, folder: Path) -> Path:
    """The library or data folder that holds `folder` (links resolved), else the folder."""
    for base in (core.cfg.library, core.cfg.data):
        real = Path(base).expanduser().resolve()
        if folder.is_relative_to(real):
            return real
    return folder


def _usable(photo_id: int, embedding_id: str) -> Any:
    return (m.Face.photo == photo_id) & (m.Face.model == embedding_id) & m.Face.embedding.is_null(False)


def _photo_for(core: Core, item: _Item, embedding_id: str) -> tuple[Any, bool]:
    """(Photo row, already analysed with this model and unchanged)."""
    library = core.cfg.library.expanduser().resolve()
    stat = item.path.stat()
    if item.path.is_relative_to(library):
        photo = m.Photo.get_or_none(m.Photo.path == item.path.relative_to(library).as_posix())
        if photo is not None:
            analysed = photo.state == m.PhotoState.DONE and photo.analysis_model == embedding_id
            return photo, analysed and (photo.size, photo.mtime) == (stat.st_size, stat.st_mtime)
    photo = m.Photo.get_or_none(m.Photo.path == item.ref)
    if photo is None:
        photo = m.Photo.create(
            path=item.ref, kind=REFERENCE_KIND, size=stat.st_size, mtime=stat.st_mtime, state=m.PhotoState.PENDING
        )
        return photo, False
    unchanged = (photo.size, photo.mtime) == (stat.st_size, stat.st_mtime)
    if unchanged and photo.analysis_model == embedding_id and photo.state == m.PhotoState.DONE:
        return photo, True
    m.Photo.update(size=stat.st_size, mtime=stat.st_mtime, updated_at=m.utcnow()).where(
        m.Photo.id == photo.id
    ).execute()
    return m.Photo.get_by_id(photo.id), False
