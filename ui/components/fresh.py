"""'New results are ready' notice: pages that a background job changes offer a refresh.

Why not refresh by itself: the user may be halfway through selecting faces; replacing the
tiles under the cursor would lose that. The notice appears, the user decides.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from nicegui import ui

from .. import frame
from .face_lists import header_counts

# Seconds between checks (two index counts each).
CHECK_EVERY_S = 10.0


class FreshnessNotice:
    """Shows a refresh button when the counts changed since `mark_seen()`."""

    def __init__(self, on_refresh: Callable[[], Awaitable[Any]]) -> None:
        self.on_refresh = on_refresh
        self.seen: tuple[int, int] | None = None
        with ui.row().classes("w-full items-center gap-2") as self.row:
            ui.icon("new_releases").classes("text-primary")
            ui.label("New results from a background job are ready.").classes("text-sm")
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
