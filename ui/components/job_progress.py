"""Live job progress (a bar, counts, errors per file, cancel) and the notice that a job changed results.

Why polling the job row: the worker may be another process (`tagmyphotos worker`), so the
database is the one place progress is visible; a row read per second is cheap.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any

from nicegui import ui

from tagmyphotos.review.queries import HeaderCounts, header_counts
from tagmyphotos.states import JobState
from tagmyphotos.store import jobs as jobs_store
from tagmyphotos.store.jobs import JobView

from .. import frame
from . import job_words
from .safety import confirm

# Seconds between refreshes of a live job card (the stage runner writes every 0.5 s).
LIVE_REFRESH_S = 1.0
# Seconds between checks for results changed by a background job or another tab (two index
# counts each; 10 s looked like "a second tab does not update", issue 29).
CHECK_EVERY_S = 4.0
# Per-file errors shown when a job's error list is opened.
EVENTS_SHOWN = 200

ACTIVE = ("queued", "running")
STATE_WORDS = {"queued": "waiting", "running": "running", "done": "done", "failed": "failed",
               "cancelled": "stopped"}  # fmt: skip
STATE_COLOR = {"queued": "grey", "running": "primary", "done": "positive", "failed": "negative",
               "cancelled": "warning"}  # fmt: skip


def fraction(job: JobView) -> float:
    if job.state == JobState.DONE:
        return 1.0
    return min(1.0, job.done / job.total) if job.total else 0.0


def summary(job: JobView) -> str:
    """One line: '120 of 640 done · 3 problems' while it runs, what it did once it finished."""
    if job.state == JobState.QUEUED:
        return "Waiting for its turn."
    parts = []
    if job.state == JobState.RUNNING:
        parts.append(f"{job.done:,} of {job.total:,} done" if job.total else "Getting started…")
    else:
        parts.append(job_words.outcome(job))
    if job.errors:
        parts.append(frame.plural(job.errors, "problem") + " (listed below)")
    return " · ".join(p for p in parts if p)


class JobCard:
    """A job's state, progress and errors, updated in place (open error lists stay open)."""

    def __init__(self, job: JobView, on_change: Callable[[], Any] | None = None) -> None:
        self.job = job
        self.on_change = on_change
        with frame.attrs(ui.card(), {"data-job": job.id}).classes("w-full gap-1").props("flat bordered") as self.card:
            with ui.row().classes("w-full items-center gap-2 no-wrap"):
                self.badge = ui.badge(STATE_WORDS.get(job.state, job.state))
                ui.label(job_words.title(job)).classes("font-medium")
                self.when = ui.label().classes("text-xs text-grey-7 dark:text-grey-5 gt-xs")
                ui.space()
                self.cancel = ui.button("Cancel", icon="stop", on_click=self._cancel).props("flat dense color=warning")
            self.bar = ui.linear_progress(value=0, show_value=False).props("rounded size=10px instant-feedback")
            self.line = ui.label().classes("text-sm")
            self.error = ui.label().classes("text-sm text-negative whitespace-pre-wrap")
            self.next = ui.row().classes("items-center gap-2")
            self.events = ui.column().classes("w-full gap-0")
        self.update(job)

    def update(self, job: JobView) -> None:
        self.job = job
        color = STATE_COLOR.get(job.state, "primary")
        self.badge.set_text(STATE_WORDS.get(job.state, job.state))
        frame.attrs(self.badge, {"color": color})
        self.when.set_text(_when(job))
        self.cancel.set_visibility(job.state in ACTIVE)
        self.bar.set_value(fraction(job))
        frame.attrs(self.bar, {"color": color})
        if job.state == JobState.RUNNING and not job.total:
            self.bar.props("indeterminate")
        else:
            self.bar.props(remove="indeterminate")
        self.line.set_text(summary(job))
        self.error.set_text(job.error or "")
        self.error.set_visibility(bool(job.error))
        self._next_step(job)
        if job.errors and not self.events.default_slot.children:
            with self.events:
                _events(job.id)

    def _next_step(self, job: JobView) -> None:
        step = job_words.next_step(job)
        if step is None or self.next.default_slot.children:
            return
        with self.next:
            ui.link(step.text + " →", step.target).classes("text-sm font-medium")

    async def _cancel(self) -> None:
        job = self.job
        if not await confirm("Stop this job?", f"{job_words.title(job)}: work done so far is kept.",
                             ok="Stop job", color="warning"):  # fmt: skip
            return
        await frame.io(jobs_store.request_cancel, job.id)
        ui.notify("Asked the job to stop")
        if self.on_change is not None:
            result = self.on_change()
            if inspect.isawaitable(result):
                await result


