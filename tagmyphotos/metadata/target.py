"""Where a photo's people tags go — into the photo or its XMP sidecar, decided by content —
and the proof that a write there did what was planned and nothing else (right after it, or
later, after a crash).

A WebP named .jpg, a read-only file, a RAW or a format whose image data we cannot hash get a
sidecar, with a note saying why; so does a photo that already has a sidecar, which viewers
read first. A damaged photo gets neither: `WriteError`.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from tagmyphotos.errors import TagMyPhotosError
from tagmyphotos.metadata.backups import BackupStore
from tagmyphotos.metadata.exiftool import ExifToolError, ExifToolSession, UnsafeArgument
from tagmyphotos.metadata.plan import PersonRegion, TagState, WriteOptions, WritePlan, plan_write
from tagmyphotos.metadata.read import (
    PhotoMetadata,
    TagSet,
    find_sidecar,
    read_photo,
    sidecar_candidates,
    stem_shared_with,
)

# exiftool type extension (from content) -> file name extensions it accepts for that content.
_EXTENSIONS = {
    "jpg": {"jpg", "jpeg", "jpe", "jfif", "jif"},
    "tif": {"tif", "tiff"},
    "heic": {"heic", "heif", "hif"},
}


class WriteError(TagMyPhotosError, RuntimeError):
    """A write that did not happen or was undone; `str()` says why, `restored` whether the
    backup was put back (None: nothing had been touched yet)."""

    def __init__(self, path: Path, reason: str, restored: bool | None = None):
        self.path, self.reason, self.restored = path, reason, restored
        tail = {True: " (original restored from the backup)", False: " (RESTORE FAILED, see the backup)"}
        super().__init__(f"{path}: {reason}{tail.get(restored, '')}" if restored is not None else f"{path}: {reason}")


@dataclass(frozen=True)
class Target:
    mode: Literal["in-file", "sidecar"]
    path: Path  # the file that gets written
    note: str = ""
    warning: str = ""  # also said in the job's events (e.g. two photos sharing a stem)


def _is_read_only(path: Path) -> bool:
    """Write bits cleared (respected even when running as root, as in Docker) or no access.
    exiftool also needs the folder: it writes a temporary file there and renames it."""
    try:
        st = path.stat()
    except OSError:
        return True
    no_bits = not (st.st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
    return no_bits or not os.access(path, os.W_OK) or not os.access(path.parent, os.W_OK | os.X_OK)


def choose_target(meta: PhotoMetadata, options: WriteOptions) -> Target:
    """In the file or in a sidecar, decided by content; raises WriteError for a damaged photo."""
    photo = meta.path
    if meta.error or not meta.width or not meta.height:
        detail = meta.error or "; ".join(meta.warnings) or "exiftool finds no image in it"
        raise WriteError(photo, f"looks damaged or is not an image ({meta.file_type or 'unknown'}: {detail})")
    if meta.type_extension == "jpg" and not meta.image_data_hash:
        raise WriteError(photo, "looks damaged: the JPEG image data is truncated or malformed")
    existing = find_sidecar(photo, options.sidecar_naming)
    side = existing or sidecar_candidates(photo, options.sidecar_naming)[0]
    shared = shared_stem_warning(photo, options.sidecar_naming)
    if options.mode == "sidecar":
        return _sidecar(photo, side, warning=shared)
    if options.mode == "auto" and existing is not None:
        # Immich, PhotoPrism and digiKam read the sidecar over the photo: tags written into the
        # photo would stay hidden behind it.
        return _sidecar(photo, existing, f"sidecar because {existing.name} exists and viewers read it first",
                        warning=shared)  # fmt: skip
    ext = photo.suffix.lower().lstrip(".")
    reasons = []
    if meta.type_extension not in options.in_file_types:
        reasons.append(f"{meta.file_type} files get a sidecar")
    elif ext not in _EXTENSIONS.get(meta.type_extension, {meta.type_extension}):
        reasons.append(f"the content is {meta.file_type} but the name ends in .{ext} (exiftool refuses it)")
    if _is_read_only(photo):
        reasons.append("the file or its folder is read-only")
    if not meta.image_data_hash:
        reasons.append(f"the image data of this {meta.file_type} cannot be verified")
    if not reasons:
        return Target("in-file", photo)
    if options.mode == "in-file":
        raise WriteError(photo, "cannot write in the file: " + "; ".join(reasons))
    return _sidecar(photo, side, "sidecar because " + "; ".join(reasons), warning=shared)


def shared_stem_warning(photo: Path, naming: str) -> str:
    """Why this photo's sidecar is `photo.ext.xmp` although the naming says `photo.xmp`."""
    others = stem_shared_with(photo)
    if naming != "photo.xmp" or not others:
        return ""
    return (f"sidecar {photo.name}.xmp, not {photo.stem}.xmp: {', '.join(sorted(others))} shares the name "
            f"{photo.stem!r}, and one sidecar cannot hold the people of two photos")  # fmt: skip


