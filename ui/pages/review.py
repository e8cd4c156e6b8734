"""Review (home): suggested names grouped by person; accept or reject by group, face or key.

Keyboard: ← → move between faces, ↑ ↓ jump between people, space selects, a accepts and
r rejects the face under the cursor, Enter accepts the selected faces of that person, o opens
the photo, u undoes the last action.
"""

from __future__ import annotations

import functools

from nicegui import ui
from nicegui.events import KeyEventArguments

from tagmyphotos.review import confirm as review_confirm
from tagmyphotos.review.queries import UnnamedWork, unnamed_work
from tagmyphotos.review.suggested import ReviewCounts, review_summary, suggestion_groups
from tagmyphotos.stages import write as writes
from tagmyphotos.states import MatchBand
from tagmyphotos.store.views import ReviewResult, SuggestionGroup

from .. import frame
from ..components.away import AwayPanel
from ..components.face_grid import FaceGrid, FocusRing, Pager, photo_link, thumb_url
from ..components.job_progress import FreshnessNotice
from ..components.pipeline_progress import PipelineProgress, pipeline_job
from ..components.safety import UndoButton, confirm, report
from ..frame import plural

# People per page, and suggested faces shown per person (the person page shows all of them).
GROUPS_PER_PAGE = 8
FACES_PER_GROUP = 48

# The levels' wrong-name rates as measured with most people unnamed (scripts/evaluate --open-set).
SCALE = ("How sure: “sure” — none wrong in 11,000 test suggestions with most people unnamed (these can be "
         "named without you: Settings); “likely” — often right, but about half were wrong while most "
         "people were not yet named; “check” — mostly wrong, look at these "
         "(pre-selected are the sure and likely ones).")
# Space and the arrows move the review cursor; the browser must not also scroll the page with
# them (the face under the cursor left the screen). Text fields keep their keys.
NO_SCROLL_KEYS = """<script>
document.addEventListener('keydown', e => {
  const t = e.target;
  const own = t && (t.isContentEditable || t.closest('input, textarea, select, button, a, [role=button], [role=tab]'));
  if (!own && !e.ctrlKey && !e.metaKey && !e.altKey
      && [' ', 'ArrowUp', 'ArrowDown', 'ArrowLeft', 'ArrowRight'].includes(e.key)) e.preventDefault();
});
</script>"""
HELP = "← → move · ↑ ↓ next person · space select · a accept · r reject · Enter accept selected · o photo · u undo"


def register() -> None:
    @frame.page("/", "Review")
    async def review_page() -> None:
        ReviewPage()


