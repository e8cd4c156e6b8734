"""The errors a person acting on the library can meet, shared by every layer.

Why here and not beside the code that raises them: the suggestion layer (clusters) and the review
layer (people, faces) raise the same NotFound, and the API, UI and CLI translate each class once
(400, 404, 409; CLI exit codes). Living at the bottom of the core, they create no import cycle.
Also here: `escape_controls`, how any message (CLI, log line, job note) quotes text from outside
(file names, names from other apps) so that it cannot drive a terminal.
"""

from __future__ import annotations

import re

__all__ = ["Conflict", "NotFound", "PeopleError", "escape_controls"]

# C0 and C1 controls except tab and newline, DEL, and the bidi embedding/override/isolate marks.
UNSAFE_CHARS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def escape_controls(text: str) -> str:
    """`text` with each control or bidi character as a visible escape ('\\x1b', '\\u202e'):
    still readable and findable, never an instruction to a terminal (issue 25, item 9)."""
    return UNSAFE_CHARS.sub(lambda m: f"\\x{ord(m[0]):02x}" if ord(m[0]) < 0x100 else f"\\u{ord(m[0]):04x}", text)


class PeopleError(ValueError):
    """A request that cannot be done as asked (bad name, ...): the API answers 400."""


class NotFound(PeopleError):
    """No such person or face: the API answers 404, the CLI exits 3."""


class Conflict(PeopleError):
    """A well-formed request the library's current state refuses (the name belongs to someone
    else, the face was detected, nothing to undo, ...): the API answers 409."""
