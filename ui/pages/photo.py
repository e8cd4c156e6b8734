"""Photo view: the photo with its face boxes and names; assign, change or remove a name, use a
named face as its person's cover; mark a face the detector missed (components.face_marker)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from html import escape

from nicegui import ui
from nicegui.events import GenericEventArguments

from tagmyphotos.review import confirm, mark
from tagmyphotos.review.photos import PhotoInfo, photo_detail
from tagmyphotos.review.undo import UndoScope
from tagmyphotos.states import FaceState
from tagmyphotos.store.views import FaceView, PhotoNameView, ReviewResult

from .. import frame
from ..components.face_grid import PREVIEW_URL, thumb_url
from ..components.face_marker import Box, FaceMarker
from ..components.person_actions import use_as_cover
from ..components.person_picker import PersonPicker, person_names
from ..components.safety import UndoButton, report

# Long side (px) of the preview the page shows; box coordinates are scaled to it.
PREVIEW_PX = 1600
STATE_COLOR = {"confirmed": "#21ba45", "suggested": "#f2c037", "unknown": "#ffffff", "ignored": "#9e9e9e"}


def register() -> None:
    @frame.page("/photo/{photo_id}", "Photo")
    async def photo_page(photo_id: int, face: int | None = None) -> None:
        PhotoPage(photo_id, face)


# Where a face came from, in words (the side panel says it once per face).
SOURCE_TEXT = {"detected": "found by face detection", "imported": "named in the file by another app",
               "manual": "marked by hand"}  # fmt: skip


def describe(face: FaceView) -> str:
    if face.state == FaceState.CONFIRMED:
        return face.person_name or "named"
    if face.state == FaceState.SUGGESTED:
        return f"{face.suggested_person_name}? ({face.certainty or 'check'})"
    return "nobody yet" if face.state == FaceState.UNKNOWN else face.state


def svg(faces: list[FaceView], scale: float, chosen: int | None, preview_side: float, clickable: bool = True) -> str:
    """Face boxes and names over the preview (its pixels: the box coordinates times `scale`).

    While a face is being marked the boxes let the pointer through (`clickable` False)."""
    parts = []
    stroke = max(2.0, preview_side / 300)
    font = max(12.0, preview_side / 40)
    for face in faces:
        x, y, w, h = (round(v * scale, 1) for v in (face.x, face.y, face.w, face.h))
        color = STATE_COLOR.get(face.state, "#ffffff")
        width = stroke * (1.8 if face.id == chosen else 1)
        dash = ' stroke-dasharray="8 6"' if face.state in (FaceState.UNKNOWN, FaceState.IGNORED) else ""
        events = 'pointer-events="all" cursor="pointer"' if clickable else 'pointer-events="none"'
        parts.append(
            f'<rect id="face-{face.id}" x="{x}" y="{y}" width="{w}" height="{h}" fill="transparent" '
            f'stroke="{color}" stroke-width="{width}"{dash} {events} />'
        )
        label = escape(describe(face))
        size = font
        parts.append(
            f'<text x="{x}" y="{max(size, y - size * 0.3)}" font-size="{size}" fill="{color}" stroke="black" '
            f'stroke-width="{size / 8}" paint-order="stroke" font-family="sans-serif">{label}</text>'
        )
    return "".join(parts)


class PhotoPage:
    def __init__(self, photo_id: int, chosen: int | None) -> None:
        self.photo_id = photo_id
        self.chosen = chosen
        self.names: list[str] = []
        self.info: PhotoInfo | None = None
        self.scale = 1.0
        with ui.row().classes("w-full items-center gap-2"):
            ui.button(icon="arrow_back", on_click=ui.navigate.back).props("flat round aria-label=Back")
            self.title = ui.label().classes("text-lg font-medium break-all")
            ui.space()
            self.mark_button = frame.tid(
                ui.button("Mark a missed face", icon="crop_free", on_click=self.toggle_marking), "mark-face-start"
            ).props("flat dense no-caps")
            self.undo = UndoButton(after=self.reload, scope=UndoScope(photo_id=photo_id))
        with ui.row().classes("w-full gap-4 items-start no-wrap max-md:flex-wrap"):
            with ui.column().classes("grow min-w-0 w-full md:w-2/3"):
                self.image = ui.interactive_image(events=[]).classes("w-full rounded")
                self.image.on("svg:pointerdown", self.box_clicked)
                frame.tid(self.image, "photo-image")
            with ui.column().classes("w-full md:w-1/3 gap-2"):
                # beside the photo (above its faces), so marking instructions are in view
                self.mark_panel = ui.column().classes("w-full")
                self.side = ui.column().classes("w-full gap-2")
        self.marker = FaceMarker(self.image, self.mark_panel, self.add_face, self.draw)
        ui.timer(0, self.reload, once=True)

    async def reload(self) -> None:
        info = await frame.io(photo_detail, self.photo_id)
        if info is None:
            self.side.clear()
            with self.side:
                frame.empty_state("image_not_supported", "No such photo", "It may have been removed from the library.")
            return
        self.names = await person_names()
        self.title.set_text(info.path)
        self.info, self.scale = info, min(1.0, PREVIEW_PX / max(info.width or 0, info.height or 0, 1))
        self.image.set_source(PREVIEW_URL.format(id=info.id) + f"?size={PREVIEW_PX}")
        self.draw()
        self.side.clear()
        with self.side:
            if info.error:
                ui.label(info.error).classes("text-negative text-sm")
            if info.twin is not None:
                with frame.tid(ui.row(), "photo-twin").classes("items-baseline gap-1 text-sm"):
                    ui.label("A RAW file: its faces are those of")
                    ui.link(info.twin.path, f"/photo/{info.twin.id}")
                    ui.label("(naming them there tags both files).")
            elif not info.face_list:
                frame.empty_state(
                    "face",
                    "No faces found in this photo",
                    "Faces smaller than the minimum face size are not detected; mark a missed one on the photo.",
                )
            for face in info.face_list:
                self._face_row(face)
            if info.names:
                _names_card(info.names)

    def draw(self) -> None:
        """Face boxes, and the box being marked, over the preview."""
        if self.info is None:
            return
        side = max(self.info.width or 0, self.info.height or 0, 1) * self.scale
        marking = self.marker.active
        self.image.set_content(
            svg(self.info.face_list, self.scale, self.chosen, side, not marking) + self.marker.overlay(side)
        )

    def toggle_marking(self) -> None:
        if self.marker.active:
            self.marker.stop()
        elif self.info is not None:
            self.marker.start(self.scale, self.names)

    async def add_face(self, box: Box, who: str | None) -> bool:
        """Save the marked box (full-resolution pixels) as a face, named `who` or unnamed."""
        result = await frame.call(mark.add_face, frame.core(), self.photo_id, box, who)
        if result is None:
            return False
        self.chosen = result.changed[0]
        await self._after(result, f"Marked a face as {who}" if who else "Marked a face")
        return True

    def box_clicked(self, e: GenericEventArguments) -> None:
        element = str(e.args.get("element_id", "")) if isinstance(e.args, dict) else ""
        if element.startswith("face-"):
            self.chosen = int(element.removeprefix("face-"))
            ui.timer(0, self.reload, once=True)

    def _face_row(self, face: FaceView) -> None:
        active = face.id == self.chosen
        with (
            frame.tid(ui.card(), f"photo-face-{face.id}")
            .classes("w-full gap-2 p-2" + (" ring-2 ring-blue-600" if active else ""))
            .props("flat bordered")
        ):
            with ui.row().classes("w-full items-center no-wrap gap-2"):
                frame.attrs(ui.element("img"), {"src": thumb_url(face.id), "alt": ""}).props("loading=lazy").classes(
                    "w-14 h-14 rounded"
                )
                with ui.column().classes("gap-0 min-w-0"):
                    ui.label(describe(face)).classes("font-medium break-all")
                    ui.label(SOURCE_TEXT.get(face.source, face.source)).classes("text-xs text-grey-7")
                    if face.explanation and face.state == FaceState.SUGGESTED:
                        ui.label(_why(face)).classes("text-xs text-grey-7")
            with ui.row().classes("w-full items-center gap-1"):
                call = functools.partial
                if face.state == FaceState.SUGGESTED:
                    ui.button("Accept", icon="check", on_click=call(self.act, "accept", face)).props(
                        "dense unelevated color=positive"
                    )
                    ui.button("Reject", icon="close", on_click=call(self.act, "reject", face)).props(
                        "dense flat color=negative"
                    )
                if face.state == FaceState.CONFIRMED:
                    ui.button("Remove name", icon="person_remove", on_click=call(self.act, "unassign", face)).props(
                        "dense flat color=negative"
                    )
                    cover = ui.button("Use as cover", icon="account_circle", on_click=call(self.cover, face))
                    frame.tid(cover, f"cover-face-{face.id}").props("dense flat")
                if face.state in (FaceState.UNKNOWN, FaceState.SUGGESTED):
                    ui.button("Ignore", icon="visibility_off", on_click=call(self.act, "ignore", face)).props(
                        "dense flat color=grey-8"
                    )
                if face.source == "manual":
                    delete = ui.button("Delete box", icon="delete", on_click=call(self.act, "remove", face))
                    frame.tid(delete, f"delete-face-{face.id}").props("dense flat color=negative")
                if face.state == FaceState.IGNORED:
                    ui.button("Not ignored", icon="visibility", on_click=call(self.act, "unassign", face)).props(
                        "dense flat"
                    )
            label = "Change name" if face.state == FaceState.CONFIRMED else "Who is this?"
            PersonPicker(
                functools.partial(self.assign, face),
                label=label,
                button="Save",
                icon="badge",
                names=self.names,
                testid=f"assign-{face.id}",
            )

    async def cover(self, face: FaceView) -> None:
        """This face becomes its person's picture on the People page."""
        if face.person_id is not None:
            await use_as_cover(face.person_id, face.id)

    async def assign(self, face: FaceView, who: str) -> None:
        result = await frame.call(confirm.confirm, frame.core(), [face.id], who)
        await self._after(result, f"Named {who}")

    async def act(self, action: str, face: FaceView) -> None:
        core = frame.core()
        calls: dict[str, tuple[Callable[..., ReviewResult], str]] = {
            "accept": (confirm.accept_suggestions, "Accepted"),
            "reject": (functools.partial(confirm.reject, who=face.suggested_person_id), "Rejected"),
            "unassign": (confirm.unassign, "Name removed"),
            "ignore": (confirm.ignore, "Ignored"),
            "remove": (lambda c, ids: mark.remove_face(c, ids[0]), "Box deleted"),
        }
        fn, what = calls[action]
        await self._after(await frame.call(fn, core, [face.id]), what)

    async def _after(self, result: ReviewResult | None, what: str) -> None:
        if result is not None:
            report(result, what)
            await self.reload()
            await self.undo.refresh()