class ReviewPage:
    def __init__(self) -> None:
        self.ring = FocusRing(announce=self.announce)
        self.groups: list[GroupCard] = []
        self.to_write = 0
        self.unnamed = UnnamedWork(0, 0)
        self.finished_person: int | None = None  # whose card was just emptied by an action
        # what the cursor is on, for screen readers (the cursor itself is only an outline)
        self.spoken = frame.attrs(ui.label(), {"aria-live": "polite", "role": "status"}).classes("sr-only")
        frame.tid(self.spoken, "review-cursor")
        ui.add_body_html(NO_SCROLL_KEYS)
        with ui.row().classes("w-full items-center gap-2"):
            with ui.column().classes("gap-0"):
                ui.label("Review suggestions").classes("text-xl font-medium")
                ui.label(HELP).classes("text-sm text-grey-7 gt-xs")  # no keyboard on a phone
                ui.label(SCALE).classes("text-sm text-grey-7 gt-xs")  # on a phone: the badges' tooltips
            ui.space()
            self.undo = UndoButton(after=self.reload)
        self.away = AwayPanel(after=self.reload)
        with ui.row().classes("w-full items-center gap-2"):
            self.counts = frame.tid(ui.label(), "review-counts").classes("text-sm")
            ui.space()
            self.accept_likely = frame.tid(
                ui.button("Accept all likely", icon="done_all", on_click=self.accept_all_likely),
                "accept-likely",
            ).props("unelevated color=positive")
        self.fresh = FreshnessNotice(self.reload)
        self.progress = PipelineProgress(on_idle=self.reload)
        self.busy = False
        self.pager = Pager(self.fetch, self.render, GROUPS_PER_PAGE)
        frame.attrs(self.pager.body, {"role": "group", "aria-label": "Suggestions to review"})
        ui.keyboard(on_key=self.on_key)
        ui.timer(0, self.reload, once=True)

    async def fetch(self, offset: int, limit: int) -> tuple[list[SuggestionGroup], int]:
        summary = await frame.io(review_summary)
        self.show_counts(summary.counts)
        if not summary.order:
            self.busy = await frame.io(pipeline_job) is not None
            self.unnamed = await frame.io(unnamed_work)
            self.to_write = (await frame.io(writes.preview, frame.core(), None, 0))[0]
        groups = await frame.io(suggestion_groups, summary.order[offset : offset + limit], FACES_PER_GROUP)
        return groups, summary.counts.people

    def show_counts(self, counts: ReviewCounts) -> None:
        self.counts.set_text(
            f"{plural(counts.suggested, 'suggestion')} for {plural(counts.people, 'person', 'people')} · "
            f"{counts.likely:,} likely · {plural(counts.unknown, 'unknown face')}"
        )
        self.accept_likely.set_text(f"Accept all likely ({counts.likely:,})")
        self.accept_likely.set_enabled(counts.likely > 0)

    def render(self, groups: list[SuggestionGroup]) -> None:
        self.ring.clear()
        self.groups = []
        if not groups:
            if self.busy:
                frame.empty_state(
                    "hourglass_top", "Your photos are being analysed",
                    "Suggestions appear here once you have named a few faces. Faces found so far are "
                    "under Unknown faces; the progress is shown above.",
                    ("Name unknown faces", lambda: ui.navigate.to("/unknown")),
                )  # fmt: skip
                return
            if self.unnamed.faces:
                self.empty_unnamed()
                return
            if self.to_write:
                frame.empty_state(
                    "task_alt", "Nothing left to review",
                    f"{plural(self.to_write, 'photo')} {'has' if self.to_write == 1 else 'have'} new names "
                    "to write into the files, so every photo app sees them.",
                    ("Write names into photos", lambda: ui.navigate.to("/write")),
                )  # fmt: skip
                return
            frame.empty_state(
                "task_alt", "Nothing to review",
                "No suggestions are waiting. Name a few faces under Unknown faces; suggestions for "
                "the rest appear here. If the library was not analysed yet, start a scan under Jobs.",
                ("Name unknown faces", lambda: ui.navigate.to("/unknown")),
            )  # fmt: skip
            return
        for group in groups:
            self.groups.append(GroupCard(self, group))
        first = [g.grid.tiles[0] for g in self.groups if g.grid.tiles]
        if self.finished_person is None:
            if first:
                self.ring.move_to(first[0])
            return
        # a card was just finished: its person's new suggestions are not put under the cursor,
        # and no key acts until an arrow key puts the cursor back (on the next person)
        others = [t for t in first if t.face.suggested_person_id != self.finished_person]
        self.ring.park(others[0] if others else (first[0] if first else None))
        self.finished_person = None
        self.announce("Done with this person. Press an arrow key to go on.")

    def empty_unnamed(self) -> None:
        """No suggestions left, but faces nobody named yet: name those before writing."""
        work = self.unnamed
        groups = f" ({plural(work.groups, 'group')} of look-alikes)" if work.groups else ""
        then = f" Then write the names into {plural(self.to_write, 'photo')}." if self.to_write else ""
        frame.empty_state(
            "task_alt", "Nothing left to review here",
            f"{plural(work.faces, 'face')} nobody has named yet{groups} wait under Unknown faces. "
            "Name them there; suggestions for their look-alikes then appear here." + then,
            ("Name unknown faces", lambda: ui.navigate.to("/unknown")),
        )  # fmt: skip
        if self.to_write:
            with ui.row().classes("w-full justify-center"):
                frame.tid(ui.link("Or write the names given so far →", "/write"), "write-anyway").classes("text-sm")

    def announce(self, text: str) -> None:
        self.spoken.set_text(text)
        current = self.ring.current
        frame.attrs(self.pager.body, {"aria-activedescendant": f"face-tile-{current.face.id}" if current else ""})

    async def reload(self) -> None:
        await self.away.refresh()
        await self.pager.reload()  # its fetch updates the counts too
        await self.fresh.mark_seen()
        await self.undo.refresh()

    async def done(self, result: ReviewResult | None, what: str, group: GroupCard) -> None:
        """After an action: drop handled faces, reload when a person's group is finished."""
        ui.run_javascript("document.activeElement && document.activeElement.blur()")
        if result is None:
            return
        report(result, what)
        handled = set(result.changed) | {s.face_id for s in result.skipped if "rejected" in s.reason}
        group.grid.remove(handled)
        if not group.grid.faces:
            self.finished_person = group.person.id
            await self.reload()
        else:
            summary = await frame.io(review_summary)
            self.show_counts(summary.counts)
            await self.undo.refresh()
            await self.fresh.mark_seen()  # our own change is not news

    async def accept_all_likely(self) -> None:
        if not await confirm("Accept all likely suggestions?",
                             "Every face marked likely becomes confirmed. You can undo this afterwards.",
                             ok="Accept all", color="positive"):  # fmt: skip
            return
        result = await frame.call(review_confirm.accept_likely, frame.core())
        if result is not None:
            report(result, "Accepted")
            await self.reload()

    def _focused_group(self) -> GroupCard | None:
        tile = self.ring.current
        return next((g for g in self.groups if tile is not None and g.grid is tile.grid), None)

    async def on_key(self, e: KeyEventArguments) -> None:
        if not e.action.keydown or e.modifiers.ctrl or e.modifiers.meta or e.modifiers.alt:
            return
        key, tile, group = e.key, self.ring.current, self._focused_group()
        if tile is None and self.ring.resume is not None and (key.arrow_down or key.arrow_up):
            self.ring.step(0)  # back from the pause after a finished card: onto the next person
        elif key.arrow_right or key.arrow_left:
            self.ring.step(1 if key.arrow_right else -1)
        elif key.arrow_down or key.arrow_up:
            self._jump(1 if key.arrow_down else -1)
        elif key.name == "u":
            await self.undo.undo()
        elif tile is None or group is None:
            if key.space or key.enter or key.name in ("a", "r"):
                self.announce("No face under the cursor: press an arrow key first.")
            return
        elif key.space:
            tile.grid.toggle(tile.face.id)
        elif key.name == "a":
            await group.act("accept", [tile.face.id])
        elif key.name == "r":
            await group.act("reject", [tile.face.id])
        elif key.enter:
            await group.act("accept", sorted(group.grid.selected))
        elif key.name == "o":
            ui.navigate.to(photo_link(tile.face))

    def _jump(self, delta: int) -> None:
        group = self._focused_group()
        if not self.groups:
            return
        index = self.groups.index(group) if group in self.groups else -1
        for candidate in self.groups[index + delta :: delta] if delta > 0 else self.groups[:index][::-1]:
            if candidate.grid.tiles:
                self.ring.move_to(candidate.grid.tiles[0])
                return


