"""What the server is doing with the library right now (scan, face analysis, grouping) and how
far it is, on the pages a newcomer sees first (Review, Unknown faces).

Why on those pages and not only under Jobs: with TAGMYPHOTOS_PASSWORD set, the welcome screen
is skipped and the first page after login is Review; it said "Nothing to review … start a scan"
while the first analysis was running, so a newcomer started a second scan (issue 29).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from nicegui import ui

from tagmyphotos.states import JobState
from tagmyphotos.store import jobs as jobs_store
from tagmyphotos.store.jobs import JobView

from .. import frame
from . import job_words
from .job_progress import fraction

# The library's own steps, in the order they run (each starts the next).
STEPS = ("scan", "analyze", "match")
# Seconds between looks at the job table (one indexed query per step).
REFRESH_S = 2.0


def pipeline_job() -> JobView | None:
    """The scan, analysis or grouping that runs or waits now (the earliest step first)."""
    for step in STEPS:
        job_id = jobs_store.active_job(step)
        if job_id is not None:
            return jobs_store.job_view(job_id)
    return None


def describe(job: JobView) -> str:
    """'Step 2 of 3: Finding faces · 12 of 40 photos done' in the user's words."""
    step = f"Step {STEPS.index(job.type) + 1} of {len(STEPS)}: {job_words.title(job)}"
    if job.state == JobState.QUEUED:
        return f"{step} · waiting to start"
    if not job.total:
        return f"{step} · getting started…"
    return f"{step} · {job.done:,} of {job.total:,} done ({fraction(job):.0%})"


class PipelineProgress:
    """A card that shows while the library is being scanned or analysed; hidden otherwise.

    `on_idle` runs once each time the work ends (the page then shows what was found)."""

    def __init__(self, on_idle: Callable[[], Any] | None = None) -> None:
        self.on_idle = on_idle
        self.busy = False
        with frame.tid(ui.card(), "pipeline-progress").classes("w-full gap-1").props("flat bordered") as self.card:
            with ui.row().classes("w-full items-center gap-2 no-wrap"):
                ui.spinner(size="1.5em")
                ui.label("Your photos are being analysed").classes("font-medium")
            self.bar = ui.linear_progress(value=0, show_value=False).props("rounded size=10px instant-feedback")
            self.line = frame.attrs(ui.label(), {"role": "status", "aria-live": "polite"}).classes("text-sm")
            ui.label("Faces appear under Unknown faces as they are found; you can start naming them "
                     "before the analysis ends. No need to start a scan.").classes("text-sm")  # fmt: skip
            ui.link("Details on the Jobs page →", "/jobs").classes("text-sm")
        self.card.set_visibility(False)
        ui.timer(REFRESH_S, self.refresh, immediate=True)

    async def refresh(self) -> None:
        job = await frame.io(pipeline_job)
        was_busy, self.busy = self.busy, job is not None
        self.card.set_visibility(self.busy)
        if job is not None:
            self.line.set_text(describe(job))
            self.bar.set_value(fraction(job))
            if job.state == JobState.RUNNING and not job.total:
                self.bar.props("indeterminate")
            else:
                self.bar.props(remove="indeterminate")
        elif was_busy and self.on_idle is not None:
            result = self.on_idle()
            if inspect.isawaitable(result):
                await result
