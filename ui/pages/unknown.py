"""Unknown faces: name a group of look-alikes in one action, drop outliers, ignore strangers;
then the single unknown faces that fit no group."""

from __future__ import annotations

from nicegui import ui

from jobs.pipeline import STAGES
from jobs.tasks import start_job
from tagmyphotos.review import confirm
from tagmyphotos.review.queries import (
    ClusterChoice,
    FaceFilter,
    clusters_to_name,
    count_clusters_to_name,
    find_faces,
)
from tagmyphotos.states import FaceState, JobState
from tagmyphotos.store.jobs import JobView
from tagmyphotos.store.views import ClusterView, FaceView, ReviewResult

from .. import frame
from ..components.face_grid import FaceGrid, Pager
from ..components.job_progress import STATE_WORDS, FreshnessNotice, LiveJob
from ..components.person_picker import PersonPicker, person_names
from ..components.pipeline_progress import PipelineProgress
from ..components.safety import UndoButton, report
from ..frame import plural

# Groups per page and faces shown per group (a bigger group is named in rounds of this size).
CLUSTERS_PER_PAGE = 12
FACES_PER_CLUSTER = 48
# Single unknown faces per page.
SINGLES_PER_PAGE = 96
# The single faces: unknown and in no group of look-alikes (the leftovers after naming groups).
SINGLES = FaceFilter(state=FaceState.UNKNOWN, clustered=False)


def register() -> None:
    @frame.page("/unknown", "Unknown faces")
    async def unknown_page() -> None:
        UnknownPage()


class UnknownPage:
    def __init__(self) -> None:
        self.names: list[str] = []
        self.cluster_count = 0
        with ui.row().classes("w-full items-center gap-2"):
            frame.section("Unknown faces", "Faces that look alike are grouped: name a group at once. "
                          "Only the selected faces are named: click a face to leave it out.")  # fmt: skip
            ui.space()
            self.regroup_button: ui.button | None = None
            if "match" in STAGES:
                self.regroup_button = frame.tid(ui.button("Regroup", icon="refresh", on_click=self.regroup), "regroup")
                self.regroup_button.props("flat dense").tooltip(
                    "Group the unknown faces again, with the faces you left out or rejected since"
                )
            self.undo = UndoButton(after=self.reload)
        self.fresh = FreshnessNotice(self.reload)
        self.progress = PipelineProgress(on_idle=self.reload)
        self.live = ui.column().classes("w-full")
        with ui.tabs().classes("w-full") as tabs:
            groups_tab = ui.tab("Groups", icon="diversity_3")
            singles_tab = ui.tab("Single faces", icon="face")
        with ui.tab_panels(tabs, value=groups_tab).classes("w-full bg-transparent"):
            with ui.tab_panel(groups_tab).classes("p-0"):
                self.clusters = Pager(self.fetch_clusters, self.render_clusters, CLUSTERS_PER_PAGE)
            with ui.tab_panel(singles_tab).classes("p-0"):
                self.singles = Pager(self.fetch_singles, self.render_singles, SINGLES_PER_PAGE)
        ui.timer(0, self.reload, once=True)

    async def reload(self) -> None:
        self.names = await person_names()
        await self.clusters.reload()
        await self.singles.reload()
        await self.undo.refresh()
        await self.fresh.mark_seen()

    async def regroup(self) -> None:
        if self.regroup_button is not None:
            self.regroup_button.props("loading")
        job_id = await frame.call(start_job, "match")
        if job_id is None:
            self._regroup_idle()
            return
        self.live.clear()
        with self.live:
            frame.tid(ui.label("Regrouping the unknown faces… the groups below refresh when it is done."),
                      "regrouping").classes("text-sm")  # fmt: skip
            LiveJob(job_id, on_finish=self.regrouped)

    async def regrouped(self, job: JobView) -> None:
        """Runs inside the live card's timer: the card is removed last, since removing it
        cancels this very call (its reads then returned None: the TypeError of issue 29)."""
        await self.reload()
        self._regroup_idle()
        if job.state == JobState.DONE:
            ui.notify(f"Regrouped: {plural(self.cluster_count, 'group')} to name", type="positive")
        else:
            ui.notify(f"Regrouping {STATE_WORDS.get(job.state, job.state)}: {job.error or 'see Jobs'}", type="warning")
        self.live.clear()

    def _regroup_idle(self) -> None:
        if self.regroup_button is not None:
            self.regroup_button.props(remove="loading")

    # --- groups ---------------------------------------------------------------------------
    async def fetch_clusters(self, offset: int, limit: int) -> tuple[list[ClusterChoice], int]:
        self.cluster_count = await frame.io(count_clusters_to_name)
        found = await frame.io(clusters_to_name, frame.core().cfg, limit, offset, FACES_PER_CLUSTER)
        return found, self.cluster_count

    def render_clusters(self, clusters: list[ClusterChoice]) -> None:
        if not clusters:
            busy = "The analysis is running (see above): groups appear when it is done. " if self.progress.busy else ""
            frame.empty_state(
                "diversity_3", "No groups to name",
                busy + "Groups of look-alike faces appear here after face analysis. Faces that fit no group "
                "are under Single faces; suggestions for named people are on the Review page.",
            )  # fmt: skip
            return
        for choice in clusters:
            ClusterCard(self, choice.cluster, set(choice.outliers))

    # --- single faces ---------------------------------------------------------------------
    async def fetch_singles(self, offset: int, limit: int) -> tuple[list[FaceView], int]:
        found = await frame.io(find_faces, SINGLES, "quality", offset, limit)  # best quality first
        return found.items, found.total

    def render_singles(self, faces: list[FaceView]) -> None:
        if not faces:
            frame.empty_state("face", "No single unknown faces",
                              "Every unknown face is in a group, named, or ignored.")  # fmt: skip
            return
        SinglesCard(self, faces)

    async def done(self, result: ReviewResult | None, what: str) -> None:
        if result is None:
            return
        report(result, what)
        await self.reload()


