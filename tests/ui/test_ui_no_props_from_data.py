"""No `.props()`, `.classes()` or `.style()` string in ui/ is built from data (issue 14, item 1).

NiceGUI parses such a string, and a `:name=` prop in it is evaluated as JavaScript; a photo
named `holiday :x="…" .jpg` ran code in the admin's browser through a test id built that way.
Values go through ui.frame.attrs (set as they are, never parsed); this test keeps it so.
"""

from __future__ import annotations

import ast

from nicegui import Client, ui
from nicegui.page import page

from tagmyphotos_app.web import mount  # noqa: F401  (the composition that adds the headers)
from tests.support.base import ROOT
from ui import frame
from ui.headers import add_nonce

UI = ROOT / "ui"


def _literal(node: ast.expr) -> bool:
    """A string the code spells out: constants, + of constants, a choice between constants, or a
    module CONSTANT."""
    if isinstance(node, ast.Constant):
        return True
    if isinstance(node, ast.BinOp):
        return _literal(node.left) and _literal(node.right)
    if isinstance(node, ast.IfExp):
        return _literal(node.body) and _literal(node.orelse)
    return isinstance(node, ast.Name) and node.id.isupper()


def test_no_props_classes_or_style_string_is_built_from_data() -> None:
    built = []
    for path in sorted(UI.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("props", "classes", "style")
                and node.args
                and not _literal(node.args[0])
            ):
                built.append(f"{path.relative_to(UI.parent)}:{node.lineno}: {ast.unparse(node)[:100]}")
    assert built == []


def test_attrs_and_test_ids_keep_a_hostile_value_as_text() -> None:
    hostile = 'holiday :x="window.__pwned=1" .jpg'
    # A client of its own: after another test ran the app, NiceGUI has no implicit one.
    with Client(page("/"), request=None) as client:
        element = frame.tid(ui.element("div"), f"restore-{hostile}")
    client.delete()
    assert dict(element.props) == {"data-testid": f"restore-{hostile}"}
    for key in (":x", "@click", "v-html", ""):
        try:
            frame.attrs(element, {key: "1"})
        except ValueError:
            continue
        raise AssertionError(f"{key!r} was accepted as an attribute name")


def test_every_script_tag_gets_the_nonce() -> None:
    page = b'<script type="importmap">{}</script><SCRIPT>x</SCRIPT><script\nsrc="a.js"></script><scripts>'
    out = add_nonce(page, "N1")
    assert out.count(b'nonce="N1"') == 3 and b"<scripts>" in out
