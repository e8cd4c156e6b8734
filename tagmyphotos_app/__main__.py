"""`python -m tagmyphotos_app` is the `tagmyphotos` command."""

import sys

from .cli import main

sys.exit(main())
