"""The one page frame every page shares: header with counts, nav drawer, dark mode, login gate.

Why a decorator instead of a layout function each page calls: the login check, the page title
and the frame are then impossible to forget, and pages only build their own content.
"""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar, cast
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import RedirectResponse
from nicegui import app, run, ui

from tagmyphotos.core import Core
from tagmyphotos.review.queries import header_counts

from .components import session

log = logging.getLogger("tagmyphotos.ui")

T = TypeVar("T")

# (label, path, icon) of the main navigation, in the order a user works through them.
NAV: tuple[tuple[str, str, str], ...] = (
    ("Review", "/", "fact_check"),
    ("Unknown faces", "/unknown", "face_retouching_off"),
    ("People", "/people", "groups"),
    ("Photos", "/photos", "photo_library"),
    ("Teach", "/teach", "school"),
    ("Write", "/write", "save_as"),
    ("Jobs", "/jobs", "work_history"),
    ("Settings", "/settings", "settings"),
)

# Header counts refresh this often (seconds): two index-only COUNTs per refresh. Actions on a
# page refresh them at once (`counts_changed`), so the timer only catches background jobs.
COUNTS_REFRESH_S = 5.0
# Quasar's palette, darkened where white text on it was below WCAG AA (4.5:1): primary #1565c0
# is 5.8:1 with white (Quasar's #1976d2: 4.6:1), positive #2e7d32 5.1:1 (Quasar's #21ba45: 2.6:1).
COLORS = {"primary": "#1565c0", "positive": "#2e7d32", "negative": "#c10015", "info": "#01579b",
          "warning": "#f2c037"}  # fmt: skip
THEME_CSS = Path(__file__).parent / "static" / "theme.css"


def core() -> Core:
    """The process Core (mounted on the app by tagmyphotos_app.web.mount)."""
    return app.state.core  # type: ignore[no-any-return]


