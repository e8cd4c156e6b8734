"""Write: how many photos will change and how (per-file before/after), the bulk write with live
progress and results, the write log, and restore from backups."""

from __future__ import annotations

import functools
from typing import Any

from nicegui import ui

from jobs.tasks import start_job
from tagmyphotos.stages import restore
from tagmyphotos.stages import write as writes
from tagmyphotos.states import JobState
from tagmyphotos.store import jobs as jobs_store
from tagmyphotos.store.jobs import JobView

from .. import frame
from ..components.face_grid import Pager
from ..components.job_progress import LiveJob
from ..components.safety import confirm
from ..frame import plural

# Files previewed at a time (a dry run runs exiftool on each: ~0.1 s per file on a NAS).
PREVIEW_FILES = 10
# Write log rows per page.
LOG_ROWS = 25
# write.mode in words, for the page's heading.
MODE_WORDS = {
    "auto": "Names go into the photo itself where its format allows, otherwise into a sidecar file next to it.",
    "in-file": "Names go into the photo itself.",
    "sidecar": "Names go into a sidecar file next to each photo; the photos stay untouched.",
}
# The tags a write sets, in words (their last part; the details list the tags themselves).
TAG_WORDS = {
    "PersonInImage": "the list of people in the photo",
    "RegionInfo": "where each face is and who it is",
    "RegionInfoMP": "where each face is, for Windows Photos",
    "Subject": "keywords",
    "HierarchicalSubject": "the People keyword tree (Lightroom)",
    "TagsList": "digiKam's people tags",
    "CatalogSets": "the People keyword tree (older apps)",
    "LastKeywordXMP": "keywords for Windows",
    "Orientation": "the orientation the face areas refer to",
}
RESULT_COLOR = {
    "ok": "positive",
    "written": "positive",
    "restored": "info",
    "failed": "negative",
    # grey-8: white on Quasar's grey was 2.7:1 ("skipped", issue 29); #616161 is 6.2:1
    "skipped": "grey-8",
    "unchanged": "grey-8",
}


def register() -> None:
    @frame.page("/write", "Write")
    async def write_page() -> None:
        WritePage()


