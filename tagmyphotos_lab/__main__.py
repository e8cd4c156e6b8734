"""`python -m tagmyphotos_lab NAME [options]`: one benchmark (tagmyphotos_lab/bench/NAME.py);
`python -m tagmyphotos_lab evaluate [--copies | --open-set | --takeout | --merge] [options]`: one
evaluation (tagmyphotos_lab/evaluate/); `python -m tagmyphotos_lab hard-copies [--out DIR]`: the
harder copies of the testdata photos.

Why a dispatcher and not one console script each: scripts/bench and scripts/evaluate stay the
documented commands, a line each, and a new benchmark is a new module in bench/ with a main().
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from collections.abc import Callable

from tagmyphotos_lab import bench

EVALUATIONS = {"--copies": "copies", "--open-set": "open_set", "--takeout": "takeout", "--merge": "merge"}
DEFAULT_EVALUATION = "match"


def benchmarks() -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules(bench.__path__))


def usage() -> str:
    names = "\n".join(f"  {n}" for n in benchmarks())
    flags = " | ".join(EVALUATIONS)
    return (f"usage: python -m tagmyphotos_lab NAME [options]; NAME is one of:\n{names}\n"
            f"       python -m tagmyphotos_lab evaluate [{flags}] [options]\n"
            "       python -m tagmyphotos_lab hard-copies [--out DIR]")  # fmt: skip


def entry(argv: list[str]) -> tuple[str, Callable[[], object], list[str]] | None:
    """The module's name, its main() and the arguments left for it; None when argv names nothing."""
    if not argv:
        return None
    name, rest = argv[0], argv[1:]
    if name == "evaluate":
        kind = EVALUATIONS.get(rest[0]) if rest else None
        module = f"tagmyphotos_lab.evaluate.{kind or DEFAULT_EVALUATION}"
        return f"evaluate {rest[0]}" if kind else "evaluate", importlib.import_module(module).main, rest[bool(kind) :]
    if name == "hard-copies":
        return name, importlib.import_module("tagmyphotos_lab.hard_copies").main, rest
    if name in benchmarks():
        return f"bench {name}", importlib.import_module(f"tagmyphotos_lab.bench.{name}").main, rest
    return None


def main(argv: list[str]) -> int:
    found = entry(argv)
    if found is None:
        print(usage(), file=sys.stderr)
        return 2
    prog, run, rest = found
    sys.argv = [f"scripts/{prog}", *rest]  # argparse's usage lines name the documented command
    code = run()
    return code if isinstance(code, int) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
