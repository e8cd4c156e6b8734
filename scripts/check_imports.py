"""Two house rules import-linter cannot state: no import cycle among project modules, and no
private (underscore) name imported across modules of the core.

Why a script of our own: import-linter's contracts speak of layers and forbidden imports; a
cycle between two modules of one layer (the kind that is kept alive by an import inside a
function) slips through them. grimp (import-linter's own graph, which also sees imports inside
functions) finds every strongly connected group of modules; the AST walk finds `from x import _y`.

    .venv/bin/python scripts/check_imports.py [--json]
"""

from __future__ import annotations

import ast
import json
import sys
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("tagmyphotos", "ui", "jobs", "integrations", "tagmyphotos_app", "tagmyphotos_lab")


def cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan, iterative)."""
    modules = sorted(graph.modules)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in modules:
        if root in index:
            continue
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.find_modules_directly_imported_by(child)))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    top = stack.pop()
                    on_stack.discard(top)
                    group.append(top)
                    if top == node:
                        break
                if len(group) > 1:
                    found.append(sorted(group))
    return found


def private_imports(package: str = "tagmyphotos") -> list[str]:
    """`from tagmyphotos.x import _name` across modules (a private package's __init__ may)."""
    out = []
    for path in sorted((ROOT / package).rglob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if not isinstance(node, ast.ImportFrom) or not node.module or node.level:
                continue
            if not node.module.startswith(PACKAGES):
                continue
            for alias in node.names:
                if alias.name.startswith("_") and not _same_private_package(path, node.module):
                    out.append(f"{path.relative_to(ROOT)}:{node.lineno}: from {node.module} import {alias.name}")
    return out


def _same_private_package(path: Path, module: str) -> bool:
    """Inside a private package (a folder named _x) its modules may share underscore names."""
    parts = module.split(".")
    here = path.relative_to(ROOT).with_suffix("").parts
    return any(p.startswith("_") and p in parts and p in here for p in parts if p != "__init__")


def main() -> int:
    sys.path.insert(0, str(ROOT))
    graph = grimp.build_graph(*PACKAGES, cache_dir=None, exclude_type_checking_imports=True)
    report = {"cycles": cycles(graph), "private_imports": private_imports()}
    if "--json" in sys.argv:
        print(json.dumps(report))
    else:
        for group in report["cycles"]:
            print("import cycle: " + " <-> ".join(group))
        for line in report["private_imports"]:
            print("private name imported across modules: " + line)
        print(f"{len(graph.modules)} modules: {len(report['cycles'])} import cycles, "
              f"{len(report['private_imports'])} private imports")
    return 1 if report["cycles"] or report["private_imports"] else 0


if __name__ == "__main__":
    sys.exit(main())
