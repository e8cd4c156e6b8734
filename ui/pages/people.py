"""People: everyone named so far (merge; each card's menu renames, hides, sets the cover) and
one page per person with all their faces, to remove the wrong ones."""

from __future__ import annotations

from nicegui import ui

from tagmyphotos.review import confirm as review_confirm
from tagmyphotos.review import people
from tagmyphotos.review.queries import FaceFilter, find_faces
from tagmyphotos.review.undo import UndoScope
from tagmyphotos.store.views import FaceView, PersonView, ReviewResult

from .. import frame
from ..components.face_grid import FaceGrid, Pager, thumb_url
from ..components.merge_suggestions import MergeSuggestions
from ..components.person_actions import PersonMenu, hid, hidden_note, use_as_cover
from ..components.person_picker import PersonPicker, name_field
from ..components.safety import UndoButton, confirm, report
from ..components.unnamed_groups import UnnamedGroups
from ..frame import plural

PEOPLE_PER_PAGE = 60
FACES_PER_PAGE = 96


def register() -> None:
    @frame.page("/people", "People")
    async def people_page() -> None:
        PeopleList()

    @frame.page("/people/{person_id}", "Person")
    async def person_page(person_id: int) -> None:
        await PersonPage.build(person_id)


class PeopleList:
    def __init__(self) -> None:
        self.selected: set[int] = set()
        self.shown: dict[int, PersonView] = {}
        with ui.row().classes("w-full items-center gap-2"):
            frame.section("People", "Select two or more to merge them; open one to check their faces.")
            ui.space()
            self.undo = UndoButton(after=self.changed)
        with ui.row().classes("w-full items-center gap-3"):
            self.search = ui.input("Search", on_change=self.reload).props("dense outlined clearable debounce=300")
            self.hidden = ui.switch("Show hidden people", value=False, on_change=self.reload)
            ui.space()
            self.count = ui.label().classes("text-sm")
            self.merge_button = frame.tid(ui.button("Merge", icon="call_merge", on_click=self.merge), "merge").props(
                "unelevated color=primary"
            )
        self.suggestions = MergeSuggestions(after=self.reload)
        self.pager = Pager(self.fetch, self.render, PEOPLE_PER_PAGE)
        self.unnamed = UnnamedGroups(after=self.reload)  # name them where the people are
        self.update()
        ui.timer(0, self.reload, once=True)

    async def fetch(self, offset: int, limit: int) -> tuple[list[PersonView], int]:
        everyone = await frame.io(people.list_people, bool(self.hidden.value), self.search.value or None)
        return everyone[offset : offset + limit], len(everyone)

    async def reload(self) -> None:
        await self.pager.go(1)
        await self.undo.refresh()

    async def changed(self) -> None:
        """People were merged or an action undone: the merge suggestions may have changed too."""
        await self.reload()
        await self.suggestions.reload()

    def render(self, persons: list[PersonView]) -> None:
        self.shown = {p.id: p for p in persons}
        self.selected &= set(self.shown)
        self.update()
        if not persons:
            if self.search.value:
                frame.empty_state("person_search", "Nobody by that name", "Try another spelling or an old name.")
            else:
                frame.empty_state(
                    "groups",
                    "No people yet",
                    "Name a group of faces under Unknown faces; each name becomes a person here.",
                    ("Name unknown faces", lambda: ui.navigate.to("/unknown")),
                )
            return
        with (
            ui.element("div")
            .classes("w-full grid gap-3")
            .style("grid-template-columns: repeat(auto-fill, minmax(150px, 1fr))")
        ):
            for person in persons:
                self._card(person)

    def _card(self, person: PersonView) -> None:
        with frame.tid(ui.card(), f"person-{person.id}").classes("gap-1 p-2 items-center").props("flat bordered"):
            with ui.row().classes("w-full no-wrap items-start"):
                box = ui.checkbox(
                    value=person.id in self.selected,
                    on_change=lambda e, pid=person.id: self.toggle(pid, e.value),
                ).props("dense")
                frame.attrs(box, {"aria-label": f"Select {person.name} (to merge)"})
                ui.space()
                if person.hidden:
                    ui.icon("visibility_off").classes("text-grey-7").tooltip("Hidden: gets no suggestions")
                PersonMenu(person, after=self.changed)
            with ui.link(target=f"/people/{person.id}").classes("no-underline text-inherit flex flex-col items-center"):
                if person.cover_face_id:
                    frame.attrs(ui.element("img"), {"src": thumb_url(person.cover_face_id), "alt": ""}).props(
                        "loading=lazy"
                    ).classes("w-24 h-24 rounded-full object-cover")
                else:
                    ui.icon("person", size="6rem").classes("text-grey-5")
                ui.label(person.name).classes("font-medium text-center break-all")
            ui.label(f"in {plural(person.face_count, 'photo')}").classes("text-xs text-grey-7")
            if person.likely or person.maybe:
                ui.badge(f"{person.likely + person.maybe:,} to review", color="primary")

    def toggle(self, person_id: int, on: bool) -> None:
        (self.selected.add if on else self.selected.discard)(person_id)
        self.update()

    def update(self) -> None:
        n = len(self.selected)
        self.count.set_text(f"{n} selected" if n else "")
        self.merge_button.set_text(f"Merge {n}" if n > 1 else "Merge")
        self.merge_button.set_enabled(n > 1)

    async def merge(self) -> None:
        chosen = [self.shown[i] for i in sorted(self.selected) if i in self.shown]
        if len(chosen) < 2:
            return
        with ui.dialog() as dialog, ui.card().classes("min-w-[300px]"):
            ui.label("Merge into whom?").classes("text-lg font-medium")
            ui.label("The others' faces move to this person; their names become aliases.").classes("text-sm")
            biggest = max(chosen, key=lambda p: p.face_count)
            target = frame.tid(
                ui.radio({p.id: f"{p.name} (in {plural(p.face_count, 'photo')})" for p in chosen}, value=biggest.id),
                "merge-target",
            )
            with ui.row().classes("w-full justify-end"):
                ui.button("Cancel", on_click=lambda: dialog.submit(None)).props("flat")
                frame.tid(ui.button("Merge", on_click=lambda: dialog.submit(target.value)), "merge-go").props(
                    "unelevated color=primary"
                )
        into = await dialog
        dialog.delete()
        if into is None:
            return
        sources = [p.id for p in chosen if p.id != into]
        result = await frame.call(people.merge_people, frame.core(), sources, into)
        if result is not None:
            report(result, "Merged")
            self.selected.clear()
            await self.changed()