def _events(job_id: int) -> None:
    """Per-file errors, loaded when opened (a failing library may have thousands)."""
    with ui.expansion("Errors per file", icon="error_outline").classes("w-full text-sm") as box:
        holder = ui.column().classes("w-full gap-0")
        loaded = {"done": False}

        async def load() -> None:
            if loaded["done"] or not box.value:
                return
            loaded["done"] = True
            events = await frame.io(jobs_store.job_events, job_id, EVENTS_SHOWN, "error")
            with holder:
                if not events:
                    ui.label("No errors recorded.")
                for event in events:
                    with ui.row().classes("w-full gap-2 no-wrap"):
                        ui.label(event.path or "—").classes("font-mono text-xs break-all w-1/3")
                        ui.label(event.message).classes("text-xs break-all")

        box.on_value_change(load)


def _when(job: JobView) -> str:
    stamp = job.finished_at or job.started_at or job.created_at
    return stamp.replace("T", " ")[:19] if stamp else ""


class LiveJob:
    """One job's card, refreshed until it finishes; `on_finish(job)` is called once at the end."""

    def __init__(self, job_id: int, on_finish: Callable[[JobView], Any] | None = None) -> None:
        self.job_id = job_id
        self.on_finish = on_finish
        self.finished = False
        self.card: JobCard | None = None
        self.container = ui.column().classes("w-full")
        self.timer = ui.timer(LIVE_REFRESH_S, self.refresh, immediate=True)

    async def refresh(self) -> None:
        view = await frame.io(jobs_store.job_view, self.job_id)
        if view is None:
            self.timer.cancel()
            with self.container:
                ui.label(f"Job #{self.job_id} no longer exists.").classes("text-negative")
            return
        if self.card is None:
            with self.container:
                self.card = JobCard(view, on_change=self.refresh)
        else:
            self.card.update(view)
        if view.state not in ACTIVE and not self.finished:
            self.finished = True
            self.timer.cancel()
            if self.on_finish is not None:
                result = self.on_finish(view)
                if inspect.isawaitable(result):
                    await result


class FreshnessNotice:
    """'New results are ready': a refresh button when the face counts changed since `mark_seen()`.

    Why not refresh by itself: the user may be halfway through selecting faces; replacing the
    tiles under the cursor would lose that. The notice appears, the user decides.
    """

    def __init__(self, on_refresh: Callable[[], Awaitable[Any]]) -> None:
        self.on_refresh = on_refresh
        self.seen: HeaderCounts | None = None
        with ui.row().classes("w-full items-center gap-2") as self.row:
            ui.icon("new_releases").classes("text-primary")
            ui.label("The faces changed since this page was loaded (in another tab or by a background "
                     "job).").classes("text-sm")  # fmt: skip
            frame.tid(ui.button("Refresh", icon="refresh", on_click=self.refresh), "refresh").props("flat dense")
        self.row.set_visibility(False)
        ui.timer(CHECK_EVERY_S, self.check)

    async def mark_seen(self) -> None:
        self.seen = await frame.io(header_counts)
        self.row.set_visibility(False)

    async def check(self) -> None:
        if self.seen is None:
            return
        now = await frame.io(header_counts)
        if now and now != self.seen:
            self.row.set_visibility(True)

    async def refresh(self) -> None:
        await self.on_refresh()
        await self.mark_seen()
