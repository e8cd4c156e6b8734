"""Everything the CLI prints goes through `say`, which escapes terminal control characters.

Why one place: file names, person names and job errors are data from the library, other apps
and users. Printed raw, a file named with ESC sequences cleared the screen or recoloured the
listing of whoever ran `tagmyphotos photos` (issue 25, item 9), and a right-to-left override
reversed what followed it. Line breaks and tabs stay (they are the CLI's own layout); every
other control character and every bidi control is shown as a visible escape (`\\x1b`,
`\\u202e`), so the name is still readable and findable. JSON output needs nothing more:
`json.dumps` escapes control characters itself.
"""

from __future__ import annotations

import re
import sys
from typing import TextIO

# C0 and C1 controls except tab and newline, DEL, and the bidi embedding/override/isolate marks.
UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def escape_controls(text: str) -> str:
    """`text` with each unsafe character as a visible escape: '\\x1b', '\\u202e'."""
    return UNSAFE.sub(lambda m: f"\\x{ord(m[0]):02x}" if ord(m[0]) < 0x100 else f"\\u{ord(m[0]):04x}", text)


def say(text: object = "", *, err: bool = False, flush: bool = False) -> None:
    """Print one message of the CLI (stdout, or stderr with err) with control characters escaped."""
    stream: TextIO = sys.stderr if err else sys.stdout
    print(escape_controls(str(text)), file=stream, flush=flush)
