"""Pick a person by name: autocomplete over existing people (and their aliases); new names allowed."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from nicegui import ui

from tagmyphotos.review.people import list_people

from .. import frame


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
        with ui.row().classes("items-center gap-2 no-wrap"):
            self.input = (
                ui.input(label, autocomplete=names or []).props("dense outlined clearable").classes("min-w-[200px]")
            )
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
        result = self.on_pick(name)
        if hasattr(result, "__await__"):
            await result
