"""Settings > Names from Immich and PhotoPrism: start an import (or a dry run), read its outcome,
and decide each conflict (their name, or ours). The work is the import-names job; the page only
starts it, follows its row and lists what review.imported_names says is open."""

from __future__ import annotations

import asyncio
import functools

from nicegui import ui

from jobs.tasks import start_job
from tagmyphotos.review import imported_names
from tagmyphotos.store import models as m

from .. import frame

SOURCES = (("immich", "Immich"), ("photoprism", "PhotoPrism"))
# Conflicts shown at once (the API pages through all of them).
CONFLICTS_SHOWN = 50
POLL_S = 1.0


def outcome_text(result: dict) -> str:
    verb = "Would import" if result.get("dry_run") else "Imported"
    return (
        f"{verb} from {result.get('source')}: {result.get('imported', 0)} names on our faces, "
        f"{result.get('marked', 0)} hand-marked faces, {result.get('already', 0)} already here, "
        f"{result.get('conflicts', 0)} conflicts, {result.get('unmatched', 0)} unmatched"
    )


class NameImport:
    def __init__(self) -> None:
        with ui.card().classes("w-full gap-2").props("flat bordered"):
            ui.label("Names from Immich and PhotoPrism").classes("font-medium")
            ui.label(
                "Take the names people already gave there onto the same faces here (then Write puts them "
                "into the files). A face confirmed otherwise here is never changed: it is listed below to decide."
            ).classes("text-sm")
            with ui.row().classes("items-center gap-2"):
                self.dry = frame.tid(ui.checkbox("Dry run (only count)"), "import-dry-run")
                for source, label in SOURCES:
                    button = ui.button(f"Import from {label}", icon="download",
                                       on_click=functools.partial(self.start, source))  # fmt: skip
                    frame.tid(button, f"import-{source}").props("flat dense")
            self.outcome = frame.tid(ui.label().classes("text-sm whitespace-pre-wrap"), "import-outcome")
            self.conflicts = ui.column().classes("w-full gap-1")
        ui.timer(0.1, self.refresh, once=True)

    async def start(self, source: str) -> None:
        self.outcome.set_text("Importing…")
        job = await run_import_job({"source": source, "dry_run": bool(self.dry.value)})
        if job is not None and job.state == m.JobState.DONE:
            self.outcome.set_text(outcome_text(job.result or {}))
        elif job is not None:
            self.outcome.set_text(f"The import failed: {job.error}")
        await self.refresh()

    async def refresh(self) -> None:
        found = await frame.call(imported_names.list_conflicts, None, CONFLICTS_SHOWN)
        self.conflicts.clear()
        if not found:
            return
        items, total = found
        with self.conflicts:
            if total:
                ui.label(f"{total} conflicts to decide").classes("text-sm font-medium")
            for c in items:
                with frame.tid(ui.row().classes("items-center gap-2 text-sm"), f"conflict-{c.id}"):
                    here = repr(c.name_here) if c.name_here else "no name (rejected or ignored)"
                    ui.link(c.photo_path, f"/photo/{c.photo_id}")
                    ui.label(f"{c.source}: {c.name_there!r} · here: {here}" + (f" · {c.note}" if c.note else ""))
                    for take, label in (("theirs", "Take theirs"), ("ours", "Keep ours")):
                        button = ui.button(label, on_click=functools.partial(self.decide, c.id, take))
                        frame.tid(button, f"{take}-{c.id}").props("flat dense")

    async def decide(self, conflict_id: int, take: str) -> None:
        if await frame.succeeded(imported_names.decide_conflict, frame.core(), conflict_id, take, done="decided"):
            await self.refresh()


async def run_import_job(params: dict[str, object]) -> m.Job | None:
    """Start an import-names job and wait for its end (None: it could not be started)."""
    job_id = await frame.call(start_job, "import-names", params)
    if job_id is None:
        return None
    while True:
        job = await frame.call(m.Job.get_by_id, job_id)
        if job is None or job.state not in (m.JobState.QUEUED, m.JobState.RUNNING):
            return job
        await asyncio.sleep(POLL_S)
