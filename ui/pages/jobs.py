"""Jobs: start scan/analysis/matching, watch live progress, see errors per file, cancel."""

from __future__ import annotations

import functools

from nicegui import ui

from jobs.pipeline import STAGES
from jobs.tasks import start_job
from tagmyphotos.store import jobs as jobs_store

from .. import frame
from ..components import job_words
from ..components.job_progress import ACTIVE, JobCard

# Jobs listed on the page (newest first); older ones are in `tagmyphotos status --json`.
JOBS_SHOWN = 30
# Seconds between checks for changed jobs (the list re-renders only when something changed).
JOBS_REFRESH_S = 1.0


def register() -> None:
    @frame.page("/jobs", "Jobs")
    async def jobs_page() -> None:
        frame.section("Jobs", "Scanning, finding faces, suggesting names and writing run in the background; "
                      "each step starts the next by itself. Start one here only to redo it now.")  # fmt: skip
        with ui.row().classes("gap-2 flex-wrap"):
            for stage in STAGES.values():
                if stage.name not in job_words.START_LABELS:
                    continue
                button = ui.button(job_words.START_LABELS[stage.name], icon="play_arrow",
                                   on_click=functools.partial(_start, stage.name))  # fmt: skip
                frame.tid(button, f"start-{stage.name}").props("unelevated color=primary no-caps")
        JobList()


async def _start(job_type: str) -> None:
    job_id = await frame.call(start_job, job_type)
    if job_id is not None:
        ui.notify(f"Started: {job_words.TITLES.get(job_type, job_type).lower()}", type="positive")


class JobList:
    """The recent jobs; cards update in place, new jobs appear on top, old ones drop off."""

    def __init__(self) -> None:
        self.cards: dict[int, JobCard] = {}
        self.signature: tuple | None = None
        self.states: dict[int, str] = {}  # job id -> state at the last refresh
        self.container = ui.column().classes("w-full gap-2")
        ui.timer(JOBS_REFRESH_S, self.refresh, immediate=True)

    async def refresh(self) -> None:
        jobs = await frame.io(jobs_store.recent_jobs, JOBS_SHOWN)
        signature = tuple((j.id, j.state, j.done, j.total, j.errors) for j in jobs)
        if signature == self.signature:
            return
        self.signature = signature
        self._announce(jobs)
        if not jobs:
            self.container.clear()
            with self.container:
                frame.empty_state(
                    "work_history", "No jobs yet",
                    "Start a scan to find the photos in your library; face analysis and matching "
                    "follow automatically.",
                    ("Start scan", functools.partial(_start, "scan")),
                )  # fmt: skip
            return
        if not self.cards:
            self.container.clear()
        keep = {j.id for j in jobs}
        for job_id in [i for i in self.cards if i not in keep]:
            self.cards.pop(job_id).card.delete()
        for index, job in enumerate(jobs):
            card = self.cards.get(job.id)
            if card is None:
                with self.container:
                    card = self.cards[job.id] = JobCard(job)
                card.card.move(target_index=index)
            else:
                card.update(job)

    def _announce(self, jobs: list[jobs_store.JobView]) -> None:
        """job.done / job.failed with the counts, for a job seen running that has now ended."""
        for job in jobs:
            before = self.states.get(job.id)
            news = jobs_store.announcement(job) if before in ACTIVE else None
            if news is not None:
                ui.notify(_in_words(news), type="positive" if news.event == "job.done" else "negative",
                          multi_line=True, timeout=8000)  # fmt: skip
        self.states = {j.id: j.state for j in jobs}


def _in_words(news: jobs_store.JobAnnouncement) -> str:
    """'Done: Finding faces. 12 faces found in 5 photos.' (the webhook keeps the terse form)."""
    job = news.job
    if news.event == "job.done":
        return f"Done: {job_words.title(job)}. {job_words.outcome(job)}".strip()
    return f"Failed: {job_words.title(job)}. {job.error or 'See the job for what went wrong.'}"
