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

import sys
from typing import TextIO

from tagmyphotos.errors import escape_controls


def say(text: object = "", *, err: bool = False, flush: bool = False) -> None:
    """Print one message of the CLI (stdout, or stderr with err) with control characters escaped."""
    stream: TextIO = sys.stderr if err else sys.stdout
    print(escape_controls(str(text)), file=stream, flush=flush)
