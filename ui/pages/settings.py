"""Settings: the effective configuration, integration checks, API keys and the password.

Configuration comes from config.yaml, then what was changed here (kept in the database),
then TAGMYPHOTOS_* variables, which win and show as locked. API keys and the UI password
live in the database too.
"""

from __future__ import annotations

import functools
from typing import Any

from nicegui import ui

from integrations.notify import test_connection
from tagmyphotos.store import settings as settings_store
from tagmyphotos.system import auth

from .. import frame
from ..components import session
from ..components import settings_catalog as catalog
from ..components.library_check import check_library
from ..components.name_import import NameImport
from ..components.safety import confirm
from ..components.settings_form import SettingsForm
from ..components.takeout_import import TakeoutImport

TARGETS = {"immich": "Immich", "photoprism": "PhotoPrism", "webhook": "Webhook"}


def register() -> None:
    @frame.page("/settings", "Settings")
    async def settings_page() -> None:
        cfg = frame.core().cfg
        keys = list(settings_store.all_keys(cfg))
        frame.section(
            "Settings",
            "Changes apply at once when you save (a few after a restart). Values set by "
            "TAGMYPHOTOS_* environment variables are shown locked.",
        )
        _library(cfg)
        form = SettingsForm(cfg, lambda _cfg: ui.navigate.reload())
        for group in catalog.GROUPS:
            form.group(group.title, group.intro, group.settings)
        _integrations(form, keys)
        shown = catalog.grouped_keys() | {k for k in keys for t in TARGETS if k.startswith(f"integrations.{t}.")}
        advanced = [k for k in keys if k not in shown and settings_store.is_editable(k)]
        with ui.expansion("Advanced: matching and analysis tuning", icon="tune").classes("w-full").props(
            "dense header-class=text-grey-8"
        ):
            ui.label("Calibrated defaults (see docs/calibration.md); change them only to experiment.").classes(
                "text-sm text-grey-7"
            )
            form.group("", "", [catalog.advanced_setting(k) for k in advanced])
        with ui.row().classes("w-full justify-end sticky bottom-0 py-2 z-10"):
            frame.tid(ui.button("Save changes", icon="save", on_click=form.save), "save-settings").props(
                "unelevated color=primary"
            )
        NameImport()
        TakeoutImport()
        ApiKeys()
        _password(cfg)


def _integrations(form: SettingsForm, keys: list[str]) -> None:
    intro = "After a write, these apps are told to re-read the changed photos."
    with form.group("Your photo apps", intro, []):
        for target, name in TARGETS.items():
            prefix = f"integrations.{target}."
            with ui.expansion(name, icon="link").classes("w-full").props("dense"):
                for key in [k for k in keys if k.startswith(prefix)]:
                    form.field(catalog.integration_setting(key))
                outcome = ui.label().classes("text-sm whitespace-pre-wrap")
                button = ui.button("Test connection", icon="network_check",
                                   on_click=functools.partial(_test, target, outcome))  # fmt: skip
                frame.tid(button, f"test-{target}").props("flat dense no-caps")


def _library(cfg: Any) -> None:
    with ui.card().classes("w-full gap-1").props("flat bordered"):
        ui.label("Library").classes("font-medium")
        ui.label(f"Photos: {cfg.library}").classes("font-mono text-sm break-all")
        ui.label(f"Data (database, thumbnails, backups): {cfg.data}").classes("font-mono text-sm break-all")
        ui.label("Folders are set in config.yaml or TAGMYPHOTOS_LIBRARY / TAGMYPHOTOS_DATA.").classes(
            "text-xs text-grey-7"
        )
        result = ui.column().classes("gap-0")

        async def check() -> None:
            found = await frame.call(check_library, cfg)
            if found is None:
                return
            result.clear()
            with result:
                if found.photos_seen:
                    more = "" if found.sample_complete else "+"
                    ui.label(f"✓ readable, {found.photos_seen}{more} photos found").classes("text-positive")
                for problem in found.problems:
                    ui.label(problem).classes("text-sm text-warning")

        ui.button("Check library", icon="folder_open", on_click=check).props("flat dense")


