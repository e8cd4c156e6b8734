"""Write people tags into a photo (or its XMP sidecar): back up, write, verify, restore on failure.

Every write: (1) read the file with exiftool and decide in-file vs sidecar from the CONTENT
(a WebP named .jpg, a read-only file, a RAW or a format whose image data we cannot hash get a
sidecar, with a note; so does a photo that already has a sidecar, which viewers read first);
(2) plan the exact tags (metadata_plan) — nothing to do means no write; (3) check free space;
(4) back up the first original (backups); (5) write through the worker's persistent exiftool,
which writes a temporary file and renames it, so a kill at any moment leaves the old file or
the new one, never a mix; (6) verify, with a read sent along with the write: the file still
parses, its image data digest is unchanged (an empty digest never counts as equal) and the
tags read back equal the plan; (7) on any failure, restore the backup and raise `WriteError`.

mtime (WriteOptions.preserve_mtime): exiftool -P keeps the file's modification time. Immich's
library scan and PhotoPrism's index only re-read files whose mtime changed, so with mtime
preserved the integrations must ask them to refresh these files (Immich: asset job
"refresh-metadata"; PhotoPrism: index the folder with rescan); with it updated they notice
the change on their next scan by themselves.
"""

from __future__ import annotations

import json
import os
import stat
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from tagmyphotos.backups import BackupError, BackupStore, check_free_space, sha256_file
from tagmyphotos.metadata_exiftool import ExifToolError, ExifToolSession, UnsafeArgument, path_arg
from tagmyphotos.metadata_geometry import oriented_size
from tagmyphotos.metadata_plan import PersonRegion, TagChange, TagState, WriteOptions, WritePlan, plan_write
from tagmyphotos.metadata_read import (
    PhotoMetadata,
    ReadRequest,
    TagSet,
    find_sidecar,
    parse_read,
    read_photo,
    read_request,
    sidecar_candidates,
)

# exiftool type extension (from content) -> file name extensions it accepts for that content.
_EXTENSIONS = {
    "jpg": {"jpg", "jpeg", "jpe", "jfif", "jif"},
    "tif": {"tif", "tiff"},
    "heic": {"heic", "heif", "hif"},
}


class WriteError(RuntimeError):
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


@dataclass
class WriteResult:
    """What happened to one photo (for the audit log)."""

    path: Path
    mode: Literal["in-file", "sidecar"]
    target: Path
    status: Literal["written", "unchanged", "dry-run"]
    image_hash_before: str  # image-data digest of the photo (unchanged by any write)
    image_hash_after: str
    file_sha256_before: str  # of the written file ("" when it did not exist)
    file_sha256_after: str
    changes: list[TagChange] = field(default_factory=list)
    args: list[str] = field(default_factory=list)  # exiftool assignments sent
    json_tags: dict[str, object] = field(default_factory=dict)  # structures sent with -j=
    backup: str | None = None
    note: str = ""
    seconds: float = 0.0


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
    if options.mode == "sidecar":
        return _sidecar(photo, side)
    if options.mode == "auto" and existing is not None:
        # Immich, PhotoPrism and digiKam read the sidecar over the photo: tags written into the
        # photo would stay hidden behind it.
        return _sidecar(photo, existing, f"sidecar because {existing.name} exists and viewers read it first")
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
    return _sidecar(photo, side, "sidecar because " + "; ".join(reasons))


def _sidecar(photo: Path, side: Path, note: str = "") -> Target:
    """A sidecar target, refused up front (not with exiftool's temp-file error) when the folder
    cannot be written: a read-only mount or permissions."""
    if not os.access(side.parent, os.W_OK | os.X_OK):
        raise WriteError(photo, "the photo's folder is read-only (mount or permissions): neither the photo "
                                "nor a sidecar next to it can be written")  # fmt: skip
    return Target("sidecar", side, note)


