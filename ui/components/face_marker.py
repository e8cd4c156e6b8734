""" "Mark a missed face" on the photo view: drag a box on the preview (or click two corners),
name it with the person picker (or leave it unnamed), save.

The preview is the photo scaled by `scale` (as the page draws the face boxes); the box is
mapped back to full-resolution oriented pixels before it reaches the service, which checks
it against the photo (inside, minimum face size) and decides whether a face is really there.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from nicegui import ui
from nicegui.events import MouseEventArguments

from .. import frame
from .person_picker import PersonPicker

# A press and release closer than this (preview px) is a click: the first or second corner.
CLICK_PX = 6
MARK_COLOR = "#2196f3"
Box = tuple[float, float, float, float]


def corners_to_box(a: tuple[float, float], b: tuple[float, float]) -> Box:
    """Two opposite corners, in any order, as x, y, w, h."""
    return min(a[0], b[0]), min(a[1], b[1]), abs(a[0] - b[0]), abs(a[1] - b[1])


class FaceMarker:
    """Owns the marking mode: mouse handling on `image`, the drawn box, the naming panel.

    `on_save(box, who)` gets the box in full-resolution pixels and a name (None: unnamed) and
    returns True when the face was added; `redraw()` asks the page to draw its overlay again
    (the page adds `overlay()` to its face boxes).
    """

    def __init__(
        self,
        image: ui.interactive_image,
        panel: ui.element,
        on_save: Callable[[Box, str | None], Awaitable[bool]],
        redraw: Callable[[], None],
    ) -> None:
        self.image, self.panel, self.on_save, self.redraw = image, panel, on_save, redraw
        self.active = False
        self.scale = 1.0
        self.names: list[str] = []
        self.pressed: tuple[float, float] | None = None
        self.corner: tuple[float, float] | None = None  # first corner of a click-click box
        self.box: Box | None = None  # in preview pixels
        self.image.on_mouse(self.mouse)

    def start(self, scale: float, names: list[str]) -> None:
        self.active, self.scale, self.names = True, scale, names
        self.pressed = self.corner = self.box = None
        self.image.props["events"] = ["pointerdown", "pointerup"]
        self.image.props["cross"] = MARK_COLOR
        self.image.classes(add="touch-none")
        self.image.update()
        self._panel()
        self.redraw()

    def stop(self) -> None:
        self.active = False
        self.pressed = self.corner = self.box = None
        self.image.props["events"] = []
        self.image.props["cross"] = False
        self.image.classes(remove="touch-none")
        self.image.update()
        self.panel.clear()
        self.redraw()

    def mouse(self, e: MouseEventArguments) -> None:
        if not self.active:
            return
        point = (e.image_x, e.image_y)
        if e.type == "pointerdown":
            self.pressed = point
            return
        if e.type != "pointerup" or self.pressed is None:
            return
        start, self.pressed = self.pressed, None
        if max(abs(point[0] - start[0]), abs(point[1] - start[1])) > CLICK_PX:
            self.box, self.corner = corners_to_box(start, point), None  # a drag
        elif self.corner is None:
            self.corner, self.box = point, None  # a click: the first corner
        else:
            self.box, self.corner = corners_to_box(self.corner, point), None
        self._panel()
        self.redraw()

    def overlay(self, preview_side: float) -> str:
        """The box being marked (or its first corner) as SVG over the preview."""
        if not self.active:
            return ""
        stroke = max(2.0, preview_side / 300)
        if self.box is not None:
            x, y, w, h = (round(v, 1) for v in self.box)
            return (
                f'<rect id="new-face" x="{x}" y="{y}" width="{w}" height="{h}" fill="{MARK_COLOR}" '
                f'fill-opacity="0.15" stroke="{MARK_COLOR}" stroke-width="{stroke * 1.5}" pointer-events="none" />'
            )
        if self.corner is not None:
            cx, cy = (round(v, 1) for v in self.corner)
            return f'<circle cx="{cx}" cy="{cy}" r="{stroke * 3}" fill="{MARK_COLOR}" pointer-events="none" />'
        return ""

    def full_box(self) -> Box | None:
        """The marked box in full-resolution oriented pixels (the preview is scaled by `scale`)."""
        if self.box is None:
            return None
        return tuple(v / self.scale for v in self.box)  # type: ignore[return-value]

    def _panel(self) -> None:
        self.panel.clear()
        with self.panel, frame.tid(ui.card(), "mark-face-panel").classes("w-full gap-2 p-2").props("flat bordered"):
            ui.label("Mark a missed face").classes("font-medium")
            if self.box is None:
                ui.label("Drag a box around the face on the photo, or click two opposite corners.").classes(
                    "text-sm text-grey-7"
                )
            else:
                PersonPicker(self.save, label="Who is this?", button="Save", names=self.names, testid="mark-face")
                frame.tid(ui.button("Save without a name", on_click=self.save_unnamed), "mark-face-unnamed").props(
                    "dense flat"
                )
            frame.tid(ui.button("Cancel", icon="close", on_click=self.stop), "mark-face-cancel").props(
                "dense flat color=grey-8"
            )
        # the panel is what changed: bring it into view (below the photo on a phone)
        self.panel.run_method("scrollIntoView", {"block": "nearest", "behavior": "smooth"})

    async def save(self, who: str | None) -> None:
        box = self.full_box()
        if box is None:
            ui.notify("Draw the box first", type="warning")
            return
        if await self.on_save(box, who):
            self.stop()

    async def save_unnamed(self, _: Any = None) -> None:
        await self.save(None)
