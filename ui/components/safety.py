"""Forgiving actions: a confirm dialog before what cannot be undone, an undo after what can.

Why undo instead of "are you sure?" for naming: reviewing thousands of faces must be fast;
every face action writes an undo entry (faces_review), so a slip costs one click to repair.
Deleting a person, writing files and revoking a key ask first.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, Literal

from nicegui import ui

from tagmyphotos.review import confirm as review_confirm
from tagmyphotos.review.undo import UndoScope
from tagmyphotos.store.views import ReviewResult

from .. import frame


async def confirm(title: str, message: str, ok: str = "Delete", color: str = "negative") -> bool:
    """Ask; True only when the user pressed `ok` (Escape, outside click and Cancel say no)."""
    with ui.dialog() as dialog, ui.card().classes("max-w-md"):
        ui.label(title).classes("text-lg font-medium")
        ui.label(message).classes("text-sm")
        with ui.row().classes("w-full justify-end gap-2"):
            frame.tid(ui.button("Cancel", on_click=lambda: dialog.submit(False)), "confirm-cancel").props("flat")
            ok_button = frame.tid(ui.button(ok, on_click=lambda: dialog.submit(True)), "confirm-ok")
            frame.attrs(ok_button, {"color": color}).props("unelevated")
    result = await dialog
    dialog.delete()
    return bool(result)


# Undo labels longer than this are cut on the button (the tooltip has all of it).
UNDO_LABEL_CHARS = 36
# An action older than this (seconds) shows its age on the Undo button.
RECENT_S = 120


class UndoButton:
    """'Undo <last action>' for what the page shows (`scope`: one person, one photo, or all);
    disabled when there is nothing to undo there. `after()` runs after an undo."""

    def __init__(self, after: Callable[[], Any] | None = None, scope: UndoScope | None = None) -> None:
        self.after = after
        self.scope = scope
        self.button = frame.tid(ui.button("Undo", icon="undo", on_click=self.undo), "undo").props(
            "flat dense no-caps no-wrap"
        )
        with self.button:
            self.tip = ui.tooltip("Nothing to undo here")
        self.button.set_enabled(False)
        ui.timer(0, self.refresh, once=True)

    async def refresh(self) -> None:
        last = await frame.io(review_confirm.last_undo, self.scope)
        self.button.set_enabled(last is not None)
        label = last.label if last else ""
        short = label if len(label) <= UNDO_LABEL_CHARS else label[: UNDO_LABEL_CHARS - 1] + "…"
        # the same words on every page; an older action says how old (a photo's page offered an
        # hours-old "Undo: not …" that looked like the last click, issue 29)
        when = ago(last.created_at) if last else ""
        self.button.set_text(f"Undo: {short}" + (f" ({when})" if when else "") if last else "Undo")
        where = "" if self.scope is None else " (the last change on this page)"
        self.tip.set_text(f"Undo: {label}{where}" if last else "Nothing to undo here")

    async def undo(self) -> None:
        result = await frame.call(review_confirm.undo_last, frame.core(), self.scope)
        if result is not None:
            report(result, "Undone")
        await self.refresh()
        if self.after is not None:
            done = self.after()
            if hasattr(done, "__await__"):
                await done


def ago(stamp: str | None, now: dt.datetime | None = None) -> str:
    """'5 min ago', '3 h ago', '2 days ago' for an action older than RECENT_S; '' for a recent one."""
    if not stamp:
        return ""
    try:
        then = dt.datetime.fromisoformat(stamp.removesuffix("Z")).replace(tzinfo=None)
    except ValueError:
        return ""
    seconds = ((now or dt.datetime.now(dt.UTC).replace(tzinfo=None)) - then).total_seconds()
    if seconds < RECENT_S:
        return ""
    if seconds < 3600:
        return f"{int(seconds // 60)} min ago"
    if seconds < 86400:
        return f"{int(seconds // 3600)} h ago"
    return frame.plural(int(seconds // 86400), "day") + " ago"


def report(result: ReviewResult, what: str) -> None:
    """Tell the user what an action did, including faces it skipped and why."""
    lines = [f"{what}: {frame.plural(len(result.changed), 'face')}"]
    if result.person is not None and result.created_person:
        lines[0] += f" (new person {result.person.name})"
    if result.displaced:
        lines.append(f"{frame.plural(len(result.displaced), 'other face')} in the same photos lost that name")
    if result.skipped:
        reasons: dict[str, int] = {}
        for skip in result.skipped:
            reasons[skip.reason] = reasons.get(skip.reason, 0) + 1
        lines += [f"{frame.plural(n, 'face')} not changed: {reason}" for reason, n in list(reasons.items())[:3]]
    lines += list(getattr(result, "warnings", []) or [])
    kind: Literal["positive", "info", "warning"] = "positive"
    if result.skipped or not result.changed:
        kind = "info" if result.changed else "warning"
    ui.notify("\n".join(lines), type=kind, multi_line=True, classes="whitespace-pre-line")
    frame.counts_changed()
