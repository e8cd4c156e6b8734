"""The NiceGUI pages. `register_pages()` is called once by the composition root (web.serve)."""

from __future__ import annotations


def register_pages() -> None:
    """Register every page family (each module's `register()` declares its routes)."""
    from . import jobs, login, people, photo, photos, review, settings, teach, unknown, write

    for module in (login, review, unknown, people, photos, photo, teach, write, jobs, settings):
        module.register()
