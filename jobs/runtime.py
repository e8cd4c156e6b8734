"""The Core that tasks in this process use, installed once by the composition root.

Tasks receive only job ids (never objects); they look up the process's Core here.
"""

from __future__ import annotations

from tagmyphotos.core import Core

_core: Core | None = None


def install(core: Core | None) -> None:
    global _core
    _core = core


def core() -> Core:
    if _core is None:
        raise RuntimeError("no Core installed in this process: start it through the tagmyphotos CLI")
    return _core
