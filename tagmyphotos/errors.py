"""One family for every error the product raises, and what each means to the API and the CLI.

Why one base: the API answers an error with a status and a problem type, the CLI with a message
and an exit code. When each class carries those three facts, the API (ui.api.errors) and the CLI
(tagmyphotos_app.cli) translate the whole family in one place each, and a new error cannot be
forgotten by one of them. Errors with a 5xx status are the server's own failures: the API hides
their message (it logs it) and answers 500; the CLI prints the message and exits 1. The CLI
writes the sentence to stderr, and with --json also {"error": ...} to stdout.

The family (HTTP status / problem slug / exit code; a class's own stdlib base in brackets, kept so
that existing `except ValueError` and the like still catch it):

    TagMyPhotosError                    500 internal-error  1
    ├── PeopleError [ValueError]        400 refused         2  a request that cannot be done as asked
    │   ├── NotFound                    404 not-found       3  no such person, face, cluster
    │   └── Conflict                    409 conflict        2  the library's state refuses it
    ├── UndoError [ValueError]          409 cannot-undo     2  review.undo
    ├── AuthError [ValueError]          400 refused         2  system.auth
    ├── SettingsError [ValueError]      400 bad-setting     2  store.settings
    ├── ConfigError                     500 internal-error  2  config (the CLI: a usage problem)
    ├── PathRefused [ValueError]        400 bad-path        2  library.paths
    ├── PathNotFound [LookupError]      404 not-found       3  library.paths
    ├── FileProblem                     500                 1  library.probe
    ├── MalformedJpeg [ValueError]      500                 1  jpeg (handled where raised)
    ├── ImageError, DlibFormatError [ValueError],
    │   EngineUnavailableError, WeightsMissingError [RuntimeError]      500  1  faces
    ├── RawPreviewError, BackupError [RuntimeError] ── OutsideLibrary,
    │   WriteError, ExifToolError [RuntimeError], UnsafeArgument [ValueError]  500  1  metadata
    ├── UpgradeStopped [RuntimeError] ── SchemaTooNew, BackupFailed   500  1  store: the start refused
    ├── JobCancelled, JobLost (stages.runner), _ClaimLost (stages.analyze) 500  1  job control flow
    └── outer rooms: ApiProblem (any status it is given), BodyTooLarge 413 (ui.api),
        UnsignedMessage [ValueError] (jobs), IntegrationError, PathMapError [ValueError]
        (integrations)

tests/system/test_error_family.py walks every product module and checks that each exception class is in it.
Also here: `escape_controls`, how any message (CLI, log line, job note) quotes text from outside
(file names, names from other apps) so that it cannot drive a terminal.
"""

from __future__ import annotations

import re

__all__ = [
    "EXIT_FAILED",
    "EXIT_NOT_FOUND",
    "EXIT_USAGE",
    "Conflict",
    "NotFound",
    "PeopleError",
    "TagMyPhotosError",
    "escape_controls",
]

# The CLI's exit codes for errors (0 is success): the work ran but failed, bad usage or
# configuration, something named was not found.
EXIT_FAILED, EXIT_USAGE, EXIT_NOT_FOUND = 1, 2, 3

# C0 and C1 controls except tab and newline, DEL, and the bidi embedding/override/isolate marks.
UNSAFE_CHARS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def escape_controls(text: str) -> str:
    """`text` with each control or bidi character as a visible escape ('\\x1b', '\\u202e'):
    still readable and findable, never an instruction to a terminal (issue 25, item 9)."""
    return UNSAFE_CHARS.sub(lambda m: f"\\x{ord(m[0]):02x}" if ord(m[0]) < 0x100 else f"\\u{ord(m[0]):04x}", text)


class TagMyPhotosError(Exception):
    """The base of every product error: `str()` is a sentence for the user; the class says the
    HTTP status, the problem type's slug and the CLI exit code (see the module docstring)."""

    http_status: int = 500  # class attributes; an instance may set its own (ui.api's ApiProblem)
    slug: str = "internal-error"
    exit_code: int = EXIT_FAILED

    @property
    def public(self) -> bool:
        """Whether the API may show the message: a client's problem, not the server's own."""
        return self.http_status < 500

    def http_headers(self) -> dict[str, str]:
        """Extra response headers (Retry-After, Allow, WWW-Authenticate, ...); none by default."""
        return {}


class PeopleError(TagMyPhotosError, ValueError):
    """A request that cannot be done as asked (bad name, ...): the API answers 400."""

    http_status = 400
    slug = "refused"
    exit_code = EXIT_USAGE


class NotFound(PeopleError):
    """No such person or face: the API answers 404, the CLI exits 3."""

    http_status = 404
    slug = "not-found"
    exit_code = EXIT_NOT_FOUND


class Conflict(PeopleError):
    """A well-formed request the library's current state refuses (the name belongs to someone
    else, the face was detected, nothing to undo, ...): the API answers 409."""

    http_status = 409
    slug = "conflict"