async def _test(target: str, outcome: ui.label) -> None:
    outcome.set_text("Testing…")
    result = await frame.call(test_connection, frame.core().cfg.integrations, target)
    if result is None:
        outcome.set_text("")
        return
    outcome.set_text(result.message + ("\n" + "\n".join(result.details) if result.details else ""))
    color = "text-positive" if result.ok else "text-negative"
    outcome.classes(replace=f"text-sm whitespace-pre-wrap {color}")


class ApiKeys:
    """API keys for scripts and other apps: create (shown once), list, revoke (after confirming)."""

    def __init__(self) -> None:
        with ui.card().classes("w-full gap-2").props("flat bordered"):
            ui.label("API keys").classes("font-medium")
            ui.label("For scripts and other apps: send as X-API-Key. A read key cannot change anything.").classes(
                "text-sm"
            )
            with ui.row().classes("items-end gap-2"):
                self.name = frame.tid(ui.input("Key name", placeholder="e.g. home assistant"), "key-name")
                self.scope = ui.select(list(auth.SCOPES), value=auth.SCOPE_FULL, label="Access").classes("w-28")
                frame.tid(ui.button("Create key", icon="key", on_click=self.create), "create-key").props(
                    "unelevated color=primary"
                )
            self.shown = ui.column().classes("w-full")
            self.rows = ui.column().classes("w-full gap-1")
        ui.timer(0, self.refresh, once=True)

    async def refresh(self) -> None:
        keys = await frame.call(auth.list_api_keys)
        self.rows.clear()
        with self.rows:
            if not keys:
                ui.label("No API keys yet.").classes("text-sm text-grey-7")
            for key in keys or []:
                with ui.row().classes("w-full items-center no-wrap gap-2 text-sm"):
                    ui.label(key.name).classes("font-medium")
                    ui.label(f"{key.prefix}…").classes("font-mono")
                    ui.badge(key.scope, color="grey")
                    ui.label(f"used {key.last_used_at[:16].replace('T', ' ')}" if key.last_used_at
                             else "never used").classes("text-grey-7 gt-xs")  # fmt: skip
                    ui.space()
                    ui.button("Revoke", on_click=functools.partial(self.revoke, key.id, key.name)).props(
                        "flat dense color=negative"
                    )

    async def create(self) -> None:
        made = await frame.call(auth.create_api_key, self.name.value or "", self.scope.value)
        if made is None:
            return
        info, secret = made
        self.name.set_value("")
        self.shown.clear()
        with self.shown, ui.card().classes("w-full bg-amber-1 dark:bg-amber-10").props("flat"):
            ui.label(f"Key “{info.name}” — copy it now, it is not shown again:").classes("text-sm")
            with ui.row().classes("items-center gap-2 no-wrap w-full"):
                frame.tid(ui.label(secret), "new-key").classes("font-mono text-sm break-all")
                ui.button(icon="content_copy", on_click=lambda: ui.clipboard.write(secret)).props("flat dense")
        await self.refresh()

    async def revoke(self, key_id: int, name: str) -> None:
        if not await confirm("Revoke key?", f"Scripts using “{name}” stop working at once.", ok="Revoke"):
            return
        if await frame.call(auth.revoke_api_key, key_id, done=f"Revoked “{name}”") is not None:
            await self.refresh()


def _password(cfg: Any) -> None:
    with ui.card().classes("w-full gap-2").props("flat bordered"):
        ui.label("Password").classes("font-medium")
        if cfg.auth.password and cfg.auth.password.get_secret_value():
            ui.label("Set in the configuration (TAGMYPHOTOS_PASSWORD); change it there.").classes("text-sm")
            return
        with ui.element("form").classes("w-full flex flex-col gap-1") as form:
            current = ui.input("Current password", password=True).classes("w-full max-w-sm")
            new = ui.input("New password", password=True).classes("w-full max-w-sm")
        form.on("submit.prevent", lambda: None)
        current.props("autocomplete=current-password")
        new.props("autocomplete=new-password")

        async def change() -> None:
            changed = await frame.succeeded(
                auth.set_password,
                cfg,
                new.value or "",
                current.value or "",
                done="Password changed; log in again.",
            )
            if changed:  # every session ends with the old password: close their pages now
                session.end_pages(sparing=ui.context.client.id)
                ui.navigate.to("/logout")

        ui.button("Change password", on_click=change).props("flat dense")
