"""Teach from the API and the UI: a reference folder named by a client, uploaded photos, the job.

Why a job: teaching analyses every new reference photo (a second or more each on a NAS), so
the API and the page queue it and show its progress like any other job. Why only two roots: a
client names a folder *relative* to the library or to the data folder, resolved with
library.paths (no '..', no link out), so the API can never make the server read elsewhere.
Uploaded photos are kept in <data>/teach/<person>/, named by their content digest (the same
photo uploaded twice is one file), so teaching them again later is free and reproducible.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tagmyphotos.config import Config
from tagmyphotos.library.paths import resolve_inside
from tagmyphotos.review.people import Conflict, PeopleError, clean_name
from tagmyphotos.stages.runner import StageContext
from tagmyphotos.stages.steps.teach_folder import teach_folder

if TYPE_CHECKING:
    from tagmyphotos.core import Core

TEACH_ROOTS = ("library", "data")
UPLOAD_FOLDER = "teach"  # under the data folder: uploaded reference photos, a folder per person
# Rejected photos listed in a teach job's result (all of them are in the job's events).
RESULT_REJECTED_MAX = 200


def teach_root(cfg: Config, root: str, folder: str) -> Path:
    """The reference folder a client named, inside the library or the data folder."""
    if root not in TEACH_ROOTS:
        raise PeopleError(f"root must be one of {', '.join(TEACH_ROOTS)}")
    if not folder.strip("/"):  # its sub-folders would all become people ("2019", "thumbs", ...)
        raise PeopleError(f"name a folder inside the {root} folder, not the {root} folder itself")
    path = resolve_inside(cfg.library if root == "library" else cfg.data, folder)
    if not path.is_dir():
        raise Conflict(f"{folder or '/'} is not a folder")
    return path


def upload_folder_name(person: str) -> str:
    """The person's folder under <data>/teach: their cleaned name, which must be a valid folder."""
    name = clean_name(person)
    if "/" in name or "\\" in name or name.startswith("."):
        raise PeopleError("a name for uploaded photos cannot contain '/' or '\\' or start with '.'")
    return name


def upload_extension(cfg: Config, filename: str) -> str:
    """The extension of an uploaded photo's name, if it is one teach reads (else PeopleError)."""
    ext = Path(filename).suffix.lower().lstrip(".")
    allowed = sorted({e.lower().lstrip(".") for e in cfg.scan.extensions})
    if ext not in allowed:
        raise PeopleError(f"{filename}: not a photo this program reads ({', '.join(allowed)})")
    return ext


def save_upload(cfg: Config, person: str, filename: str, content: bytes) -> str:
    """Keep one uploaded reference photo; returns its stored file name (digest + extension)."""
    folder_name = upload_folder_name(person)
    ext = upload_extension(cfg, filename)
    if not content:
        raise PeopleError(f"{filename} is empty")
    folder = cfg.data / UPLOAD_FOLDER / folder_name
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{hashlib.sha256(content).hexdigest()[:24]}.{ext}"
    if not target.exists():
        part = target.with_name(f".{target.name}.part")  # hidden: teach never reads it
        with open(part, "wb") as fh:
            fh.write(content)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(part, target)
    return target.name


def upload_params(person: str) -> dict[str, Any]:
    """The teach job's params for a person's uploaded photos."""
    return {"root": "data", "folder": UPLOAD_FOLDER, "person": upload_folder_name(person)}


def stage_teach(core: Core, ctx: StageContext) -> dict[str, Any]:
    """The teach job: params root ("library" | "data"), folder (relative), person (optional)."""
    params = ctx.params
    if "folder" not in params:  # never the whole library by accident
        raise PeopleError("a teach job needs a folder (params root and folder)")
    root = str(params.get("root") or "library")
    folder = teach_root(core.cfg, root, str(params.get("folder") or ""))
    base = Path(core.cfg.library if root == "library" else core.cfg.data).resolve()

    def progress(done: int, total: int) -> None:
        if total != ctx.total:
            ctx.set_total(total)
        ctx.advance(done - ctx.done)

    report = teach_folder(core, folder, progress, person=params.get("person"), root=base)
    rejected = [{"path": _relative(base, r["path"]), "reason": r["reason"]} for r in report.rejected]
    for item in rejected:
        ctx.item_error(item["path"], item["reason"])
    result = report.to_dict()
    result.update(taught=sum(report.people.values()), not_used=len(rejected),
                  rejected=rejected[:RESULT_REJECTED_MAX])  # fmt: skip
    return result


def _relative(base: Path, path: str) -> str:
    """As the client named it (a link is not followed: it may lead out, and was refused)."""
    try:
        return Path(path).relative_to(base).as_posix()
    except ValueError:
        return path