class WritePage:
    def __init__(self) -> None:
        cfg = frame.core().cfg
        self.pending = 0
        self.log: Pager
        frame.section(
            "Write names into your photos",
            f"{MODE_WORDS.get(cfg.write.mode, cfg.write.mode)} Every file is backed up first and checked after "
            f"writing; backups are kept {cfg.write.backup_retention_days} days and can be restored below.",
        )
        with ui.card().classes("w-full gap-2").props("flat bordered"):
            with ui.row().classes("w-full items-center gap-2"):
                self.summary = frame.tid(ui.label("Counting…"), "write-summary").classes("text-lg font-medium")
                ui.space()
                self.preview_button = ui.button("Preview changes", icon="preview", on_click=self.preview).props("flat")
                self.start = frame.tid(ui.button("Write", icon="save_as", on_click=self.write), "start-write")
                self.start.props("unelevated color=primary")
            # a running write or restore shows here, at the top, where the button was pressed
            self.live = frame.tid(ui.column(), "write-live").classes("w-full")
            self.previews = ui.column().classes("w-full gap-1")
        frame.section("Write log", "Every write, restore and failure, newest first.")
        with ui.row().classes("w-full items-center gap-2"):
            self.failed_only = ui.switch("Failures only", on_change=lambda: self.log.go(1))
            self.search = frame.tid(ui.input("Find a file", on_change=lambda: self.log.go(1)), "log-search")
            self.search.props("dense outlined clearable debounce=300").classes("min-w-[200px]")
            ui.space()
            frame.tid(
                ui.button("Restore all", icon="settings_backup_restore", on_click=self.restore_all), "restore-all"
            ).props("flat color=negative")
        self.log = Pager(self.fetch_log, self.render_log, LOG_ROWS)
        ui.timer(0, self.reload, once=True)

    async def reload(self) -> None:
        count, _ = await frame.io(writes.preview, frame.core(), None, 0)
        self.pending = count
        self.summary.set_text(f"{plural(count, 'photo')} will change" if count else "Everything is written")
        self.start.set_text(f"Write {plural(count, 'photo')}" if count else "Write")
        self.start.set_enabled(count > 0)
        self.preview_button.set_enabled(count > 0)
        active = await frame.io(jobs_store.active_job, "write")
        if active is not None:
            self._watch(active)
        await self.log.go(1)

    async def preview(self) -> None:
        self.preview_button.props("loading")
        try:
            result = await frame.call(writes.preview, frame.core(), None, PREVIEW_FILES)
        finally:
            self.preview_button.props(remove="loading")
        if result is None:
            return
        count, files = result
        self.previews.clear()
        with self.previews:
            for item in files:
                _file_preview(item)
            if count > len(files):
                ui.label(f"… and {plural(count - len(files), 'more photo')}").classes("text-sm text-grey-7")

    async def write(self) -> None:
        if not await confirm(
            f"Write {plural(self.pending, 'photo')}?",
            "Each file is backed up, written and verified; a file that fails verification is put back. "
            "You can restore any file from its backup afterwards.",
            ok="Write",
            color="primary",
        ):
            return
        job_id = await frame.call(start_job, "write")
        if job_id is not None:
            self._watch(job_id)

    def _watch(self, job_id: int) -> None:
        self.live.clear()
        self.previews.clear()  # the preview described the files before this job
        self.start.set_enabled(False)
        with self.live:
            LiveJob(job_id, on_finish=self.finished)
        self.live.run_method("scrollIntoView", {"block": "nearest", "behavior": "smooth"})

    async def finished(self, job: JobView) -> None:
        result = job.result or {}
        what = "Restore" if job.type == "restore" else "Write"
        if job.state == JobState.DONE:
            if job.type == "restore":
                text = f"Restore finished: {plural(int(result.get('restored', 0) or 0), 'file')} put back"
            else:
                text = (f"Write finished: {plural(int(result.get('written', 0) or 0), 'photo')} written, "
                        f"{int(result.get('unchanged', 0) or 0):,} unchanged")  # fmt: skip
            failed = int(result.get("failed", 0) or 0)
            ui.notify(text + (f", {failed:,} failed" if failed else ""), type="warning" if failed else "positive")
        else:
            ui.notify(f"{what} {job.state}: {job.error or ''}", type="negative")
        count, _ = await frame.io(writes.preview, frame.core(), None, 0)
        self.pending = count
        self.summary.set_text(f"{plural(count, 'photo')} will change" if count else "Everything is written")
        self.start.set_text(f"Write {plural(count, 'photo')}" if count else "Write")
        self.start.set_enabled(count > 0)
        await self.log.go(1)

    # --- log and restore ------------------------------------------------------------------
    async def fetch_log(self, offset: int, limit: int) -> tuple[list[dict[str, Any]], int]:
        result = "failed" if self.failed_only.value else None
        search = (self.search.value or "").strip() or None
        total, rows = await frame.io(restore.audit_log, limit, offset, None, None, result, search)
        return rows, total

    def render_log(self, rows: list[dict[str, Any]]) -> None:
        if not rows:
            if (self.search.value or "").strip() or self.failed_only.value:
                frame.empty_state("search_off", "No entry matches", "Change the file name or the switch above.")
                return
            frame.empty_state(
                "history", "Nothing written yet", "Accept some names, then write them into the photos above."
            )
            return
        for row in rows:
            with ui.row().classes(
                "w-full items-center gap-2 no-wrap text-sm border-b border-gray-200 dark:border-gray-700 py-1"
            ):
                ui.badge(row["result"], color=RESULT_COLOR.get(row["result"], "grey"))
                ui.label(row["mode"]).classes("w-16 text-grey-7 gt-xs")
                ui.link(row["path"], f"/photo/{row['photo_id']}" if row["photo_id"] else "#").classes(
                    "font-mono break-all"
                )
                ui.space()
                ui.label(row["error"] or row["note"] or "").classes("text-xs text-grey-7 gt-sm")
                ui.label(row["created_at"][:16].replace("T", " ")).classes("text-xs text-grey-7 gt-xs")
                if row["backup_path"] and row["result"] != "restored":
                    button = ui.button(icon="restore", on_click=functools.partial(self.restore, row["path"]))
                    frame.tid(button, f"restore-{row['path']}").props("flat dense round aria-label=Restore")
                    button.tooltip("Put back the file as it was before this write")

    async def restore(self, path: str) -> None:
        if not await confirm(
            f"Restore {path}?",
            "The file (and its sidecar) go back to how they were before "
            "the write. The names stay accepted here; a later write writes them again.",
            ok="Restore",
            color="warning",
        ):
            return
        job_id = await frame.call(start_job, "restore", {"paths": [path]})
        if job_id is not None:
            self._watch(job_id)

    async def restore_all(self) -> None:
        if not await confirm(
            "Restore every written file?",
            "All photos and sidecars with a backup go back to how they were before Tag My Photos wrote them.",
            ok="Restore all",
        ):
            return
        job_id = await frame.call(start_job, "restore", {"all": True})
        if job_id is not None:
            self._watch(job_id)


def where_names_go(mode: str) -> str:
    """A file's write target in words (the writer's 'in-file' / 'sidecar')."""
    return "names go into the photo itself" if mode == "in-file" else "names go into a sidecar file next to the photo"


def people_after(changes: list[dict[str, Any]]) -> list[str]:
    """Who the photo will name: the people list the write sets (empty when it does not change)."""
    return next((list(c["after"]) for c in changes if c["tag"].endswith(":PersonInImage")), [])


def _file_preview(item: writes.FilePreview) -> None:
    caption = item.error or where_names_go(item.mode)
    with frame.tid(ui.expansion(item.path, caption=caption), "file-preview").classes("w-full text-sm").props("dense"):
        if item.error:
            ui.label(item.error).classes("text-negative")
        if item.note:
            ui.label(item.note).classes("text-grey-7")
        people = people_after(item.changes)
        if people:
            ui.label("People in this photo after the write: " + ", ".join(people))
        changed = sorted({TAG_WORDS.get(c["tag"].rsplit(":", 1)[-1], c["tag"]) for c in item.changes})
        if changed:
            ui.label("What changes: " + "; ".join(changed) + ".")
        # the tags themselves, for the curious (and for checking what another app will read)
        with ui.expansion("Details: the tags as written").classes("w-full").props("dense"):
            for change in item.changes:
                with ui.row().classes("w-full gap-2 no-wrap"):
                    ui.label(change["tag"]).classes("font-mono w-1/4 break-all")
                    ui.label(", ".join(change["before"]) or "—").classes("w-1/3 break-all text-grey-7")
                    ui.label("→").classes("w-4")
                    ui.label(", ".join(change["after"]) or "—").classes("break-all")
