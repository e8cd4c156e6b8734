"""Write people tags into photos (or XMP sidecars): back up, write, verify, restore on failure.

Every write: (1) read the file with exiftool and decide in-file vs sidecar from the CONTENT
(metadata_target); (2) plan the exact tags (metadata_plan) — nothing to do means no write;
(3) check free space; (4) back up the first original (backups); (5) write through the worker's
persistent exiftool (the arguments: metadata/commands.py), which writes a temporary file and
renames it, so a kill at any moment leaves the old file or the new one, never a mix; (6) verify,
with a read queued right behind the write: the file still parses, its image data digest is
unchanged (an empty digest never counts as equal) and the tags read back equal the plan; (7) on
any failure, restore the backup and report a `WriteError`.

A bulk write (`write_many`) keeps both cores busy: while exiftool writes one photo, Python
reads, plans and backs up the next. Each photo still goes through every step above, in
order; only a photo that shares no file with the one being written is read ahead.

mtime (WriteOptions.preserve_mtime): exiftool -P keeps the file's modification time. Immich's
library scan and PhotoPrism's index only re-read files whose mtime changed, so with mtime
preserved the integrations must ask them to refresh these files (Immich: asset job
"refresh-metadata"; PhotoPrism: index the folder with rescan); with it updated they notice
the change on their next scan by themselves.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from collections.abc import Callable, Generator, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from tagmyphotos.geometry import oriented_size
from tagmyphotos.metadata.backups import BackupError, BackupRecord, BackupStore, check_free_space, sha256_file
from tagmyphotos.metadata.commands import check_wrote, seed_sidecar_command, write_command
from tagmyphotos.metadata.exiftool import ExifToolError, ExifToolSession, RunResult, UnsafeArgument
from tagmyphotos.metadata.plan import PersonRegion, TagChange, WriteOptions, WritePlan, plan_write
from tagmyphotos.metadata.read import (
    PhotoMetadata,
    ReadRequest,
    TagSet,
    parse_read,
    read_photo,
    read_request,
    sidecar_candidates,
)
from tagmyphotos.metadata.target import Target, WriteError, choose_target, merge_base, recheck, verify_written

__all__ = ["MetadataWriter", "WriteError", "WriteItem", "WriteResult"]


@dataclass(frozen=True)
class WriteItem:
    """One photo of a bulk write: the people it should name (oriented boxes), the names this
    program wrote there before (renamed/removed people are taken out), and its displayed
    (width, height) at analysis — a mismatch means the file was replaced and is not written."""

    photo: Path
    wanted: Sequence[PersonRegion]
    managed: Sequence[str] = ()
    expected_size: tuple[int, int] | None = None
    key: Any = field(default=None, compare=False)  # the caller's own reference, handed back


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
    warning: str = ""  # for the job's events: something the owner should know, not a failure
    seconds: float = 0.0


Outcome = WriteResult | WriteError


@dataclass
class _Step:
    """One photo on its way through the write: read -> prepared (backed up) -> written -> done."""

    item: WriteItem
    photo: Path
    started: float
    read_ticket: int | None = None
    read: ReadRequest | None = None
    meta: PhotoMetadata | None = None
    target: Target | None = None
    plan: WritePlan | None = None
    result: WriteResult | None = None
    photo_stat: os.stat_result | None = None
    verify: ReadRequest | None = None
    write_tickets: list[int] = field(default_factory=list)
    json_file: Path | None = None
    snapshot: BackupRecord | None = None  # the target before this write, when not the first one
    outcome: Outcome | None = None  # set once the photo is done (or failed)

    def touches(self, naming: str) -> set[str]:
        """The files a write of this photo may change (case-folded: SMB shares ignore case)."""
        return {str(p).casefold() for p in [self.photo, *sidecar_candidates(self.photo, naming)]}


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
        """Make `photo` name exactly `wanted` among the people we manage (see WriteItem);
        raises WriteError when it cannot."""
        item = WriteItem(Path(photo), list(wanted), list(managed_names), expected_size)
        with contextlib.closing(self.write_many([item], dry_run)) as outcomes:
            outcome = next(outcomes)[1]
        if isinstance(outcome, WriteError):
            raise outcome
        return outcome

    def write_many(
        self,
        items: Iterable[WriteItem],
        dry_run: bool = False,
        stop: Callable[[], bool] | None = None,
    ) -> Generator[tuple[WriteItem, Outcome], None, None]:
        """Write photos one after the other, yielding each one's outcome in order as soon as it
        is verified. exiftool's queue runs: read next, write this, verify this, read after-next,
        ... so Python prepares (plans, backs up) photo N+1 while exiftool writes photo N.

        `stop()` is asked before each photo is written: once true, nothing more is written (the
        photos not written get no outcome). Closing the iterator early does the same."""
        source = iter(items)
        cur = nxt = self._begin(next(source, None))
        try:
            if cur is None:
                return
            self._submit_read(cur)
            nxt = self._read_ahead(next(source, None), cur)
            self._prepare(cur, dry_run)
            while cur is not None and not (stop is not None and stop()):
                coming = next(source, None) if nxt is not None else None  # before a write starts
                self._start_write(cur)
                # A photo sharing a file with `cur` is read once cur is done (its sidecar may not
                # exist before); any other is prepared meanwhile. A crash waits for cur's outcome.
                after, crash = None, None
                try:
                    if nxt is not None:
                        if nxt.read_ticket is None:
                            self._finish_write(cur)
                        self._prepare(nxt, dry_run)
                        after = self._read_ahead(coming, nxt, cur)
                except BaseException as exc:
                    crash = exc
                self._finish_write(cur)  # (done already if the next photo waited for it)
                assert cur.outcome is not None
                yield cur.item, cur.outcome
                if crash is not None:
                    raise crash
                cur, nxt = nxt, after
        finally:
            if cur is not None and cur.write_tickets:  # stopped by an error of ours mid-write
                with contextlib.suppress(Exception):
                    self._finish_write(cur)
            for left in (cur, nxt):  # prepared, never written (a stop)
                if left is not None and left.snapshot is not None:
                    self.backups.drop_snapshot(left.snapshot)
            self.session.drain()

    def _begin(self, item: WriteItem | None) -> _Step | None:
        return None if item is None else _Step(item, Path(os.path.abspath(item.photo)), time.perf_counter())

    def _read_ahead(self, item: WriteItem | None, *busy: _Step) -> _Step | None:
        """Queue a coming photo's read now, unless it shares a file with a photo still being
        written or restored (two photos with one `photo.xmp`, or the same photo twice): then
        it is read when its turn comes, after those are done."""
        step = self._begin(item)
        if step is None:
            return None
        naming = self.options.sidecar_naming
        if not any(step.touches(naming) & b.touches(naming) for b in busy):
            self._submit_read(step)
        return step

    def _submit_read(self, step: _Step) -> None:
        try:
            self._confine(step.photo)
            step.read = read_request(step.photo, naming=self.options.sidecar_naming)
            step.read_ticket = self.session.submit([step.read.args])[0]
        except WriteError as exc:
            step.outcome = exc
        except Exception as exc:  # one photo's problem (a bad name, a dead exiftool), not the run's
            step.outcome = WriteError(step.photo, str(exc))

    def _prepare(self, step: _Step, dry_run: bool) -> None:
        """Read, choose the target, plan; a no-op or dry run is done here. Otherwise check the
        free space and back up the target: from here on a failure restores it."""
        if step.outcome is None and step.read_ticket is None:
            self._submit_read(step)
        if step.outcome is not None:
            return
        assert step.read is not None and step.read_ticket is not None
        photo, item = step.photo, step.item
        try:
            meta = step.meta = parse_read(step.read, self._collect(photo, step.read_ticket))
            target = step.target = choose_target(meta, self.options)
            self._confine(photo, target.path)
            if item.expected_size is not None:
                now = oriented_size(meta.width, meta.height, meta.orientation)
                if tuple(item.expected_size) != now:
                    raise WriteError(photo, f"the photo is {now[0]}x{now[1]} now, {item.expected_size} at analysis")
            current = merge_base(meta, target)
            plan = step.plan = plan_write(
                current, item.wanted, list(item.managed), meta.orientation, meta.width, meta.height, self.options
            )
            result = step.result = WriteResult(
                photo, target.mode, target.path, "unchanged", meta.image_data_hash, meta.image_data_hash, "", ""
            )
            result.note, result.warning = target.note, target.warning
            result.changes, result.args, result.json_tags = plan.changes, plan.args, plan.json_tags
            if plan.is_noop or dry_run:
                result.status = "unchanged" if plan.is_noop else "dry-run"
                self._done(step, result)
                return
            space = check_free_space(
                [target.path if target.path.exists() else photo], self.backups, self.options.min_free_bytes
            )
            if not space.ok:
                raise WriteError(photo, space.message)
            try:
                record, created = self.backups.ensure(target.path)
            except (BackupError, OSError) as exc:
                raise WriteError(photo, f"could not back up {target.path}: {exc}") from exc
            result.backup = record.backup
            if created:  # checked to equal the file: no need to hash it again
                result.file_sha256_before = record.sha256
            else:  # written before: a failure must undo only this write, not the earlier ones
                step.snapshot = self.backups.snapshot(target.path)
                result.file_sha256_before = step.snapshot.sha256
            step.photo_stat = photo.stat()
        except WriteError as exc:
            step.outcome = exc
        except Exception as exc:  # unreadable answer, I/O error: this photo fails, the run goes on
            step.outcome = WriteError(photo, str(exc) or type(exc).__name__)

    def _collect(self, photo: Path, ticket: int) -> RunResult:
        try:
            return self.session.collect(ticket)
        except ExifToolError as exc:
            raise WriteError(photo, str(exc)) from exc

    def _start_write(self, step: _Step) -> None:
        """Queue the write and its verifying read (a new sidecar is first seeded, at once)."""
        if step.outcome is not None:
            return
        assert step.target is not None and step.plan is not None and step.meta is not None
        target = step.target
        try:
            self._confine(step.photo, target.path)  # a folder swapped for a link meanwhile
            if target.mode == "sidecar" and not target.path.exists():
                step.plan = self._seed_sidecar(step, target.path)
            side = target.path if target.mode == "sidecar" else None
            step.verify = read_request(step.photo, side, self.options.sidecar_naming)
            commands = [step.verify.args]
            if not step.plan.is_noop:  # (a seeded sidecar may already say it all)
                commands.insert(0, self._write_args(step))
            Path(str(target.path) + "_exiftool_tmp").unlink(missing_ok=True)  # left by a killed exiftool
            step.write_tickets = self.session.submit(commands)
        except Exception as exc:
            self._fail(step, exc)

    def _confine(self, *paths: Path) -> None:
        """WriteError unless every path, followed now, stays in the library (BackupStore)."""
        for path in paths:
            try:
                self.backups.check_inside(path)
            except BackupError as exc:
                raise WriteError(path, "leads outside the library through a link (a folder or file replaced "
                                       "by a symlink?); nothing was read or written there") from exc  # fmt: skip

    def _write_args(self, step: _Step) -> list[str]:
        assert step.plan is not None and step.target is not None
        command = write_command(step.plan, step.target.path, self.options.preserve_mtime, self.tmp_dir)
        step.json_file = command.json_file
        return command.args

    def _finish_write(self, step: _Step) -> None:
        """Collect the write and its read, verify, and finish the result (or restore)."""
        if step.outcome is not None:
            return
        assert step.target is not None and step.plan is not None and step.meta is not None
        assert step.photo_stat is not None and step.result is not None
        try:
            after = self._written(step)
            self._confine(step.photo, step.target.path)
            verify_written(step.target, step.meta, step.plan, step.photo_stat, after)
            result = step.result
            result.status = "written"
            if step.target.mode == "in-file":
                result.image_hash_after = after.image_data_hash
            result.file_sha256_after = sha256_file(step.target.path)
            result.changes, result.args, result.json_tags = step.plan.changes, step.plan.args, step.plan.json_tags
            self._done(step, result)
        except Exception as exc:
            self._fail(step, exc)
        finally:
            step.write_tickets = []
            if step.json_file is not None:
                step.json_file.unlink(missing_ok=True)
            if step.snapshot is not None:
                self.backups.drop_snapshot(step.snapshot)

    def _written(self, step: _Step) -> PhotoMetadata:
        """The file as read back right after the write (the write's own status checked)."""
        assert step.verify is not None and step.target is not None
        *writes, read = [self._collect(step.photo, t) for t in step.write_tickets]
        check_wrote(step.target.path, writes)
        return parse_read(step.verify, read)

    def _fail(self, step: _Step, exc: Exception) -> None:
        """Undo a started write (snapshot or backup, see `_undo`) and record why."""
        assert step.target is not None
        if step.json_file is not None:
            step.json_file.unlink(missing_ok=True)
        restored = self._undo(step)
        reason = exc.reason if isinstance(exc, WriteError) else str(exc)
        error = WriteError(step.photo, reason, restored)
        error.__cause__ = exc
        step.outcome = error
        step.write_tickets = []

    @staticmethod
    def _done(step: _Step, result: WriteResult) -> None:
        result.seconds = time.perf_counter() - step.started
        step.outcome = result

    def _seed_sidecar(self, step: _Step, sidecar: Path) -> WritePlan:
        """Create the sidecar from the photo's XMP, then plan against what it really holds."""
        photo, meta, item = step.photo, step.meta, step.item
        assert meta is not None
        res = self.session.run(seed_sidecar_command(photo, sidecar))
        if res.status != 0 and "Nothing to write" not in res.stderr:
            raise WriteError(photo, f"could not create the sidecar {sidecar.name}: {res.stderr or res.stdout}")
        seeded = self._read(photo, sidecar).sidecar or TagSet(sidecar)
        return plan_write(
            seeded, item.wanted, list(item.managed), meta.orientation, meta.width, meta.height, self.options
        )

    def check(self, photo: Path, wanted: Sequence[PersonRegion], managed_names: Iterable[str] = ()) -> tuple[bool, str]:
        """Re-verify a photo whose write may have been interrupted (see `recheck`)."""
        return recheck(self.session, self.backups, self.options, photo, wanted, managed_names)

    def _undo(self, step: _Step) -> bool:
        """Put the target back as it was before this write: its snapshot, or the backup."""
        assert step.target is not None
        try:
            if step.snapshot is not None:
                self.backups.restore_snapshot(step.snapshot)
            else:
                self.backups.restore(step.target.path)
            return True
        except (BackupError, OSError):
            return False

    def restore(self, path: Path) -> None:
        """Put a photo (or sidecar) back as it was before the first write (byte-identical)."""
        self.backups.restore(path)
