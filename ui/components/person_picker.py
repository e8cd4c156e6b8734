"""Pick a person by name: autocomplete over existing people (and their aliases); new names allowed.

A new name close to an existing one ("Scarlett" when "Scarlett Johansson" exists, a typo)
asks "did you mean ...?" first: a second person for the same someone splits their faces and
their suggestions, and merging them later is work the user should not have to discover.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from nicegui import ui

from tagmyphotos import tuning
from tagmyphotos.review.people import list_people, similar_people

from .. import frame


def name_field(label: str, value: str = "") -> ui.input:
    """A field for a person's name that says at once when it is too long."""
    most = tuning.PERSON_NAME_MAX_CHARS
    field = ui.input(label, value=value, validation=lambda v: None if len(v or "") <= most else
                     f"At most {most:,} characters; this is {len(v or ''):,}")  # fmt: skip
    return field.props("hide-bottom-space")


async def person_names() -> list[str]:
    """Every person's name and alias, for the autocomplete list (hidden people included)."""
    people = await frame.io(list_people, True)
    names = {p.name for p in people}
    names.update(alias for p in people for alias in p.aliases)
    return sorted(names, key=str.casefold)


class PersonPicker:
    """A name field with autocomplete; Enter or the button calls `on_pick(name)`."""

    def __init__(
        self,
        on_pick: Callable[[str], Awaitable[Any] | Any],
        *,
        label: str = "Name",
        button: str = "Name",
        icon: str = "badge",
        names: list[str] | None = None,
        testid: str | None = None,
    ) -> None:
        self.on_pick = on_pick
        with ui.row().classes("items-center gap-2 max-w-full"):  # wraps on a phone
            self.input = name_field(label).props("dense outlined clearable").classes("min-w-[180px]")
            self.input.set_autocomplete(names or [])
            self.button = ui.button(button, icon=icon, on_click=self.pick).props("unelevated color=primary no-wrap")
        if testid:
            frame.tid(self.input, testid)
            frame.tid(self.button, f"{testid}-go")
        self.input.on("keydown.enter", self.pick)
        if names is None:
            ui.timer(0, self.load, once=True)

    async def load(self) -> None:
        self.input.set_autocomplete(await person_names())

    async def pick(self) -> None:
        name = (self.input.value or "").strip()
        if not name:
            ui.notify("Type a name first", type="warning")
            return
        chosen = await did_you_mean(name)
        if chosen is None:
            return
        result = self.on_pick(chosen)
        if hasattr(result, "__await__"):
            await result


async def did_you_mean(name: str) -> str | None:
    """The name to use: `name`, or an existing person's close name the user picked instead;
    None when the user cancelled."""
    close = await frame.io(similar_people, name)
    if not close:
        return name
    with ui.dialog() as dialog, frame.tid(ui.card(), "did-you-mean").classes("max-w-md gap-2"):
        ui.label(f"Did you mean {close[0].name}?").classes("text-lg font-medium")
        ui.label(f"Nobody is called “{name}” yet, but these names are close. Add the faces to one of "
                 "them, or create a new person.").classes("text-sm")  # fmt: skip
        for index, person in enumerate(close):
            button = ui.button(f"Use {person.name}", icon="call_merge",
                               on_click=lambda p=person: dialog.submit(p.name))  # fmt: skip
            frame.tid(button, f"use-similar-{index}").props("unelevated color=primary no-caps").classes("w-full")
        with ui.row().classes("w-full justify-end gap-2"):
            ui.button("Cancel", on_click=lambda: dialog.submit(None)).props("flat")
            frame.tid(ui.button(f"Create “{name}”", on_click=lambda: dialog.submit(name)),
                      "create-new-person").props("flat no-caps")  # fmt: skip
    chosen = await dialog
    dialog.delete()
    return chosen if isinstance(chosen, str) else None
