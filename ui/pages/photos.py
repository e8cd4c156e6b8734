"""Photos: the library as a grid of previews with the people on each; find photos by people
(all of them, any of them, only them), folder, date and unnamed faces; open one photo."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from urllib.parse import urlencode

from nicegui import ui

from tagmyphotos.review import photos
from tagmyphotos.review.people import list_people
from tagmyphotos.review.photos import PhotoCard, PhotoFilter

from .. import frame
from ..components.face_grid import PREVIEW_URL, Pager

PHOTOS_PER_PAGE = 60
# Preview size (long side, px) of a grid tile; the API caches it by content hash.
TILE_PREVIEW_PX = 320
MODES = {"all": "All of them", "any": "Any of them", "only": "Only them"}
ORDERS = {"-date": "Newest first", "date": "Oldest first", "path": "By folder and name"}
UNNAMED = {"any": "All photos", "with": "With unnamed faces", "without": "No unnamed faces"}


def register() -> None:
    @frame.page("/photos", "Photos")
    async def photos_page(
        person: int | None = None, people: str = "", mode: str = "all", faces: str = "any", folder: str = "",
        start: str = "", end: str = "", order: str = "-date",
    ) -> None:  # fmt: skip
        chosen = [int(p) for p in people.split(",") if p.strip().isdigit()] or ([person] if person else [])
        shown = Shown(
            chosen, mode if mode in MODES else "all", faces if faces in UNNAMED else "any", folder,
            start if _day(start) else "", end if _day(end) else "", order if order in ORDERS else "-date",
        )  # fmt: skip
        await PhotosPage.build(shown)


@dataclass(frozen=True)
class Shown:
    """The filters as the address keeps them (a reload or a shared link shows the same photos)."""

    people: list[int]
    mode: str = "all"
    faces: str = "any"
    folder: str = ""
    start: str = ""
    end: str = ""
    order: str = "-date"

    def query(self) -> str:
        values = {"people": ",".join(str(p) for p in self.people), "mode": self.mode, "faces": self.faces,
                  "folder": self.folder, "start": self.start, "end": self.end, "order": self.order}  # fmt: skip
        defaults = {"mode": "all", "faces": "any", "order": "-date"}
        return urlencode({k: v for k, v in values.items() if v and defaults.get(k) != v})


def _day(text: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text) if text else None
    except ValueError:
        return None


class PhotosPage:
    def __init__(self, people: dict[int, str], shown: Shown) -> None:
        preselected = [p for p in shown.people if p in people]
        frame.section("Photos", "Find photos by the people in them; open one to see and change its names.")
        with ui.row().classes("w-full items-end gap-3"):
            self.people = frame.tid(
                ui.select(people, multiple=True, value=preselected, label="People", with_input=True,
                          on_change=self.reload),
                "photos-people",
            ).props("dense outlined use-chips clearable").classes("min-w-[260px]")  # fmt: skip
            self.mode = frame.tid(ui.toggle(MODES, value=shown.mode, on_change=self.reload), "photos-mode").props(
                "dense"
            )
            self.unnamed = frame.tid(
                ui.select(UNNAMED, value=shown.faces, label="Faces", on_change=self.reload), "photos-unnamed"
            ).props("dense outlined")
        with ui.row().classes("w-full items-end gap-3"):
            self.folder = frame.tid(
                ui.input("Folder", value=shown.folder, on_change=self.reload), "photos-folder"
            ).props("dense outlined clearable debounce=400")
            self.first = frame.tid(
                ui.input("From (file date)", value=shown.start, on_change=self.reload), "photos-from"
            ).props("dense outlined clearable type=date")
            self.last = frame.tid(ui.input("To", value=shown.end, on_change=self.reload), "photos-to").props(
                "dense outlined clearable type=date"
            )
            self.order = ui.select(ORDERS, value=shown.order, label="Order", on_change=self.reload).props(
                "dense outlined"
            )
            ui.space()
            self.count = frame.tid(ui.label(), "photos-count").classes("text-sm")
        self.pager = Pager(self.fetch, self.render, PHOTOS_PER_PAGE)
        ui.timer(0, self.reload, once=True)

    @classmethod
    async def build(cls, shown: Shown) -> None:
        everyone = await frame.io(list_people, True)
        cls({p.id: p.name for p in everyone}, shown)

    def shown(self) -> Shown:
        return Shown([int(p) for p in self.people.value or ()], str(self.mode.value or "all"),
                     str(self.unnamed.value or "any"), (self.folder.value or "").strip(), self.first.value or "",
                     self.last.value or "", str(self.order.value or "-date"))  # fmt: skip

    def current(self) -> PhotoFilter:
        first, last = _day(self.first.value), _day(self.last.value)
        start, end = photos.day_bounds(first, last)
        unnamed = {"with": True, "without": False}.get(str(self.unnamed.value))
        return PhotoFilter(
            people=tuple(int(p) for p in self.people.value or ()), mode=str(self.mode.value or "all"),
            folder=(self.folder.value or "").strip().strip("/") or None, date_from=start, date_to=end,
            has_unnamed_faces=unnamed, order=str(self.order.value or "-date"),
        )  # fmt: skip

    async def fetch(self, offset: int, limit: int) -> tuple[list[PhotoCard], int]:
        try:
            page = await frame.io(photos.find_photos, self.current(), offset, limit)
        except ValueError as exc:  # a folder with '..' or similar: say why, show nothing
            ui.notify(str(exc), type="warning")
            return [], 0
        self.count.set_text(frame.plural(page.total, "photo"))
        return page.items, page.total

    async def reload(self) -> None:
        query = self.shown().query()
        ui.navigate.history.replace("/photos" + (f"?{query}" if query else ""))
        await self.pager.go(1)

    def render(self, cards: list[PhotoCard]) -> None:
        if not cards:
            frame.empty_state("photo_library", "No photos match", "Change the people, the folder or the dates.")
            return
        with (
            ui.element("div")
            .classes("w-full grid gap-3")
            .style("grid-template-columns: repeat(auto-fill, minmax(180px, 1fr))")
        ):
            for card in cards:
                _tile(card)


def _tile(card: PhotoCard) -> None:
    name = card.path.rsplit("/", 1)[-1]
    link = frame.tid(ui.link(target=f"/photo/{card.id}"), f"photo-{card.id}").classes("no-underline text-inherit")
    with link, ui.card().classes("gap-1 p-1 w-full h-full").props("flat bordered"):
        preview = {"src": f"{PREVIEW_URL.format(id=card.id)}?size={TILE_PREVIEW_PX}", "alt": ""}
        frame.attrs(ui.element("img"), preview).props("loading=lazy decoding=async").classes(
            "w-full h-36 object-cover rounded bg-grey-3"
        )
        ui.label(name).classes("text-xs text-grey-7 dark:text-grey-5 truncate w-full").tooltip(card.path)
        with ui.row().classes("gap-1"):
            for tag in card.people:
                badge = ui.badge(tag.name, color="primary", outline=not tag.on_face).classes("text-[11px]")
                frame.tid(badge, f"photo-{card.id}-person")
                if not tag.on_face:
                    badge.tooltip("Named in the photo's tags, on no face found")
            if card.unnamed_faces:
                ui.badge(f"{card.unnamed_faces} unnamed", color="grey-6").classes("text-[11px]")