def _sidecar(photo: Path, side: Path, note: str = "", warning: str = "") -> Target:
    """A sidecar target, refused up front (not with exiftool's temp-file error) when the folder
    cannot be written: a read-only mount or permissions."""
    if not os.access(side.parent, os.W_OK | os.X_OK):
        raise WriteError(photo, "the photo's folder is read-only (mount or permissions): neither the photo "
                                "nor a sidecar next to it can be written")  # fmt: skip
    return Target("sidecar", side, "; ".join(n for n in (note, warning) if n), warning)


def merge_base(meta: PhotoMetadata, target: Target) -> TagSet:
    """The tags a write merges with: the photo's, or the sidecar's (a new sidecar starts as a
    copy of the photo's XMP, so other tools' regions stay visible to readers)."""
    if target.mode == "sidecar" and meta.sidecar is not None and meta.sidecar.path == target.path:
        return meta.sidecar
    return meta.embedded


def verify_written(
    target: Target, before: PhotoMetadata, plan: WritePlan, photo_stat: os.stat_result, after: PhotoMetadata
) -> None:
    """Raise WriteError unless the file read back after a write is the same image (for a
    photo: the same image-data digest, never an empty one; for a sidecar: the photo itself
    untouched) carrying exactly the planned tags."""
    photo = before.path
    if after.error or (after.width, after.height) != (before.width, before.height):
        raise WriteError(photo, f"the written file does not read back as the same image ({after.error})")
    if target.mode == "in-file":
        if not before.image_data_hash or after.image_data_hash != before.image_data_hash:
            raise WriteError(photo, "verification failed: the image data changed")
        tags = after.embedded
    else:
        now = photo.stat()
        if (now.st_size, now.st_mtime_ns) != (photo_stat.st_size, photo_stat.st_mtime_ns):
            raise WriteError(photo, "verification failed: the photo changed during a sidecar write")
        if after.sidecar is None:
            raise WriteError(photo, f"verification failed: the sidecar {target.path.name} is missing")
        tags = after.sidecar
    if TagState.of(tags) != plan.after:
        raise WriteError(photo, "verification failed: the tags read back differ from those written")


def recheck(
    session: ExifToolSession,
    backups: BackupStore,
    options: WriteOptions,
    photo: Path,
    wanted: Sequence[PersonRegion],
    managed_names: Iterable[str] = (),
) -> tuple[bool, str]:
    """Re-verify a photo whose write may have been interrupted (a crash between exiftool's
    rename and our verification): the tags say exactly `wanted` and the image data equals
    that of the backed-up original. Returns (ok, reason)."""
    photo = Path(os.path.abspath(photo))
    try:
        meta = read_photo(session, photo, naming=options.sidecar_naming)
        target = choose_target(meta, options)
    except (WriteError, ExifToolError, UnsafeArgument) as exc:
        return False, getattr(exc, "reason", str(exc))
    base = merge_base(meta, target)
    plan = plan_write(base, wanted, list(managed_names), meta.orientation, meta.width, meta.height, options)
    if not plan.is_noop:
        return False, "the tags differ from the wanted ones: " + ", ".join(c.tag for c in plan.changes)
    record = backups.get(photo)
    if target.mode == "in-file" and record is not None and record.backup is not None:
        original = read_photo(session, Path(record.backup), naming=options.sidecar_naming)
        if not original.image_data_hash or original.image_data_hash != meta.image_data_hash:
            return False, "the image data differs from the backed-up original"
    return True, "verified"