class ClusterCard:
    """One group: its faces selected except those that look different; what is selected is named.

    Why the outliers are shown unselected up front instead of dropped when naming: a selection
    the user sees is exactly what happens; nothing is changed behind their back."""

    def __init__(self, page: UnknownPage, cluster: ClusterView, outliers: set[int]) -> None:
        self.page = page
        self.cluster = cluster
        self.grid: FaceGrid
        shown = [f.id for f in cluster.faces]
        with frame.tid(ui.card(), f"cluster-{cluster.id}").classes("w-full gap-2").props("flat bordered"):
            with ui.row().classes("w-full items-center gap-2"):
                ui.label(f"{plural(cluster.size, 'face')} in {plural(cluster.photos, 'photo')}").classes("font-medium")
                if cluster.size > len(cluster.faces):
                    ui.label(f"showing the best {len(cluster.faces)}; the rest stay for the next round").classes(
                        "text-sm text-grey-7"
                    )
                ui.space()
                self.count = frame.tid(ui.label(), f"selected-{cluster.id}").classes("text-sm")
                with ui.button_group().props("flat"):
                    ui.button("All", on_click=lambda: self.grid.set_selection(set(shown))).props("flat dense no-caps")
                    ui.button("None", on_click=lambda: self.grid.set_selection(set())).props("flat dense no-caps")
            if outliers:
                ui.label(f"{plural(len(outliers), 'face')} that look{'s' * (len(outliers) == 1)} different "
                         "from the rest {} not selected; click to include.".format(
                             "is" if len(outliers) == 1 else "are")).classes("text-sm text-grey-7")  # fmt: skip
            self.grid = FaceGrid(cluster.faces, selected=set(shown) - outliers, on_select=self.update)
            with ui.row().classes("w-full items-center gap-3"):
                self.picker = PersonPicker(self.name, label="Who is this?", button="Name selected",
                                           names=page.names, testid=f"name-{cluster.id}")  # fmt: skip
                ui.space()
                frame.tid(
                    ui.button("Ignore selected", icon="visibility_off", on_click=self.ignore), f"ignore-{cluster.id}"
                ).props("flat color=grey-8").tooltip("Strangers or background faces: never suggested, never written")
        self.update()

    def update(self) -> None:
        n, total = len(self.grid.selected), len(self.grid.faces)
        self.count.set_text(f"{n} of {total} selected")
        self.picker.button.set_enabled(n > 0)

    async def name(self, who: str) -> None:
        keep = self.grid.selected
        if not keep:
            ui.notify("Select the faces of this person first", type="warning")
            return
        left_out = [f.id for f in self.cluster.faces if f.id not in keep]
        result = await frame.call(
            confirm.name_cluster, frame.core(), self.cluster.id, who, drop=left_out,
            face_ids=[f.id for f in self.cluster.faces],
        )  # fmt: skip
        await self.page.done(result, f"Named {who}")

    async def ignore(self) -> None:
        ids = sorted(self.grid.selected)
        if not ids:
            ui.notify("Select the faces to ignore first", type="warning")
            return
        result = await frame.call(confirm.ignore, frame.core(), ids)
        await self.page.done(result, "Ignored")


class SinglesCard:
    """Unknown faces that fit no group: select some, then name or ignore them."""

    def __init__(self, page: UnknownPage, faces: list[FaceView]) -> None:
        self.page = page
        with ui.card().classes("w-full gap-2").props("flat bordered"):
            with ui.row().classes("w-full items-center gap-3"):
                self.count = ui.label("Click faces to select them").classes("text-sm")
                PersonPicker(self.name, label="Who is this?", button="Name selected", names=page.names,
                             testid="name-singles")  # fmt: skip
                ui.button("Ignore selected", icon="visibility_off", on_click=self.ignore).props("flat color=grey-8")
            self.grid = FaceGrid(faces, on_select=self.update)

    def update(self) -> None:
        n = len(self.grid.selected)
        self.count.set_text(f"{n} selected" if n else "Click faces to select them")

    async def name(self, who: str) -> None:
        ids = sorted(self.grid.selected)
        if not ids:
            ui.notify("Select the faces of this person first", type="warning")
            return
        result = await frame.call(confirm.confirm, frame.core(), ids, who)
        await self.page.done(result, f"Named {who}")

    async def ignore(self) -> None:
        ids = sorted(self.grid.selected)
        if ids:
            await self.page.done(await frame.call(confirm.ignore, frame.core(), ids), "Ignored")
