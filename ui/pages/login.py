"""Login and the first-run screen (explains what will happen, checks the library, sets a password)."""

from __future__ import annotations

import asyncio
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import RedirectResponse
from nicegui import app, ui

from jobs.tasks import start_job
from tagmyphotos.config import Config
from tagmyphotos.store import jobs as jobs_store
from tagmyphotos.store import settings as settings_store
from tagmyphotos.store.jobs import JobView
from tagmyphotos.system import auth

from .. import frame
from ..components import session
from ..components.library_check import LibraryCheck, check_library

# A wrong password costs the caller this long (seconds): slows guessing, unnoticeable to a user.
FAILED_LOGIN_DELAY_S = 1.0

STEPS = (
    ("search", "Scan", "Finds the photos in your library. Files are only read; nothing is moved or renamed."),
    ("face", "Analyse", "Finds faces on this machine's CPU (no cloud). A large library takes hours; "
     "you can review as results arrive."),
    ("fact_check", "Review", "Name a few faces; Tag My Photos then suggests names for the rest. "
     "You accept or reject them."),
    ("save_as", "Write", "Writes the accepted names into the photos' metadata (or sidecars), with a "
     "backup and a check of every file, so it can be restored."),
)  # fmt: skip


# What "Name and write sure faces by themselves" turns on (Settings: Naming without you).
UNATTENDED = {"review.auto_accept": "sure", "write.auto": "after_match"}


def register() -> None:
    app.get("/login/complete", include_in_schema=False)(_complete)
    app.get("/logout", include_in_schema=False)(_logout)

    @frame.page("/login", "Log in", public=True)
    async def login_page(request: Request, next: str = "/", expired: str = "") -> RedirectResponse | None:
        cfg = frame.core().cfg
        if not await frame.io(auth.password_is_set, cfg):
            return RedirectResponse("/welcome")
        if session.principal(request) is not None:
            return RedirectResponse(session.safe_next(next))
        with ui.card().classes("w-full max-w-sm mx-auto mt-16 gap-3"):
            ui.label("Tag My Photos").classes("text-2xl font-medium")
            if expired:
                ui.label("That login link expired; please log in again.").classes("text-warning text-sm")
            with ui.element("form").classes("w-full") as form:
                password = frame.tid(ui.input("Password", password=True, password_toggle_button=True), "password")
            form.on("submit.prevent", lambda: None)
            password.props("autofocus outlined autocomplete=current-password").classes("w-full")
            error = ui.label().classes("text-negative text-sm")

            client = auth.client_address(cfg, request.client.host if request.client else None,
                                         request.headers.get("x-forwarded-for"))  # fmt: skip

            async def submit() -> None:
                attempt = await frame.io(auth.attempt_login, cfg, password.value or "", client)
                if not attempt.ok:
                    await asyncio.sleep(FAILED_LOGIN_DELAY_S)
                    error.set_text(attempt.message)
                    password.set_value("")
                    return
                _finish_login(next)

            password.on("keydown.enter", submit)
            frame.tid(ui.button("Log in", on_click=submit), "login").props("unelevated color=primary").classes("w-full")
        return None

    @frame.page("/welcome", "Welcome", public=True)
    async def welcome_page() -> RedirectResponse | None:
        cfg = frame.core().cfg
        if await frame.io(auth.password_is_set, cfg):
            return RedirectResponse("/login")
        with ui.column().classes("w-full max-w-2xl mx-auto gap-4"):
            ui.label("Welcome to Tag My Photos").classes("text-2xl font-medium")
            ui.label("It finds the faces in your photos, helps you name them quickly, and writes the "
                     "names into the photos so every photo app can see them.")  # fmt: skip
            with ui.card().classes("w-full").props("flat bordered"):
                for icon, title, text in STEPS:
                    with ui.row().classes("items-start no-wrap gap-3"):
                        ui.icon(icon, size="1.5rem").classes("text-primary")
                        with ui.column().classes("gap-0"):
                            ui.label(title).classes("font-medium")
                            ui.label(text).classes("text-sm")
            checked = await frame.io(check_library, cfg)
            _library_card(checked)
            first_scan = await frame.io(_first_scan)
            _first_scan_card(first_scan, checked)
            unattended = _unattended_card()
            _password_card(cfg, checked, first_scan, unattended)
        return None


