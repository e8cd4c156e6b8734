"""Teach: learn people from reference photos — a folder per person on the server, or photos of
one person uploaded here. Both run as a teach job; the page follows it and shows which photos
were used and which were not (no face, several faces), and why."""

from __future__ import annotations

from typing import Any

from nicegui import events, ui

from jobs.tasks import start_job
from tagmyphotos.stages import teach as teach_stage
from tagmyphotos.states import JobState
from tagmyphotos.store.jobs import JobView

from .. import frame
from ..components.job_progress import LiveJob
from ..components.person_picker import person_names

ROOTS = {"library": "In the library", "data": "In the data folder"}
# Rejected photos listed under a finished job (all of them are in the job's events).
REJECTED_SHOWN = 50


def register() -> None:
    @frame.page("/teach", "Teach")
    async def teach_page() -> None:
        TeachPage()


class TeachPage:
    def __init__(self) -> None:
        frame.section(
            "Teach from reference photos",
            "Photos of one person alone teach the matcher who they are. Each photo with exactly one face "
            "becomes a named face; the others are listed with the reason, never guessed.",
        )
        with ui.card().classes("w-full gap-2").props("flat bordered"):
            ui.label("A folder on the server").classes("font-medium")
            ui.label("One sub-folder per person, named after them: people/Anna/*.jpg, people/Bob/*.jpg.").classes(
                "text-sm text-grey-7 dark:text-grey-5"
            )
            with ui.row().classes("w-full items-end gap-3"):
                self.root = frame.tid(ui.toggle(ROOTS, value="library"), "teach-root").props("dense")
                self.folder = frame.tid(ui.input("Folder", placeholder="people"), "teach-folder").props(
                    "dense outlined"
                )
                frame.tid(ui.button("Teach", icon="school", on_click=self.teach_folder), "teach-folder-go").props(
                    "unelevated color=primary"
                )
        with ui.card().classes("w-full gap-2").props("flat bordered"):
            ui.label("Upload photos of one person").classes("font-medium")
            self.person = frame.tid(ui.input("Who is in these photos?"), "teach-person").props(
                "dense outlined"
            ).classes("min-w-[260px]")
            self.upload = frame.tid(
                ui.upload(multiple=True, auto_upload=True, on_multi_upload=self.uploaded,
                          label="Photos of this person alone (JPEG, PNG, HEIC, ...)"),
                "teach-upload",
            ).props("accept=image/*").classes("w-full max-w-xl")  # fmt: skip
        self.jobs = ui.column().classes("w-full gap-2")
        ui.timer(0, self.load_names, once=True)

    async def load_names(self) -> None:
        self.person.set_autocomplete(await person_names())

    async def teach_folder(self) -> None:
        root, folder = str(self.root.value), (self.folder.value or "").strip().strip("/")
        cfg = frame.core().cfg
        if await frame.call(teach_stage.teach_root, cfg, root, folder) is None:
            return  # the reason was shown
        await self._start({"root": root, "folder": folder}, f"Teaching from {folder or 'the top folder'}")

    async def uploaded(self, e: events.MultiUploadEventArguments) -> None:
        """All chosen files arrived: keep each (by content), then teach them as one job."""
        self.upload.reset()
        person = (self.person.value or "").strip()
        if not person:
            ui.notify("Type who is in the photos first, then add them again", type="warning")
            return
        saved = []
        for file in e.files:
            content = await file.read()
            name = await frame.call(teach_stage.save_upload, frame.core().cfg, person, file.name, content)
            if name is not None:
                saved.append(name)
        params = await frame.call(teach_stage.upload_params, person) if saved else None
        if params is not None:
            await self._start(params, f"Teaching {person} from {len(saved)} photos")

    async def _start(self, params: dict[str, Any], what: str) -> None:
        job_id = await frame.call(start_job, "teach", params, False)
        if job_id is None:
            return
        ui.notify(what, type="positive")
        with self.jobs:
            holder = ui.column().classes("w-full gap-1")
            with holder:
                LiveJob(job_id, on_finish=lambda view: _report(holder, view))


def _report(holder: ui.column, job: JobView) -> None:
    """What the finished job taught, and the photos it could not use."""
    result = job.result or {}
    with holder, frame.tid(ui.column().classes("w-full gap-1"), f"teach-report-{job.id}"):
        people = result.get("people") or {}
        if people:
            taught = ", ".join(f"{name} ({n})" for name, n in people.items())
            ui.label(f"Taught: {taught}").classes("text-positive")
        elif job.state == JobState.DONE:
            ui.label("Nobody was taught: no usable photo (see below).").classes("text-warning")
        for item in (result.get("rejected") or [])[:REJECTED_SHOWN]:
            with ui.row().classes("w-full gap-2 no-wrap text-sm"):
                ui.label(item.get("path", "")).classes("font-mono break-all w-1/2")
                ui.label(item.get("reason", "")).classes("text-grey-7 dark:text-grey-5")
