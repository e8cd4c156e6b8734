"""The settings editor: the right widget per type, locked keys shown as such, one Save.

Why generic: the settings are a typed pydantic model; the widget follows the field's type
(switch, choice, number, list, text, secret), so a new setting needs only its words in
settings_catalog.
"""

from __future__ import annotations

import json
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from typing import Annotated, Any

from nicegui import ui
from pydantic import BaseModel, SecretStr, TypeAdapter, ValidationError

from tagmyphotos.config import Config, mask_setting
from tagmyphotos.store import settings as settings_store

from .. import frame
from .settings_catalog import CHOICE_LABELS, Setting


def annotation(cfg: Config, dotted: str) -> Any:
    """The declared type of a dotted setting (e.g. write.mode -> Literal['auto', ...])."""
    model: Any = cfg
    parts = dotted.split(".")
    for part in parts[:-1]:
        model = getattr(model, part)
    return type(model).model_fields[parts[-1]].annotation


def field_adapter(cfg: Config, dotted: str) -> TypeAdapter[Any]:
    """A validator for one setting alone: its type with its limits (ge=0, le=…)."""
    model: Any = cfg
    parts = dotted.split(".")
    for part in parts[:-1]:
        model = getattr(model, part)
    info = type(model).model_fields[parts[-1]]
    kind: Any = Annotated[info.annotation, *info.metadata] if info.metadata else info.annotation
    return TypeAdapter(kind)


# A refused value in the owner's words (pydantic's error types; the limit comes from the error).
PLAIN: dict[str, str] = {
    "greater_than_equal": "must be {ge} or more",
    "greater_than": "must be more than {gt}",
    "less_than_equal": "must be {le} or less",
    "less_than": "must be less than {lt}",
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "int_type": "must be a whole number",
    "float_parsing": "must be a number",
    "float_type": "must be a number",
    "literal_error": "must be one of: {expected}",
    "string_too_long": "may be at most {max_length} characters",
    "missing": "is needed",
}


def plain_error(err: Mapping[str, Any]) -> str:
    """One validation error as a sentence part: 'must be 0 or more', not 'Input should be …'."""
    template = PLAIN.get(str(err.get("type")))
    if template is not None:
        try:
            ctx = {
                k: int(v) if isinstance(v, float) and v.is_integer() else v for k, v in (err.get("ctx") or {}).items()
            }
            return template.format(**ctx)
        except (KeyError, IndexError):
            pass
    message = str(err.get("msg", "is not valid"))
    return message.removeprefix("Value error, ").removeprefix("Assertion failed, ")


def _choices(kind: Any) -> list[Any] | None:
    if typing.get_origin(kind) is typing.Literal:
        return list(typing.get_args(kind))
    return None


def _is_secret(kind: Any) -> bool:
    return kind is SecretStr or (
        typing.get_origin(kind) in (typing.Union, types.UnionType) and SecretStr in typing.get_args(kind)
    )


