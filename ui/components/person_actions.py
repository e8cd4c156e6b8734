"""A person's everyday actions where the person is shown, not only on their own page: rename,
hide or show, "always ask me" (never named without a click), and choose the cover face.

Why: a user tidying the People list (a misspelt name, a neighbour to hide, a blurry cover)
had to open each person's page for each of these (issue 21, item 9). Each card of the People
list has a menu with all three; the photo page offers "Use as cover" on a named face.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from nicegui import ui

from tagmyphotos.review import people
from tagmyphotos.review.queries import FaceFilter, find_faces
from tagmyphotos.store.views import PersonView

from .. import frame
from .face_grid import thumb_url
from .person_picker import name_field

# Faces offered as a cover: the person's best (by quality), enough to find a good one.
COVER_CHOICES = 24


# What hiding does and does not do: the name stays in photos (issue 29: a hidden person was
# written into a photo without a word why).
HIDDEN_EFFECT = ("off the People list (“Show hidden people” lists them), no new suggestions. Faces already "
                 "named stay named and are still written into the photos; to take the name out of your "
                 "files, delete the person and write again.")  # fmt: skip


def hidden_note(name: str) -> str:
    return f"{name} is hidden: {HIDDEN_EFFECT}"


def hid(name: str) -> str:
    """The notice after hiding someone."""
    return f"Hid {name}: {HIDDEN_EFFECT}"


class PersonMenu:
    """The "⋮" menu of one person's card; `after()` runs once something changed."""

    def __init__(self, person: PersonView, after: Callable[[], Awaitable[None]]) -> None:
        self.person = person
        self.after = after
        button = frame.tid(ui.button(icon="more_vert"), f"person-menu-{person.id}").props("flat round dense")
        frame.attrs(button, {"aria-label": f"Actions for {person.name}"})
        with button, ui.menu():
            frame.tid(ui.menu_item("Rename…", on_click=self.rename), f"person-rename-{person.id}")
            hide = "Show again" if person.hidden else "Hide"
            frame.tid(ui.menu_item(hide, on_click=self.toggle_hidden), f"person-hide-{person.id}")
            frame.tid(ui.menu_item("Choose cover…", on_click=self.choose_cover), f"person-cover-{person.id}")
            ask = "Let the product name them again" if person.ask_first else "Always ask me before naming"
            frame.tid(ui.menu_item(ask, on_click=self.toggle_ask), f"person-ask-{person.id}")

    async def rename(self) -> None:
        with ui.dialog() as dialog, frame.tid(ui.card(), "rename-dialog").classes("min-w-[300px] gap-2"):
            ui.label(f"Rename {self.person.name}").classes("text-lg font-medium")
            ui.label("The old name stays as an alias: imports and searches still find it.").classes("text-sm")
            field = frame.tid(name_field("New name", self.person.name), "rename-name").props("dense outlined")
            field.on("keydown.enter", lambda: dialog.submit(field.value))
            with ui.row().classes("w-full justify-end"):
                ui.button("Cancel", on_click=lambda: dialog.submit(None)).props("flat")
                frame.tid(ui.button("Rename", on_click=lambda: dialog.submit(field.value)), "rename-go").props(
                    "unelevated color=primary"
                )
        new = await dialog
        dialog.delete()
        new = (new or "").strip()
        if new and new != self.person.name:
            done = f"Renamed to {new}"
            if await frame.call(people.rename_person, frame.core(), self.person.id, new, done=done) is not None:
                await self.after()

    async def toggle_hidden(self) -> None:
        hidden = not self.person.hidden
        done = hid(self.person.name) if hidden else f"Showed {self.person.name}"
        if await frame.call(people.set_hidden, frame.core(), self.person.id, hidden, done=done) is not None:
            await self.after()

    async def toggle_ask(self) -> None:
        """Children, twins: never named without a click, whatever the settings say."""
        ask = not self.person.ask_first
        done = (f"{self.person.name} will always wait for you in Review" if ask
                else f"{self.person.name} can be named without you again, when sure")  # fmt: skip
        if await frame.call(people.set_ask_first, frame.core(), self.person.id, ask, done=done) is not None:
            await self.after()

    async def choose_cover(self) -> None:
        found = await frame.io(find_faces, FaceFilter(person=self.person.id), "quality", 0, COVER_CHOICES)
        faces, total = found.items, found.total
        if not faces:
            ui.notify(f"{self.person.name} has no confirmed face yet", type="warning")
            return
        with ui.dialog() as dialog, frame.tid(ui.card(), "cover-dialog").classes("max-w-lg gap-2"):
            ui.label(f"Cover of {self.person.name}").classes("text-lg font-medium")
            more = f" (the best {len(faces)} of {total})" if total > len(faces) else ""
            ui.label(f"Click the face to show on the People page{more}.").classes("text-sm")
            with ui.row().classes("gap-2"):
                for face in faces:
                    self._cover_choice(face.id, face.photo_path, dialog)
            with ui.row().classes("w-full justify-end"):
                ui.button("Cancel", on_click=lambda: dialog.submit(None)).props("flat")
        face_id = await dialog
        dialog.delete()
        if face_id is not None and await use_as_cover(self.person.id, int(face_id)):
            await self.after()

    def _cover_choice(self, face_id: int, photo_path: str, dialog: ui.dialog) -> None:
        chosen = face_id == self.person.cover_face_id
        button = frame.tid(ui.button(on_click=lambda: dialog.submit(face_id)), f"cover-{face_id}").props(
            "flat dense" + (" outline" if chosen else "")
        )
        label = f"{photo_path.rsplit('/', 1)[-1]}" + (" (the cover now)" if chosen else "")
        frame.attrs(button, {"aria-label": f"Use the face in {label}"})
        with button:
            frame.attrs(ui.element("img"), {"src": thumb_url(face_id), "alt": ""}).props("loading=lazy").classes(
                "w-16 h-16 rounded"
            )


async def use_as_cover(person_id: int, face_id: int) -> bool:
    """Make a confirmed face the person's cover; True when it worked (the user is told)."""
    return await frame.succeeded(people.set_cover, frame.core(), person_id, face_id, done="Cover set")
