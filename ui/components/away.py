""""Named while you were away": the automatic naming runs the owner has not looked at yet.

Why on the Review page: it is where the owner looks first. Each run shows who was named, in how
many photos and when, links to those faces, and undoes the whole run in one click (the files
its write changed come back byte for byte). "Got it" hides the runs seen so far.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from nicegui import ui

from jobs.tasks import undo_auto_batch
from tagmyphotos.review import auto
from tagmyphotos.review.auto import BatchView

from .. import frame
from ..frame import plural

SHOWN = 5  # runs shown at most (the API lists all of them)


class AwayPanel:
    """Unseen automatic runs with their undo; refreshes itself and calls `after` on a change."""

    def __init__(self, after: Callable[[], Awaitable[None]]) -> None:
        self.after = after
        self.box = frame.tid(ui.column().classes("w-full gap-1"), "away-panel")

    async def refresh(self) -> None:
        batches = await frame.io(auto.unseen_batches, SHOWN)
        self.box.clear()
        if not batches:
            return
        with self.box, ui.card().classes("w-full gap-1 bg-green-1 dark:bg-green-10"):
            with ui.row().classes("w-full items-center"):
                ui.icon("auto_awesome", size="1.4rem").classes("text-green-10 dark:text-green-2")
                ui.label("Named while you were away").classes("text-lg font-medium")
                ui.space()
                frame.tid(ui.button("Got it", on_click=lambda: self.seen(batches[0].id)), "away-seen").props("flat")
            for batch in batches:
                self.row(batch)

    def row(self, batch: BatchView) -> None:
        who = ", ".join(f"{name} ({n})" for name, n in sorted(batch.people.items()))
        when = batch.created_at.replace("T", " ")[:16]
        with ui.row().classes("w-full items-center gap-2 flex-wrap"):
            ui.label(f"{when} UTC · {plural(batch.faces, 'face')} in {plural(batch.photos, 'photo')}: {who}").classes(
                "text-sm"
            )
            if batch.write_job_id:
                ui.label("written into the files").classes("text-xs text-grey-8 dark:text-grey-4")
            ui.space()
            undo = frame.tid(ui.button("Undo this run", icon="undo", on_click=lambda: self.undo(batch)),
                             f"away-undo-{batch.id}")  # fmt: skip
            undo.props("flat dense color=negative")

    async def undo(self, batch: BatchView) -> None:
        files = " and put the files back as they were" if batch.write_job_id else ""
        done = f"Undid: {plural(batch.faces, 'face')} back to suggestions{files}"
        if await frame.call(undo_auto_batch, batch.id, done=done) is not None:
            frame.counts_changed()
            await self.refresh()
            await self.after()

    async def seen(self, batch_id: int) -> None:
        await frame.io(auto.mark_seen, batch_id)
        await self.refresh()
