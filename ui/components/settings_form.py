"""An editor for one section of settings: the right widget per type, locked keys shown as such.

Why generic: the settings are a typed pydantic model; the widget follows the field's type
(switch, choice, number, list, text, secret), so a new setting needs no UI code.
"""

from __future__ import annotations

import json
import types
import typing
from collections.abc import Callable
from typing import Any

from nicegui import ui
from pydantic import BaseModel, SecretStr

from tagmyphotos.config import Config
from tagmyphotos.store import settings as settings_store

from .. import frame


def annotation(cfg: Config, dotted: str) -> Any:
    """The declared type of a dotted setting (e.g. write.mode -> Literal['auto', ...])."""
    model: Any = cfg
    parts = dotted.split(".")
    for part in parts[:-1]:
        model = getattr(model, part)
    return type(model).model_fields[parts[-1]].annotation


def _choices(kind: Any) -> list[Any] | None:
    if typing.get_origin(kind) is typing.Literal:
        return list(typing.get_args(kind))
    return None


def _is_secret(kind: Any) -> bool:
    return kind is SecretStr or (
        typing.get_origin(kind) in (typing.Union, types.UnionType) and SecretStr in typing.get_args(kind)
    )


class SettingsForm:
    """Widgets for `keys` of one section; `changes()` returns what the user edited."""

    def __init__(self, cfg: Config, title: str, keys: list[str], on_saved: Callable[[Config], Any]) -> None:
        self.cfg = cfg
        self.on_saved = on_saved
        self.fields: dict[str, tuple[Any, Any, str]] = {}  # key -> (value shown, widget, type tag)
        values = settings_store.all_keys(cfg)
        locked = settings_store.env_locked()
        with ui.card().classes("flex-1 min-w-[300px] gap-1").props("flat bordered"):
            ui.label(title).classes("font-medium")
            for key in keys:
                self._field(
                    key,
                    values[key],
                    annotation(cfg, key),
                    key in locked or not settings_store.is_editable(key),
                )
            if self.fields:
                frame.tid(ui.button("Save", icon="save", on_click=self.save), f"save-{title.lower()}").props(
                    "unelevated dense color=primary"
                ).classes("self-end")

    def _field(self, key: str, value: Any, kind: Any, locked: bool) -> None:
        name = key.rsplit(".", 1)[-1].replace("_", " ")
        if locked:
            with ui.row().classes("w-full no-wrap gap-2 text-sm items-center"):
                ui.label(name).classes("text-grey-7 w-1/2 break-all")
                shown = "********" if isinstance(value, SecretStr) and value.get_secret_value() else _text(value)
                ui.label(shown).classes("font-mono break-all")
                ui.icon("lock", size="xs").classes("text-grey-6").tooltip(
                    "Set in the environment or only changeable in config.yaml"
                )
            return
        original = value.get_secret_value() if isinstance(value, SecretStr) else value
        choices = _choices(kind)
        widget: Any
        if isinstance(original, bool):
            widget, tag = ui.switch(name, value=original), "bool"
        elif choices is not None:
            widget, tag = ui.select(choices, value=original, label=name).props("dense"), "choice"
        elif isinstance(original, (int, float)):
            widget, tag = ui.number(name, value=original).props("dense"), type(original).__name__
        elif isinstance(original, list):
            widget, tag = ui.input(name, value=", ".join(str(v) for v in original)).props("dense"), "list"
        elif isinstance(original, dict):
            widget, tag = ui.input(name, value=json.dumps(original)).props("dense"), "json"
        elif _is_secret(kind):
            shown = settings_store.MASK if original else ""
            widget, tag = ui.input(name, value=shown, password=True).props("dense"), "text"
        else:
            widget, tag = (
                ui.input(name, value="" if original is None else str(original)).props("dense"),
                "text",
            )
        widget.classes("w-full").tooltip(key)
        frame.tid(widget, f"setting-{key}")
        before = settings_store.MASK if _is_secret(kind) and original else original
        self.fields[key] = (before, widget, tag)

    def changes(self) -> dict[str, Any]:
        """Edited values, parsed to their type; raises ValueError for text that does not parse."""
        out = {}
        for key, (before, widget, tag) in self.fields.items():
            now = _parse(tag, widget.value)
            if now != before:
                out[key] = now
        return out

    async def save(self) -> None:
        try:
            changes = self.changes()
        except (ValueError, TypeError) as exc:
            ui.notify(f"Not saved: {exc}", type="negative")
            return
        if not changes:
            ui.notify("Nothing changed")
            return
        saved = await frame.call(settings_store.save_changes, frame.core().cfg, changes)
        if saved is None:
            return
        new_cfg, restart = saved
        frame.core().cfg = new_cfg  # applied to this process at once, like PATCH /settings
        note = f"; restart to apply {', '.join(restart)}" if restart else ""
        ui.notify(f"Saved {', '.join(changes)}{note}", type="positive", multi_line=True)
        self.on_saved(new_cfg)


def _parse(tag: str, raw: Any) -> Any:
    if tag == "bool":
        return bool(raw)
    if tag in ("int", "float"):
        return None if raw is None else (int(raw) if tag == "int" else float(raw))
    if tag == "list":
        return [p.strip() for p in str(raw or "").split(",") if p.strip()]
    if tag == "json":
        return json.loads(raw or "{}")
    return raw


def _text(value: Any) -> str:
    if isinstance(value, BaseModel):
        return ", ".join(f"{k}={v}" for k, v in value.model_dump().items())
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "—"
    if isinstance(value, dict):
        return json.dumps(value) if value else "defaults"
    return "—" if value in ("", None) else str(value)
