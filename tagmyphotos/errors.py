"""The errors a person acting on the library can meet, shared by every layer.

Why here and not beside the code that raises them: the suggestion layer (clusters) and the review
layer (people, faces) raise the same NotFound, and the API, UI and CLI translate each class once
(400, 404, 409; CLI exit codes). Living at the bottom of the core, they create no import cycle.
"""

from __future__ import annotations

__all__ = ["Conflict", "NotFound", "PeopleError"]


class PeopleError(ValueError):
    """A request that cannot be done as asked (bad name, ...): the API answers 400."""


class NotFound(PeopleError):
    """No such person or face: the API answers 404, the CLI exits 3."""


class Conflict(PeopleError):
    """A well-formed request the library's current state refuses (the name belongs to someone
    else, the face was detected, nothing to undo, ...): the API answers 409."""
