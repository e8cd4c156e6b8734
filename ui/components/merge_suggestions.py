"""'Maybe the same person?': merge suggestions with their evidence, answered in one click.

Why on the People page: naming one real person twice (two groups named differently) is found
when looking at everyone; each suggestion shows a few faces of both and how close they are,
merges with one button (into the one with more faces, undoable) or is answered "different
people" for good (tagmyphotos.review.merges).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from nicegui import ui

from tagmyphotos.review import merges
from tagmyphotos.review.merges import MergeSuggestion
from tagmyphotos.store.views import FaceView, PersonView

from .. import frame
from .face_grid import thumb_url
from .safety import report

# "Very alike" below this share of the suggestion threshold: 95% of one person's faces split in two
# are under 0.41, at a threshold of 0.55 (tuning.MERGE_DISTANCE_RATIO's calibration); above, "alike".
TYPICAL_SAME_RATIO = 0.41 / 0.55

# Suggestions shown at once (closest first); the API pages through all of them.
SHOWN = 5


class MergeSuggestions:
    """A card per suggestion; `after()` is awaited after a merge (the people list changed)."""

    def __init__(self, after: Callable[[], Awaitable[Any]]) -> None:
        self.after = after
        self.box = ui.column().classes("w-full gap-2")
        ui.timer(0, self.reload, once=True)

    async def reload(self) -> None:
        found, total = await frame.io(merges.merge_suggestions, frame.core(), 0, SHOWN)
        self.box.clear()
        if not found:
            return
        with self.box:
            more = f" (the {SHOWN} closest of {total})" if total > len(found) else ""
            frame.section("Maybe the same person?", f"Their faces are very alike{more}. Merge them, or say "
                          "they are different and this is not asked again.")  # fmt: skip
            for suggestion in found:
                self._card(suggestion)

    def _card(self, s: MergeSuggestion) -> None:
        key = f"{s.a.id}-{s.b.id}"
        with frame.tid(ui.card(), f"merge-suggestion-{key}").classes("w-full gap-2").props("flat bordered"):
            with ui.row().classes("w-full items-center gap-4 no-wrap max-md:flex-wrap"):
                _side(s.a, s.faces_a)
                with ui.column().classes("items-center gap-0 text-center"):
                    ui.icon("compare_arrows", size="2rem").classes("text-primary")
                    close = s.distance <= s.threshold * TYPICAL_SAME_RATIO
                    ui.label("Very alike" if close else "Alike").classes("text-sm font-medium")
                    ui.label("as alike as photos of one person usually are" if close else
                             "more alike than two people usually are: look closely").classes(
                        "text-xs text-grey-7 dark:text-grey-5"
                    ).tooltip(f"distance {s.distance:.2f}, suggested below {s.threshold:.2f}; "
                              f"nearest faces {s.closest_distance:.2f}")  # fmt: skip
                _side(s.b, s.faces_b)
            with ui.row().classes("w-full justify-end gap-2"):
                frame.tid(
                    ui.button("Different people", icon="call_split", on_click=lambda: self.different(s)),
                    f"different-{key}",
                ).props("flat dense")
                frame.tid(
                    ui.button(f"Same person: merge into {s.a.name}", icon="call_merge", on_click=lambda: self.merge(s)),
                    f"merge-pair-{key}",
                ).props("unelevated dense color=primary no-caps")

    async def merge(self, s: MergeSuggestion) -> None:
        result = await frame.call(merges.merge_pair, frame.core(), s.a.id, s.b.id, s.a.id)
        if result is not None:
            report(result, f"Merged {s.b.name} into {s.a.name}")
            await self.reload()
            await self.after()

    async def different(self, s: MergeSuggestion) -> None:
        done = f"{s.a.name} and {s.b.name} are different people: not suggested again"
        if await frame.succeeded(merges.mark_different, frame.core(), s.a.id, s.b.id, done=done):
            await self.reload()


def _side(person: PersonView, faces: list[FaceView]) -> None:
    with ui.column().classes("gap-1 min-w-0"):
        with ui.link(target=f"/people/{person.id}").classes("no-underline text-inherit"):
            ui.label(f"{person.name} · {person.face_count} faces").classes("font-medium break-all")
        with ui.row().classes("gap-1 no-wrap"):
            for face in faces:
                img = {"src": thumb_url(face.id), "alt": "", "width": 64, "height": 64}
                frame.attrs(ui.element("img"), img).props("loading=lazy").classes(
                    "w-16 h-16 rounded object-cover bg-grey-3"
                )