class SettingsForm:
    """Widgets for settings in several groups, and ONE save for all of them.

    `group()` adds a card of settings (each with its label and help); `save()` saves what the
    user edited anywhere on the page at once."""

    def __init__(self, cfg: Config, on_saved: Callable[[Config], Any]) -> None:
        self.cfg = cfg
        self.on_saved = on_saved
        self.fields: dict[str, tuple[Any, Any, str]] = {}  # key -> (value shown, widget, type tag)
        self.labels: dict[str, str] = {}
        self.values = settings_store.all_keys(cfg)
        self.locked = settings_store.env_locked()
        self.withheld = settings_store.withheld_secrets()

    def group(self, title: str, intro: str, settings: Sequence[Setting]) -> ui.card:
        """A card of settings; the caller may add more to it (`with form.group(...):`)."""
        with ui.card().classes("w-full gap-2").props("flat bordered") as card:
            ui.label(title).classes("text-lg font-medium")
            if intro:
                ui.label(intro).classes("text-sm text-grey-7")
            for setting in settings:
                if setting.key in self.values:
                    self.field(setting)
        return card

    def field(self, setting: Setting) -> None:
        key = setting.key
        self.labels[key] = setting.label
        locked = key in self.locked or not settings_store.is_editable(key)
        with ui.column().classes("w-full gap-0"):
            self._widget(key, setting.label, self.values[key], annotation(self.cfg, key), locked)
            if setting.help:
                ui.label(setting.help).classes("text-xs text-grey-7")
            if key in self.withheld:  # a key entered for another site is never sent to this one
                frame.tid(ui.label(f"Not used: {self.withheld[key]}"), f"withheld-{key}").classes(
                    "text-xs text-negative"
                )

    def _widget(self, key: str, name: str, value: Any, kind: Any, locked: bool) -> None:
        if locked:
            with ui.row().classes("w-full no-wrap gap-2 text-sm items-center"):
                ui.label(name).classes("text-grey-7 w-1/2 break-all")
                secret = isinstance(value, SecretStr) and value.get_secret_value()
                shown = "********" if secret else str(mask_setting(key, _text(value)))
                ui.label(shown).classes("font-mono break-all")
                ui.icon("lock", size="xs").classes("text-grey-7")
            why = "set by an environment variable" if key in self.locked else "changed only in config.yaml"
            ui.label(f"Fixed here: {why}.").classes("text-xs text-grey-7")
            return
        original = value.get_secret_value() if isinstance(value, SecretStr) else value
        choices = _choices(kind)
        widget: Any
        if isinstance(original, bool):
            widget, tag = ui.switch(name, value=original), "bool"
        elif choices is not None:
            options = CHOICE_LABELS.get(key) or choices
            widget, tag = ui.select(options, value=original, label=name).props("dense"), "choice"
        elif isinstance(original, (int, float)):
            widget, tag = ui.number(name, value=original).props("dense"), type(original).__name__
        elif isinstance(original, list):
            widget, tag = ui.input(name, value=", ".join(str(v) for v in original)).props("dense"), "list"
        elif isinstance(original, dict):
            widget, tag = ui.input(name, value=json.dumps(original)).props("dense"), "json"
        elif _is_secret(kind):
            shown = settings_store.MASK if original else ""
            widget, tag = ui.input(name, value=shown, password=True).props("dense"), "text"
        else:  # a URL with credentials (or a secret path) is shown masked: sent back, no change
            original = mask_setting(key, "" if original is None else str(original))
            widget, tag = ui.input(name, value=original).props("dense"), "text"
        widget.classes("w-full max-w-xl")
        frame.tid(widget, f"setting-{key}")
        # what the widget shows now: an empty text field for an unset value is no change
        before = (settings_store.MASK if original else "") if _is_secret(kind) else original
        if tag == "text" and before is None:
            before = ""
        self.fields[key] = (before, widget, tag)
        if tag != "bool":  # each field says what is wrong as soon as it is left
            widget.on("blur", lambda key=key: self.check(key))

    def problem(self, key: str) -> str | None:
        """What is wrong with the value in this field, in plain words (None: nothing)."""
        _, widget, tag = self.fields[key]
        try:
            value = _parse(tag, widget.value)
        except (ValueError, TypeError):
            return "must be a number" if tag in ("int", "float") else "is not in the expected form"
        if value is None and tag in ("int", "float"):
            return "is needed"
        if tag == "text" and value == settings_store.MASK:
            return None  # a secret left as it was
        try:
            field_adapter(self.cfg, key).validate_python(value)
        except ValidationError as exc:
            return "; ".join(plain_error(e) for e in exc.errors())
        return None

    def check(self, key: str) -> bool:
        """Mark the field with its problem (or clear the mark); True when it is fine."""
        trouble = self.problem(key)
        self.fields[key][1].error = f"{self.labels.get(key, key)} {trouble}" if trouble else None
        return trouble is None

    def changes(self) -> dict[str, Any]:
        """Edited values, parsed to their type (call after every field passed `check`)."""
        out = {}
        for key, (before, widget, tag) in self.fields.items():
            now = _parse(tag, widget.value)
            if now != before:
                out[key] = now
        return out

    async def save(self) -> None:
        bad = [key for key in self.fields if not self.check(key)]  # every field, all marked at once
        if bad:
            names = ", ".join(self.labels.get(k, k) for k in bad)
            ui.notify(f"Not saved: {frame.plural(len(bad), 'setting')} to correct (marked in red): {names}",
                      type="negative", multi_line=True)  # fmt: skip
            self.fields[bad[0]][1].run_method("focus")
            return
        changes = self.changes()
        if not changes:
            ui.notify("Nothing changed")
            return
        try:
            saved = await frame.io(settings_store.save_changes, frame.core().cfg, changes)
        except settings_store.SettingsError as exc:
            self.refused(str(exc))
            return
        except Exception as exc:  # the database or the disk: say so, keep the form as it is
            ui.notify(f"Not saved: {exc}", type="negative", multi_line=True)
            return
        new_cfg, restart = saved
        frame.core().cfg = new_cfg  # applied to this process at once, like PATCH /settings
        names = ", ".join(self.labels.get(k, k) for k in changes)
        note = f"; restart to apply {', '.join(self.labels.get(k, k) for k in restart)}" if restart else ""
        ui.notify(f"Saved: {names}{note}", type="positive", multi_line=True)
        self.on_saved(new_cfg)

    def refused(self, message: str) -> None:
        """The store refused the change as a whole ("key: reason"): on the field, in its words."""
        key, _, reason = message.partition(": ")
        if key in self.fields:
            text = f"{self.labels.get(key, key)}: {reason.removeprefix('Value error, ')}"
            self.fields[key][1].error = text
        else:
            text = message
        ui.notify(f"Not saved: {text}", type="negative", multi_line=True)


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
