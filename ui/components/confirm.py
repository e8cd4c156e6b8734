"""A confirm dialog for destructive actions: nothing irreversible happens on one click."""

from __future__ import annotations

from nicegui import ui

from .. import frame


async def confirm(title: str, message: str, ok: str = "Delete", color: str = "negative") -> bool:
    """Ask; True only when the user pressed `ok` (Escape, outside click and Cancel say no)."""
    with ui.dialog() as dialog, ui.card().classes("max-w-md"):
        ui.label(title).classes("text-lg font-medium")
        ui.label(message).classes("text-sm")
        with ui.row().classes("w-full justify-end gap-2"):
            frame.tid(ui.button("Cancel", on_click=lambda: dialog.submit(False)), "confirm-cancel").props("flat")
            frame.tid(ui.button(ok, on_click=lambda: dialog.submit(True)), "confirm-ok").props(
                f"unelevated color={color}"
            )
    result = await dialog
    dialog.delete()
    return bool(result)