def page(path: str, title: str, *, public: bool = False) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a NiceGUI page at `path` with the shared frame; unless public, behind the login."""

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        own = inspect.signature(func).parameters
        wants_request = "request" in own

        @functools.wraps(func)
        async def builder(request: Request, **kwargs: Any) -> Any:
            if not public:
                gate = session.gate(request)
                if gate is not None:
                    target = gate if gate != "/login" else f"/login?next={quote(str(request.url.path))}"
                    return RedirectResponse(target)
                session.bind(ui.context.client, request)
            args = {k: v for k, v in kwargs.items() if k in own}
            if wants_request:
                args["request"] = request
            if public:
                _bare_frame()
            else:
                _frame(title, path)
            with ui.column().classes("w-full max-w-screen-xl mx-auto p-2 sm:p-4 gap-3"):
                result = func(**args)
                if inspect.isawaitable(result):
                    result = await result
            return result

        params = [inspect.Parameter("request", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Request)]
        params += [p for name, p in own.items() if name != "request"]
        builder.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
        ui.page(path, title=f"{title} · Tag My Photos")(builder)
        return func

    return decorate


def _dark_mode() -> ui.dark_mode:
    stored = app.storage.user.get("dark")
    return ui.dark_mode(stored, on_change=lambda e: app.storage.user.update(dark=e.value))


def _theme() -> ui.dark_mode:
    ui.colors(**COLORS)
    ui.add_css(THEME_CSS.read_text())
    return _dark_mode()


def _bare_frame() -> None:
    _theme()


def _frame(title: str, path: str) -> None:
    dark = _theme()
    toggle_dark = lambda: dark.set_value(not dark.value)  # noqa: E731
    with ui.header(elevated=True).classes("items-center gap-2 px-2 py-1 bg-primary no-wrap"):
        menu = ui.button(icon="menu").props("flat round color=white aria-label=Menu")
        ui.label("Tag My Photos").classes("text-lg font-medium whitespace-nowrap")
        ui.label(f"· {title}").classes("text-lg gt-sm whitespace-nowrap")
        ui.space()
        _counts()
        with ui.row().classes("gt-xs no-wrap gap-0"):  # on a phone these two are in the drawer
            ui.button(icon="dark_mode", on_click=toggle_dark).props(
                "flat round color=white aria-label='Dark mode'"
            ).tooltip("Dark mode")
            ui.button(icon="logout", on_click=lambda: ui.navigate.to("/logout")).props(
                "flat round color=white aria-label=Logout"
            ).tooltip("Log out")
    drawer = ui.left_drawer(value=None, bordered=True).props("width=210 breakpoint=900")
    with drawer, ui.list().classes("w-full"):
        for label, target, icon in NAV:
            active = target == path or (target != "/" and path.startswith(target))
            item = ui.item(on_click=functools.partial(ui.navigate.to, target)).props("clickable")
            with attrs(item, {"aria-label": label}).classes(
                "rounded" + (" bg-blue-1 text-primary dark:bg-blue-10" if active else "")
            ):
                with ui.item_section().props("avatar"):
                    ui.icon(icon)
                ui.item_section(label)
        ui.separator().classes("xs")
        for label, icon, action in (("Dark mode", "dark_mode", toggle_dark),
                                    ("Log out", "logout", lambda: ui.navigate.to("/logout"))):  # fmt: skip
            with ui.item(on_click=action).classes("xs").props("clickable"):
                with ui.item_section().props("avatar"):
                    ui.icon(icon)
                ui.item_section(label)
    menu.on_click(drawer.toggle)


def _counts() -> None:
    """Chips with what is left to do; they refresh on a timer, never block the page."""
    with ui.row().classes("items-center gap-1 no-wrap"):
        review = ui.chip("…", icon="fact_check", on_click=lambda: ui.navigate.to("/")).props(
            "dense color=white text-color=primary"
        )
        unknown = ui.chip("…", icon="help_outline", on_click=lambda: ui.navigate.to("/unknown")).props(
            "dense color=white text-color=primary"
        )
        for chip in (review, unknown):
            attrs(chip, {"role": "link"})
        review.tooltip("Suggested names waiting for review")
        unknown.tooltip("Faces nobody has named yet")

    async def refresh() -> None:
        try:
            counts = await io(header_counts)
        except Exception:  # counts are decoration; the page stays usable without them
            log.debug("header counts failed", exc_info=True)
            return
        if not counts:  # the app is shutting down
            return
        review.text = f"{counts.suggested:,}"
        unknown.text = f"{counts.unknown:,}"
        # a screen reader says what the number counts, not the icon's name ("help_outline 7")
        attrs(review, {"aria-label": plural(counts.suggested, "suggestion") + " to review"})
        attrs(unknown, {"aria-label": plural(counts.unknown, "unknown face")})

    app.storage.client["refresh_counts"] = refresh
    ui.timer(COUNTS_REFRESH_S, refresh, immediate=True)


def counts_changed() -> None:
    """An action changed what is left to do: the header counts refresh now, not at the next tick."""
    refresh: Callable[[], Awaitable[None]] | None = app.storage.client.get("refresh_counts")
    if refresh is not None:
        ui.timer(0, refresh, once=True)


async def io(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """`run.io_bound`, typed: its None means "the app is shutting down", never a result here."""
    return cast(T, await run.io_bound(fn, *args, **kwargs))


async def call(fn: Callable[..., T], *args: Any, done: str | None = None, **kwargs: Any) -> T | None:
    """Run a service call off the event loop; show its error instead of swallowing it.

    Returns the call's result, or None when it failed (the user has seen why). For calls
    that return None themselves, use `succeeded`.
    """
    ok, result = await _attempt(fn, *args, done=done, **kwargs)
    return result if ok else None


async def succeeded(fn: Callable[..., Any], *args: Any, done: str | None = None, **kwargs: Any) -> bool:
    """Like `call`, for calls whose result does not matter: True when it worked."""
    ok, _ = await _attempt(fn, *args, done=done, **kwargs)
    return ok


async def _attempt(fn: Callable[..., T], *args: Any, done: str | None, **kwargs: Any) -> tuple[bool, T | None]:
    try:
        result = await io(fn, *args, **kwargs)
    except Exception as exc:
        log.warning("%s failed: %s", getattr(fn, "__name__", fn), exc, exc_info=True)
        ui.notify(_message(exc), type="negative", multi_line=True, close_button=True)
        return False, None
    if done:
        ui.notify(done, type="positive")
    return True, result


def _message(exc: Exception) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text if len(text) < 400 else text[:400] + "…"


def empty_state(icon: str, title: str, hint: str, action: tuple[str, Callable[[], Any]] | None = None) -> None:
    """An empty page that says what to do next, never a blank area."""
    with ui.column().classes("w-full items-center text-center py-12 gap-2 text-grey-7 dark:text-grey-5"):
        ui.icon(icon, size="3rem")
        ui.label(title).classes("text-lg font-medium")
        ui.label(hint).classes("max-w-xl")
        if action is not None:
            ui.button(action[0], on_click=action[1]).props("unelevated color=primary")


E = TypeVar("E", bound=ui.element)


def tid(element: E, name: str) -> E:
    """Name an element for tests: a NiceGUI marker (simulated user) and data-testid (browser)."""
    element.mark(name)
    return attrs(element, {"data-testid": name})


def attrs(element: E, values: Mapping[str, object]) -> E:
    """Set props to values as they are. Never build a `.props()`/`.classes()`/`.style()` string
    from data: NiceGUI parses it, and a `:name=` prop in it is evaluated as JavaScript (a file
    named `a :x="…" .jpg` was code in the admin's browser). Keys are ours, values are data."""
    for key, value in values.items():
        if not key or key.startswith((":", "@", "v-")):
            raise ValueError(f"{key!r} is not a plain attribute name")
        element.props[key] = value
    return element


def plural(n: int, word: str, many: str | None = None) -> str:
    """'1 face', '2 faces', '1 person', '3 people' (with `many`): counts the user reads."""
    return f"{n:,} {word if n == 1 else (many or word + 's')}"


def section(title: str, caption: str | None = None) -> None:
    with ui.column().classes("gap-0"):
        ui.label(title).classes("text-xl font-medium")
        if caption:
            ui.label(caption).classes("text-sm text-grey-7 dark:text-grey-5")
