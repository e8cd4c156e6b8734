"""Face thumbnails: a selectable, keyboard-navigable tile grid and a pager that loads lazily.

Why plain <img loading=lazy> from the API: the browser fetches a thumbnail only when it
scrolls into view and caches it; the server sends one page of tiles at a time, so a library
with 100k faces costs the same as one with 100.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from nicegui import ui

from tagmyphotos.states import Certainty, FaceState
from tagmyphotos.store.views import FaceView

from .. import frame

# Where the REST API serves a face's square thumbnail and a photo's preview.
THUMB_URL = "/api/v1/faces/{id}/thumb"
PREVIEW_URL = "/api/v1/photos/{id}/preview"
# Tile size on screen (px); thumbnails are made at 160 px, so this stays sharp on 2x screens.
# Tiles stretch to fill each row (at least TILE_MIN_PX; on a phone smaller, four per row on a
# 390 px screen: theme.css .face-grid).
TILE_PX = 96
TILE_MIN_PX = 88
GRID_STYLE = f"grid-template-columns: repeat(auto-fill, minmax({TILE_MIN_PX}px, {TILE_PX + 24}px))"

# How sure a suggestion is, in words and colours (tagmyphotos.matching.sure), with each level's
# wrong-name rate measured where most people are unnamed (scripts/evaluate --open-set), in round words.
CERTAINTY_COLOR: dict[str, str] = {Certainty.SURE: "positive", Certainty.LIKELY: "teal-9", Certainty.CHECK: "warning"}
CERTAINTY_TEXT_COLOR: dict[str, str] = {Certainty.CHECK: "black"}
CERTAINTY_HELP: dict[str, str] = {
    Certainty.SURE: "sure: none of 11,000 such test suggestions was wrong, with most people unnamed; "
    "these may be named without you (Settings)",
    Certainty.LIKELY: "likely: often right, but about half were wrong while most people in a library were not yet "
    "named; a glance is enough",
    Certainty.CHECK: "check: most such suggestions were wrong; look at this one",
}


def thumb_url(face_id: int) -> str:
    return THUMB_URL.format(id=face_id)


def photo_link(face: FaceView) -> str:
    return f"/photo/{face.photo_id}?face={face.id}"


def tile_label(face: FaceView) -> str:
    """What a screen reader says for a face tile: who it is (or may be) and in which photo."""
    photo = face.photo_path.rsplit("/", 1)[-1]
    if face.state == FaceState.CONFIRMED and face.person_name:
        who = face.person_name
    elif face.state == FaceState.SUGGESTED and face.suggested_person_name:
        who = f"maybe {face.suggested_person_name} ({face.certainty or 'check'})"
    else:
        who = "unknown face" if face.state != FaceState.IGNORED else "ignored face"
    return f"{who}, in {photo}"


class FaceTile:
    """One face: thumbnail, selection ring, keyboard focus ring, how sure, and name.

    A tile is a checkbox to assistive technology: Tab reaches it, Enter or Space toggles it,
    and its name says who the face is and in which photo."""

    def __init__(self, face: FaceView, grid: FaceGrid, caption: str | None) -> None:
        self.face = face
        self.grid = grid
        label = tile_label(face)
        with frame.attrs(ui.element("div"), {"data-face": face.id}).classes("relative") as self.box:
            with ui.element("div").classes("face-tile cursor-pointer rounded-lg p-0.5") as self.frame:
                img = {"src": thumb_url(face.id), "alt": label, "width": TILE_PX, "height": TILE_PX}
                frame.attrs(ui.element("img"), img).props("loading=lazy decoding=async").classes(
                    "rounded-md block bg-grey-3 w-full h-auto aspect-square"
                )
                if face.confidence is not None and face.certainty:
                    level = face.certainty
                    badge = ui.badge(level, color=CERTAINTY_COLOR[level],
                                     text_color=CERTAINTY_TEXT_COLOR.get(level)).classes(
                        "absolute top-1 left-1 text-[10px]")  # fmt: skip
                    frame.attrs(badge, {"aria-hidden": "true"})
                    badge.tooltip(f"{CERTAINTY_HELP[level]} (match probability {face.confidence:.1%})")
                self.check = ui.icon("check_circle", size="1.2rem").classes(
                    "absolute top-1 right-1 text-blue-800 bg-white rounded-full"
                )
            ui.button(icon="open_in_new", on_click=lambda: ui.navigate.to(photo_link(face))).props(
                "round dense flat size=xs color=white aria-label='Show in photo'"
            ).classes("absolute right-1.5 bottom-1.5 bg-black/40")
            if caption:
                ui.label(caption).classes("text-[11px] leading-tight truncate w-full")
        frame.attrs(self.frame, {"tabindex": 0, "role": "checkbox", "aria-label": label, "id": f"face-tile-{face.id}"})
        self.frame.mark(f"face-{face.id}")
        self.frame.on("click", lambda: grid.clicked(self))
        self.frame.on("focus", lambda: grid.focused(self))
        if grid.ring is None:  # the review page's keyboard handler toggles the face under its cursor
            self.frame.on("keydown.enter.prevent", lambda: grid.toggle(face.id))
            self.frame.on("keydown.space.prevent", lambda: grid.toggle(face.id))
        self.paint()

    def paint(self) -> None:
        selected = self.face.id in self.grid.selected
        focused = self.grid.focus_tile is self
        self.check.set_visibility(selected)
        frame.attrs(self.frame, {"aria-checked": "true" if selected else "false"})
        ring = "ring-4 ring-blue-800" if selected else "ring-1 ring-gray-400"
        focus = " outline outline-4 outline-offset-2 outline-orange-700" if focused else ""
        self.frame.classes(replace=f"face-tile cursor-pointer rounded-lg p-0.5 {ring}{focus}")


class FaceGrid:
    """A wrapping grid of FaceTiles with a selection; several grids can share one keyboard focus."""

    def __init__(
        self,
        faces: Sequence[FaceView],
        *,
        selected: set[int] | None = None,
        caption: Callable[[FaceView], str | None] | None = None,
        on_select: Callable[[], Any] | None = None,
        focus: FocusRing | None = None,
    ) -> None:
        self.faces = list(faces)
        self.selected: set[int] = set(selected or ())
        self.on_select = on_select
        self.ring = focus
        self.focus_tile: FaceTile | None = None
        self.tiles: list[FaceTile] = []
        # a grid of equal columns: as many tiles per row as fit, no empty strip on a phone
        with ui.element("div").classes("face-grid w-full grid gap-2").style(GRID_STYLE) as self.container:
            for face in self.faces:
                self.tiles.append(FaceTile(face, self, caption(face) if caption else None))
        if focus is not None:
            focus.add(self)

    def focused(self, tile: FaceTile) -> None:
        """Tab reached a tile: the review cursor follows, so its keys act on that face."""
        if self.ring is not None and self.ring.current is not tile:
            self.ring.move_to(tile)

    def clicked(self, tile: FaceTile) -> None:
        self.toggle(tile.face.id)
        if self.ring is not None:
            self.ring.move_to(tile)

    def toggle(self, face_id: int) -> None:
        self.selected.symmetric_difference_update({face_id})
        self._repaint(face_id)
        if self.ring is not None and self.ring.current is not None and self.ring.current.face.id == face_id:
            self.ring.say(self.ring.current)
        if self.on_select:
            self.on_select()

    def set_selection(self, ids: set[int]) -> None:
        self.selected = {i for i in ids if any(f.id == i for f in self.faces)}
        for tile in self.tiles:
            tile.paint()
        if self.on_select:
            self.on_select()

    def remove(self, face_ids: set[int]) -> None:
        """Drop faces that were handled; the grid closes up."""
        gone = [t for t in self.tiles if t.face.id in face_ids]
        cursor = self.ring is not None and self.ring.current in gone
        index = self.tiles.index(self.ring.current) if cursor and self.ring and self.ring.current else 0
        for tile in gone:
            tile.box.delete()
            self.tiles.remove(tile)
        self.faces = [f for f in self.faces if f.id not in face_ids]
        self.selected -= face_ids
        if cursor and self.ring is not None:
            self.ring.forget(self, index)
        if self.on_select:
            self.on_select()

    def _repaint(self, face_id: int) -> None:
        for tile in self.tiles:
            if tile.face.id == face_id:
                tile.paint()


class FocusRing:
    """Keyboard focus over the tiles of several grids, in reading order (arrows move it)."""

    def __init__(self, announce: Callable[[str], Any] | None = None) -> None:
        self.grids: list[FaceGrid] = []
        self.current: FaceTile | None = None
        self.resume: FaceTile | None = None
        self.announce = announce

    def _announce(self, text: str) -> None:
        if self.announce is not None:
            self.announce(text)

    def add(self, grid: FaceGrid) -> None:
        self.grids.append(grid)

    def clear(self) -> None:
        self.grids.clear()
        self.current = None
        self.resume = None

    def tiles(self) -> list[FaceTile]:
        return [tile for grid in self.grids for tile in grid.tiles]

    def move_to(self, tile: FaceTile | None) -> None:
        old, self.current = self.current, tile
        self.resume = None
        for t in (old, tile):
            if t is not None:
                t.grid.focus_tile = t if t is tile else None
                t.paint()
        if tile is not None:
            tile.box.run_method("scrollIntoView", {"block": "nearest", "behavior": "smooth"})
            self.say(tile)

    def say(self, tile: FaceTile) -> None:
        """What a screen reader hears when the cursor lands on a face (the page's live region)."""
        grid = tile.grid
        where = f"face {grid.tiles.index(tile) + 1} of {len(grid.tiles)}" if tile in grid.tiles else "face"
        chosen = "selected" if tile.face.id in grid.selected else "not selected"
        self._announce(f"{tile_label(tile.face)}; {where}; {chosen}")

    def forget(self, grid: FaceGrid, index: int) -> None:
        """The face under the cursor (at `index` of `grid`) was handled: the cursor stays in its
        grid, where the person's other faces still wait; an emptied grid leaves no cursor."""
        self.current = None
        grid.focus_tile = None
        if grid.tiles:
            self.move_to(grid.tiles[min(index, len(grid.tiles) - 1)])

    def park(self, resume: FaceTile | None) -> None:
        """No cursor until an arrow key: the next arrow puts it on `resume`. Keys meant for the
        faces just handled then never act on faces the page put in their place."""
        if self.current is not None:
            old, self.current = self.current, None
            old.grid.focus_tile = None
            old.paint()
        self.resume = resume
        self._announce("")

    def step(self, delta: int) -> None:
        tiles = self.tiles()
        if not tiles:
            return
        if self.current not in tiles:
            self.move_to(self.resume if self.resume in tiles else tiles[0])
            return
        index = tiles.index(self.current)  # type: ignore[arg-type]
        self.move_to(tiles[max(0, min(len(tiles) - 1, index + delta))])


Fetch = Callable[[int, int], Awaitable[tuple[list[Any], int | None]]]


class Pager:
    """Pages of items: `fetch(offset, limit)` returns (items, total or None when unknown)."""

    def __init__(self, fetch: Fetch, render: Callable[[list[Any]], Any], page_size: int) -> None:
        self.fetch = fetch
        self.render = render
        self.page_size = page_size
        self.page = 1
        self.total: int | None = None
        self.body = ui.column().classes("w-full gap-3")
        with ui.row().classes("w-full items-center justify-center gap-2") as self.nav:
            self.prev = ui.button(icon="chevron_left", on_click=lambda: self.go(self.page - 1)).props(
                "flat round aria-label='Previous page'"
            )
            self.where = ui.label().classes("text-sm")
            self.next = ui.button(icon="chevron_right", on_click=lambda: self.go(self.page + 1)).props(
                "flat round aria-label='Next page'"
            )

    async def go(self, page: int) -> None:
        page = max(1, page)
        items, total = await self.fetch((page - 1) * self.page_size, self.page_size)
        if not items and page > 1:  # the last page emptied (everything on it was handled)
            await self.go(page - 1)
            return
        self.page, self.total = page, total
        self.body.clear()
        with self.body:
            self.render(items)
        pages = None if total is None else max(1, -(-total // self.page_size))
        more = len(items) >= self.page_size if pages is None else page < pages
        self.prev.set_enabled(page > 1)
        self.next.set_enabled(more)
        self.where.set_text(f"page {page}" + (f" of {pages}" if pages else ""))
        self.nav.set_visibility(page > 1 or more)

    async def reload(self) -> None:
        await self.go(self.page)