class PersonPage:
    """One person: rename, hide, delete; their suggestions and confirmed faces."""

    def __init__(self, person: PersonView) -> None:
        self.person = person
        with ui.row().classes("w-full items-center gap-3"):
            if person.cover_face_id:
                frame.attrs(ui.element("img"), {"src": thumb_url(person.cover_face_id), "alt": ""}).classes(
                    "w-16 h-16 rounded-full"
                )
            with ui.column().classes("gap-0"):
                self.title = frame.tid(ui.label(person.name), "person-name").classes("text-2xl font-medium")
                details = f"in {plural(person.face_count, 'photo')}" + (" · hidden" if person.hidden else "")
                if person.aliases:
                    details += " · also known as " + ", ".join(person.aliases)
                ui.label(details).classes("text-sm text-grey-7")
                if person.hidden:
                    frame.tid(ui.label(hidden_note(person.name)), "hidden-note").classes("text-sm")
            ui.space()
            self.undo = UndoButton(after=self.reload, scope=UndoScope(person_id=person.id))
        with ui.row().classes("w-full items-center gap-2"):
            self.rename_input = frame.tid(name_field("New name", person.name), "rename").props("dense outlined")
            ui.button("Rename", icon="edit", on_click=self.rename).props("flat dense")
            self.rename_input.on("keydown.enter", self.rename)
            ui.button(
                "Show" if person.hidden else "Hide",
                icon="visibility" if person.hidden else "visibility_off",
                on_click=self.toggle_hidden,
            ).props("flat dense").tooltip(hidden_note(person.name))
            frame.tid(ui.button("Delete", icon="delete", on_click=self.delete), "delete").props(
                "flat dense color=negative"
            )
        self.suggestions = ui.column().classes("w-full")
        frame.section("Faces", "Select wrong ones and remove them, or move them to the right person.")
        with ui.row().classes("w-full items-center gap-2"):
            self.count = ui.label().classes("text-sm")
            frame.tid(ui.button("Remove", icon="person_remove", on_click=self.remove), "remove").props(
                "flat dense color=negative"
            ).tooltip(f"Not {person.name}: back to unknown, never suggested as {person.name} again")
            PersonPicker(self.move, label="Move to", button="Move", icon="drive_file_move", testid="move")
            ui.button("Use as cover", icon="account_circle", on_click=self.cover).props("flat dense")
        self.faces: FaceGrid | None = None
        self.pager = Pager(self.fetch, self.render, FACES_PER_PAGE)
        ui.timer(0, self.reload, once=True)

    @classmethod
    async def build(cls, person_id: int) -> None:
        try:
            person = await frame.io(lambda: people.person_view(people.get_person(person_id)))
        except people.NotFound:
            frame.empty_state(
                "person_off",
                "No such person",
                "They may have been merged or deleted.",
                ("All people", lambda: ui.navigate.to("/people")),
            )
            return
        cls(person)

    async def reload(self) -> None:
        await self.pager.reload()
        await self.undo.refresh()
        await self._suggestions()

    async def fetch(self, offset: int, limit: int) -> tuple[list[FaceView], int]:
        found = await frame.io(find_faces, FaceFilter(person=self.person.id), "quality", offset, limit)
        return found.items, found.total

    def render(self, faces: list[FaceView]) -> None:
        if not faces:
            self.faces = None
            frame.empty_state("face", "No confirmed faces", "Accept suggestions for this person on the Review page.")
            return
        self.faces = FaceGrid(faces, on_select=self.update)
        self.update()

    def update(self) -> None:
        n = len(self.faces.selected) if self.faces else 0
        self.count.set_text(f"{n} selected" if n else "Click faces to select them")

    async def _suggestions(self) -> None:
        found = await frame.io(find_faces, FaceFilter(suggested=self.person.id), "confidence", 0, FACES_PER_PAGE)
        faces, total = found.items, found.total
        self.suggestions.clear()
        if not total:
            return
        with self.suggestions, ui.card().classes("w-full gap-2").props("flat bordered"):
            with ui.row().classes("w-full items-center gap-2"):
                ui.label(f"{plural(total, 'suggestion')} waiting").classes("font-medium")
                ui.space()
                ui.button("Accept likely", icon="done_all", on_click=self.accept_likely).props(
                    "unelevated dense color=positive"
                )
            FaceGrid(faces)
            if total > len(faces):
                ui.link("Review the rest →", "/").classes("text-sm")

    def _chosen(self) -> list[int]:
        ids = sorted(self.faces.selected) if self.faces else []
        if not ids:
            ui.notify("Select faces first", type="warning")
        return ids

    async def _after(self, result: ReviewResult | None, what: str) -> None:
        if result is not None:
            report(result, what)
            await self.reload()

    async def remove(self) -> None:
        if ids := self._chosen():
            await self._after(await frame.call(review_confirm.reject, frame.core(), ids, self.person.id), "Removed")

    async def move(self, to: str) -> None:
        if ids := self._chosen():
            await self._after(await frame.call(review_confirm.move_faces, frame.core(), ids, to), f"Moved to {to}")

    async def cover(self) -> None:
        ids = self._chosen()
        if len(ids) > 1:
            ui.notify("Select exactly one face for the cover", type="warning")
        elif ids and await use_as_cover(self.person.id, ids[0]):
            ui.navigate.reload()

    async def accept_likely(self) -> None:
        await self._after(await frame.call(review_confirm.accept_likely, frame.core(), self.person.id), "Accepted")

    async def rename(self) -> None:
        new = (self.rename_input.value or "").strip()
        renamed = await frame.call(people.rename_person, frame.core(), self.person.id, new, done=f"Renamed to {new}")
        if renamed is not None:
            self.person = renamed
            self.title.set_text(renamed.name)

    async def toggle_hidden(self) -> None:
        hidden = not self.person.hidden
        done = hid(self.person.name) if hidden else f"Showed {self.person.name}"
        if await frame.call(people.set_hidden, frame.core(), self.person.id, hidden, done=done) is not None:
            ui.navigate.reload()

    async def delete(self) -> None:
        person = self.person
        if not await confirm(
            f"Delete {person.name}?",
            f"Their {plural(person.face_count, 'face')} go back to unknown. Names already written into "
            "photos stay until the next write. You can undo this.",
            ok="Delete",
        ):
            return
        result = await frame.call(people.delete_person, frame.core(), person.id)
        if result is not None:
            report(result, f"Deleted {person.name}")
            ui.navigate.to("/people")