class MetadataWriter:
    """Writes people into photos through one persistent exiftool (one writer per worker)."""

    def __init__(
        self,
        session: ExifToolSession,
        backups: BackupStore,
        options: WriteOptions = WriteOptions(),
        tmp_dir: Path | None = None,
    ):
        self.session, self.backups, self.options = session, backups, options
        self.tmp_dir = Path(tmp_dir or tempfile.gettempdir())

    def _read(self, photo: Path, sidecar: Path | None = None) -> PhotoMetadata:
        try:
            return read_photo(self.session, photo, sidecar, self.options.sidecar_naming)
        except (ExifToolError, UnsafeArgument) as exc:
            raise WriteError(photo, str(exc)) from exc

    def write(
        self,
        photo: Path,
        wanted: Sequence[PersonRegion],
        managed_names: Iterable[str] = (),
        dry_run: bool = False,
        expected_size: tuple[int, int] | None = None,
    ) -> WriteResult:
        """Make `photo` name exactly `wanted` (oriented boxes) among the people we manage.

        `managed_names`: names this program wrote before (renamed/removed people are taken out).
        `expected_size`: the photo's displayed (width, height) at analysis; a mismatch means the
        file was replaced since and nothing is written.
        """
        started = time.perf_counter()
        photo = Path(os.path.abspath(photo))
        managed = list(managed_names)
        meta = self._read(photo)
        target = choose_target(meta, self.options)
        if expected_size is not None:
            now = oriented_size(meta.width, meta.height, meta.orientation)
            if tuple(expected_size) != now:
                raise WriteError(photo, f"the photo is {now[0]}x{now[1]} now, {expected_size} at analysis")
        current = self._current(meta, target)
        plan = plan_write(current, wanted, managed, meta.orientation, meta.width, meta.height, self.options)
        result = WriteResult(
            photo, target.mode, target.path, "unchanged", meta.image_data_hash, meta.image_data_hash, "", ""
        )
        result.note = target.note
        if plan.is_noop or dry_run:
            result.status = "unchanged" if plan.is_noop else "dry-run"
            result.changes, result.args, result.json_tags = plan.changes, plan.args, plan.json_tags
            result.seconds = time.perf_counter() - started
            return result
        space = check_free_space(
            [target.path if target.path.exists() else photo], self.backups, self.options.min_free_bytes
        )
        if not space.ok:
            raise WriteError(photo, space.message)
        try:
            record, _ = self.backups.ensure(target.path)
        except (BackupError, OSError) as exc:
            raise WriteError(photo, f"could not back up {target.path}: {exc}") from exc
        result.backup = record.backup
        result.file_sha256_before = record.sha256 if record.absent else sha256_file(target.path)
        photo_stat = photo.stat()
        try:
            if target.mode == "sidecar" and not target.path.exists():
                plan = self._seed_sidecar(photo, target.path, meta, wanted, managed)
            after = self._write_and_verify(photo, target, meta, plan, photo_stat)
        except Exception as exc:
            restored = self._restore(target.path)
            reason = exc.reason if isinstance(exc, WriteError) else str(exc)
            raise WriteError(photo, reason, restored) from exc
        result.status = "written"
        result.image_hash_after = after.image_data_hash if target.mode == "in-file" else meta.image_data_hash
        result.file_sha256_after = sha256_file(target.path)
        result.changes, result.args, result.json_tags = plan.changes, plan.args, plan.json_tags
        result.seconds = time.perf_counter() - started
        return result

    def _current(self, meta: PhotoMetadata, target: Target) -> TagSet:
        """The tags the write merges with: the photo's, or the sidecar's (a new sidecar starts
        as a copy of the photo's XMP, so other tools' regions stay visible to readers)."""
        if target.mode == "sidecar" and meta.sidecar is not None and meta.sidecar.path == target.path:
            return meta.sidecar
        return meta.embedded

    def _seed_sidecar(
        self,
        photo: Path,
        sidecar: Path,
        meta: PhotoMetadata,
        wanted: Sequence[PersonRegion],
        managed: list[str],
    ) -> WritePlan:
        """Create the sidecar from the photo's XMP, then plan against what it really holds."""
        res = self.session.run(["-tagsfromfile", path_arg(photo), "-xmp:all", path_arg(sidecar)])
        if res.status != 0 and "Nothing to write" not in res.stderr:
            raise WriteError(photo, f"could not create the sidecar {sidecar.name}: {res.stderr or res.stdout}")
        seeded = self._read(photo, sidecar).sidecar or TagSet(sidecar)
        return plan_write(seeded, wanted, managed, meta.orientation, meta.width, meta.height, self.options)

    def _write_and_verify(
        self, photo: Path, target: Target, meta: PhotoMetadata, plan: WritePlan, photo_stat: os.stat_result
    ) -> PhotoMetadata:
        """Write, then verify; the verifying read is sent with the write (one round trip)."""
        verify = read_request(photo, target.path if target.mode == "sidecar" else None, self.options.sidecar_naming)
        if plan.is_noop:  # a seeded sidecar that already says it all
            return self._verify(
                photo, target, meta, plan, photo_stat, parse_read(verify, self.session.run(verify.args))
            )
        after = self._run_write(target.path, plan, verify)
        return self._verify(photo, target, meta, plan, photo_stat, after)

    def _run_write(self, path: Path, plan: WritePlan, verify: ReadRequest) -> PhotoMetadata:
        stale = Path(str(path) + "_exiftool_tmp")  # left by an exiftool killed mid-write; ours
        stale.unlink(missing_ok=True)
        args = ["-overwrite_original", "-n"] + (["-P"] if self.options.preserve_mtime else []) + plan.args
        json_file = None
        try:
            if plan.json_tags:
                fd, name = tempfile.mkstemp(prefix="tagmyphotos-", suffix=".json", dir=self.tmp_dir)
                json_file = Path(name)
                with os.fdopen(fd, "w", encoding="utf-8") as f:
                    json.dump([{"SourceFile": "*", **plan.json_tags}], f, ensure_ascii=False)
                args.append("-j=" + path_arg(json_file))
            res, read = self.session.run_batch([[*args, path_arg(path)], verify.args])
        except (ExifToolError, UnsafeArgument) as exc:
            raise WriteError(path, str(exc)) from exc
        finally:
            if json_file is not None:
                json_file.unlink(missing_ok=True)
        said = res.stdout + "\n" + res.stderr  # the summary goes to stderr when -j= is used
        written = "1 image files updated" in said or "1 image files created" in said
        if res.status != 0 or not written:
            raise WriteError(path, f"exiftool did not write: {res.stderr or res.stdout}")
        return parse_read(verify, read)

    def _verify(
        self,
        photo: Path,
        target: Target,
        before: PhotoMetadata,
        plan: WritePlan,
        photo_stat: os.stat_result,
        after: PhotoMetadata,
    ) -> PhotoMetadata:
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
        return after

    def check(self, photo: Path, wanted: Sequence[PersonRegion], managed_names: Iterable[str] = ()) -> tuple[bool, str]:
        """Re-verify a photo whose write may have been interrupted (a crash between exiftool's
        rename and our verification): the tags say exactly `wanted` and the image data equals
        that of the backed-up original. Returns (ok, reason)."""
        photo = Path(os.path.abspath(photo))
        try:
            meta = self._read(photo)
            target = choose_target(meta, self.options)
        except WriteError as exc:
            return False, exc.reason
        plan = plan_write(
            self._current(meta, target),
            wanted,
            list(managed_names),
            meta.orientation,
            meta.width,
            meta.height,
            self.options,
        )
        if not plan.is_noop:
            return False, "the tags differ from the wanted ones: " + ", ".join(c.tag for c in plan.changes)
        record = self.backups.get(photo)
        if target.mode == "in-file" and record is not None and record.backup is not None:
            original = read_photo(self.session, Path(record.backup), naming=self.options.sidecar_naming)
            if not original.image_data_hash or original.image_data_hash != meta.image_data_hash:
                return False, "the image data differs from the backed-up original"
        return True, "verified"

    def _restore(self, path: Path) -> bool:
        try:
            self.backups.restore(path)
            return True
        except (BackupError, OSError):
            return False

    def restore(self, path: Path) -> None:
        """Put a photo (or sidecar) back as it was before the first write (byte-identical)."""
        self.backups.restore(path)