# Where a name came from, in the words of the tools that write those tags.
SOURCE_LABELS = {
    "XMP-mwg-rs:RegionInfo": "face region (MWG)",
    "XMP-MP:RegionInfoMP": "face region (Microsoft)",
    "XMP-iptcExt:PersonInImage": "PersonInImage",
    "XMP-lr:HierarchicalSubject": "Lightroom keywords",
    "XMP-digiKam:TagsList": "digiKam tags",
    "XMP-dc:Subject": "keywords",
    "immich": "Immich",
    "photoprism": "PhotoPrism",
    "Google Takeout": "Google Takeout",
    "review": "named here",
}
STATUS_LABELS = {"face": "on a face", "suggested": "suggested for a face", "photo": "in the photo, on no face"}


def _names_card(names: list[PhotoNameView]) -> None:
    """Who is named on the photo and where each name came from (the file's tags or review)."""
    with frame.tid(ui.card(), "photo-names").classes("w-full gap-1 p-2").props("flat bordered"):
        ui.label("Names").classes("font-medium")
        for n in names:
            sources = ", ".join(SOURCE_LABELS.get(s, s) for s in n.sources)
            with frame.tid(ui.row(), f"photo-name-{n.person_id}").classes("w-full items-baseline gap-2 no-wrap"):
                ui.label(n.name).classes("font-medium break-all")
                ui.label(f"{STATUS_LABELS.get(n.status, n.status)} · from {sources}").classes("text-xs text-grey-7")


def _why(face: FaceView) -> str:
    """The matcher's reasons in words: how many of the most similar named faces agree, how sure,
    and the runner-up."""
    ex = face.explanation or {}
    parts = []
    if ex.get("placed"):  # stages/steps/place_names.py: a name the photo's tags give, placed on this face
        parts.append(f"the photo's tags name {face.suggested_person_name}, and this face fits that name best")
    if "agreeing" in ex and "k" in ex:
        parts.append(f"{ex['agreeing']} of the {ex['k']} most similar named faces are "
                     f"{face.suggested_person_name}")  # fmt: skip
    if face.confidence is not None:
        parts.append(f"match probability {face.confidence:.1%}")
    if ex.get("conflict_person_name"):
        parts.append(f"also looks like {ex['conflict_person_name']}")
    return " · ".join(parts)
