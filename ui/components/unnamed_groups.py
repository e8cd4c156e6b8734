"""Groups of look-alike faces nobody has named yet, on the People page: name them where the
people are (as Immich users look for them), or open them under Unknown faces to check each face.

Naming here names what the Unknown faces page would have selected: the faces shown of the
group, without those that look different (they stay unknown, for the user to see there).
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any

from nicegui import ui

from tagmyphotos.review import confirm
from tagmyphotos.review.queries import ClusterChoice, clusters_to_name, count_clusters_to_name

from .. import frame
from ..frame import plural
from .face_grid import thumb_url
from .person_picker import PersonPicker, person_names
from .safety import report

# Groups shown on the People page (the biggest first; the rest are a click away) and the faces
# of each that a name given here applies to (as on Unknown faces).
GROUPS_SHOWN = 12
FACES_PER_GROUP = 48


class UnnamedGroups:
    """A section of unnamed groups, each with its face, size and a name field."""

    def __init__(self, after: Callable[[], Awaitable[Any]]) -> None:
        self.after = after
        self.box = frame.tid(ui.column(), "unnamed-groups").classes("w-full gap-2")
        ui.timer(0, self.reload, once=True)

    async def reload(self) -> None:
        total = await frame.io(count_clusters_to_name)
        found = await frame.io(clusters_to_name, frame.core().cfg, GROUPS_SHOWN, 0, FACES_PER_GROUP) if total else []
        names = await person_names() if found else []
        self.box.clear()
        if not found:
            return
        with self.box:
            more = f" (the {len(found)} biggest)" if total > len(found) else ""
            with ui.row().classes("w-full items-center gap-2"):
                frame.section(f"Not named yet: {plural(total, 'group')} of look-alike faces{more}",
                              "Each group is probably one person. Name them here, or open them to check "
                              "each face first.")  # fmt: skip
                ui.space()
                ui.link("All groups, face by face →", "/unknown").classes("text-sm")
            with (
                ui.element("div")
                .classes("w-full grid gap-3")
                .style("grid-template-columns: repeat(auto-fill, minmax(230px, 1fr))")  # the name field fits
            ):
                for choice in found:
                    self._card(choice, names)

    def _card(self, choice: ClusterChoice, names: list[str]) -> None:
        group = choice.cluster
        with frame.tid(ui.card(), f"unnamed-group-{group.id}").classes("gap-1 p-2 items-center").props("flat bordered"):
            with ui.link(target="/unknown").classes("no-underline text-inherit flex flex-col items-center"):
                face = group.faces[0]
                frame.attrs(ui.element("img"), {"src": thumb_url(face.id), "alt": "an unnamed face"}).props(
                    "loading=lazy"
                ).classes("w-24 h-24 rounded-full object-cover")
                ui.label(f"{plural(group.size, 'face')} in {plural(group.photos, 'photo')}").classes("text-sm")
            PersonPicker(functools.partial(self.name, choice), label="Who is this?", button="Name",
                         names=names, testid=f"unnamed-name-{group.id}")  # fmt: skip

    async def name(self, choice: ClusterChoice, who: str) -> None:
        shown = [f.id for f in choice.cluster.faces]
        result = await frame.call(confirm.name_cluster, frame.core(), choice.cluster.id, who,
                                  drop=sorted(choice.outliers), face_ids=shown)  # fmt: skip
        if result is None:
            return
        report(result, f"Named {who}")
        await self.reload()
        await self.after()