def _library_card(check: LibraryCheck) -> None:
    with frame.tid(ui.card(), "library-check").classes("w-full gap-1").props("flat bordered"):
        ui.label("Your library").classes("font-medium")
        ui.label(check.path).classes("font-mono text-sm break-all")
        if check.photos_seen:
            more = "" if check.sample_complete else "+"
            ui.label(f"✓ {check.photos_seen}{more} photos found").classes("text-positive")
        for problem in check.problems:
            ui.label(problem).classes("text-sm " + ("text-negative" if not check.ok else "text-warning"))


def _first_scan() -> JobView | None:
    """The scan the server started by itself (its schedule runs one at start), if any."""
    found = jobs_store.recent_jobs(1, "scan")
    return found[0] if found else None


def _first_scan_card(scan: JobView | None, check: LibraryCheck) -> None:
    with frame.tid(ui.card(), "first-scan").classes("w-full gap-1").props("flat bordered"):
        ui.label("First scan").classes("font-medium")
        if scan is not None:
            ui.label(f"Already {'finished' if scan.state == 'done' else scan.state}: the server scans the library "
                     "on its own. After you save, the Jobs page shows how the face analysis is "
                     "going.").classes("text-sm")  # fmt: skip
        elif check.ok:
            ui.label("Starts when you save; the Jobs page then shows how it is going.").classes("text-sm")
        else:
            ui.label("Waits until the library above can be read.").classes("text-sm")


def _unattended_card() -> ui.checkbox:
    """The first-run question of issue 26: may the product name and write by itself?"""
    with frame.tid(ui.card(), "unattended").classes("w-full gap-1").props("flat bordered"):
        ui.label("Naming without you").classes("font-medium")
        ui.label("Once you have named 2 or more photos of someone, new photos of them can be named and written "
                 "into the files without a click, where Tag My Photos is sure (none of 11,000 such test "
                 "suggestions was wrong). Every run is listed on the Review page and undone there in one "
                 "click, files included. You can change this in Settings.").classes("text-sm")  # fmt: skip
        return frame.tid(ui.checkbox("Name and write sure faces by themselves"), "unattended-on")


def _password_card(cfg: Config, check: LibraryCheck, scan: JobView | None, unattended: ui.checkbox) -> None:
    with ui.card().classes("w-full gap-2").props("flat bordered"):
        ui.label("Choose a password for this page").classes("font-medium")
        ui.label(f"At least {auth.MIN_PASSWORD_CHARS} characters. You can also set it with the "
                 "TAGMYPHOTOS_PASSWORD environment variable.").classes("text-sm")  # fmt: skip
        # a form, so password managers and screen readers know what these fields are
        with ui.element("form").classes("w-full flex flex-col gap-2") as form:
            first = frame.tid(ui.input("Password", password=True, password_toggle_button=True), "new-password")
            second = frame.tid(ui.input("Repeat password", password=True), "repeat-password")
        form.on("submit.prevent", lambda: None)
        for field in (first, second):
            field.props("outlined autocomplete=new-password").classes("w-full")
        error = ui.label().classes("text-negative text-sm")

        async def save() -> None:
            if (first.value or "") != (second.value or ""):
                error.set_text("The two passwords differ.")
                return
            try:
                await frame.io(auth.set_password, cfg, first.value or "")
            except auth.AuthError as exc:
                error.set_text(str(exc).capitalize() + ".")
                return
            if unattended.value:
                saved = await frame.call(settings_store.save_changes, frame.core().cfg, UNATTENDED)
                if saved is not None:
                    frame.core().cfg = saved[0]
            target = "/jobs" if scan is not None else "/"
            if check.ok and await frame.io(_first_scan) is None:  # one first scan, never a second
                job_id = await frame.call(start_job, "scan")
                target = "/jobs" if job_id is not None else "/"
            _finish_login(target)

        second.on("keydown.enter", save)
        frame.tid(ui.button("Save and start", on_click=save), "save-password").props("unelevated color=primary")


def _finish_login(next_path: str) -> None:
    ticket = session.issue_ticket()
    ui.navigate.to("/login/complete?" + urlencode({"ticket": ticket, "next": session.safe_next(next_path)}))


def _complete(request: Request, ticket: str = "", next: str = "/") -> RedirectResponse:
    return session.complete_login(request, ticket, next)


async def _logout(request: Request) -> RedirectResponse:  # async: on the loop that owns the pages
    return session.logout_response(request)
