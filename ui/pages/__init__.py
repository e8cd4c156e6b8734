"""The NiceGUI pages. `register_pages()` is called once by the composition root (web.serve)."""

from __future__ import annotations


def register_pages() -> None:
    """Register every page family (each module's `register()` declares its routes)."""
    from . import jobs, login, people, photo, review, settings, unknown, write

    for module in (login, review, unknown, people, photo, write, jobs, settings):
        module.register()