class GroupCard:
    """One suggested person: their faces (likely ones pre-selected) and the group's buttons."""

    def __init__(self, page: ReviewPage, group: SuggestionGroup) -> None:
        self.page = page
        self.person = group.person
        self.grid: FaceGrid
        likely = {f.id for f in group.faces if f.band == MatchBand.LIKELY}
        # suggestions beyond the faces shown (the header counts them too, and follows each action)
        self.unseen_likely = group.likely - len(likely)
        self.unseen_maybe = group.maybe - (len(group.faces) - len(likely))
        with frame.tid(ui.card(), f"group-{group.person.id}").classes("w-full gap-2").props("flat bordered"):
            with ui.row().classes("w-full items-center gap-2"):
                if group.person.cover_face_id:
                    frame.attrs(ui.element("img"), {"src": thumb_url(group.person.cover_face_id)}).props(
                        "loading=lazy"
                    ).classes("w-10 h-10 rounded-full")
                ui.link(group.person.name, f"/people/{group.person.id}").classes("text-lg font-medium")
                self.tally = ui.label().classes("text-sm text-grey-7")
                ui.space()
                self.selected = ui.label().classes("text-sm")
                with ui.button_group().props("flat"):
                    ui.button("Likely", on_click=lambda: self.grid.set_selection(likely)).props("flat dense no-caps")
                    ui.button("All", on_click=lambda: self.grid.set_selection({f.id for f in self.grid.faces})).props(
                        "flat dense no-caps"
                    )
                    ui.button("None", on_click=lambda: self.grid.set_selection(set())).props("flat dense no-caps")
                self.accept = frame.tid(
                    ui.button("Accept", icon="check", on_click=functools.partial(self.act_selected, "accept")),
                    f"accept-{group.person.id}",
                ).props("unelevated color=positive dense")
                self.reject = frame.tid(
                    ui.button(
                        "Not " + group.person.name,
                        icon="close",
                        on_click=functools.partial(self.act_selected, "reject"),
                    ),  # fmt: skip
                    f"reject-{group.person.id}",
                ).props("flat color=negative dense no-caps")
            self.grid = FaceGrid(group.faces, selected=likely, focus=page.ring, on_select=self.update)
            more = group.likely + group.maybe - len(group.faces)
            if more > 0:
                text = f"{plural(more, 'more suggestion')} for {group.person.name} →"
                ui.link(text, f"/people/{group.person.id}").classes("text-sm")
        self.update()

    def update(self) -> None:
        likely = sum(1 for f in self.grid.faces if f.band == MatchBand.LIKELY)
        maybe = len(self.grid.faces) - likely
        self.tally.set_text(f"{self.unseen_likely + likely:,} likely · {self.unseen_maybe + maybe:,} to check")
        n = len(self.grid.selected)
        self.selected.set_text(f"{n} selected")
        self.accept.set_text(f"Accept {n}")
        self.accept.set_enabled(n > 0)
        self.reject.set_enabled(n > 0)

    async def act_selected(self, action: str) -> None:
        await self.act(action, sorted(self.grid.selected))

    async def act(self, action: str, face_ids: list[int]) -> None:
        if not face_ids:
            ui.notify("Select faces first (click them, or space on the face under the cursor)", type="warning")
            return
        core = frame.core()
        if action == "accept":
            result = await frame.call(review_confirm.accept_suggestions, core, face_ids)
            await self.page.done(result, f"Accepted as {self.person.name}", self)
        else:
            result = await frame.call(review_confirm.reject, core, face_ids, self.person.id)
            await self.page.done(result, f"Rejected for {self.person.name}", self)
