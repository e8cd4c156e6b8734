"""The schema of PATCH /settings: each editable key with the type and bounds of its value.

Why built from the Config model: the keys and their bounds are already declared there (pydantic
fields, `EDITABLE_PATTERNS`); building the schema from them keeps the documented contract and
the validation one thing. What pydantic's own schema leaves out (its field validators) is added
here, and `wrong_type` refuses a value whose JSON type differs from the schema's before pydantic
would coerce it (`0` is not `false`, `"7"` is not `7`).
"""

from __future__ import annotations

from functools import cache
from typing import Any

from tagmyphotos.config import Config
from tagmyphotos.store import settings as settings_store

from .schemas import LINE_PATTERN, TEXT_PATTERN

# Field validators of Config, said in the schema (tagmyphotos.config: http_url, _one_line).
_SPACE = r"\s\x1c-\x1f"  # white space as Python's str.isspace sees it (config.http_url refuses it)
_URL = {
    "type": "string",
    "pattern": rf"^[{_SPACE}]*(?:|[hH][tT][tT][pP][sS]?://(?:[^@/?#{_SPACE}]*@)?[^:/?#@\[\]{_SPACE}]"
    rf"[^/?#{_SPACE}]*(?:[/?#][^{_SPACE}]*)?)[{_SPACE}]*$",
}
_EXTRA: dict[str, dict[str, Any]] = {
    "write.keyword_prefix": {"maxLength": 100, "pattern": LINE_PATTERN},
}
_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,), "integer": (int,), "number": (int, float), "boolean": (bool,), "array": (list,),
    "object": (dict,), "null": (type(None),),
}  # fmt: skip


def _resolve(node: Any, defs: dict[str, Any]) -> Any:
    """The node with every $ref replaced by its definition (Config's schema has no cycles)."""
    if isinstance(node, list):
        return [_resolve(item, defs) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        return _resolve(defs[node["$ref"].rsplit("/", 1)[-1]], defs)
    return {k: _resolve(v, defs) for k, v in node.items() if k not in ("title", "default")}


def _leaves(node: dict[str, Any], prefix: str) -> dict[str, dict[str, Any]]:
    """Dotted key -> value schema, walking the nested sections as settings.all_keys does."""
    out: dict[str, dict[str, Any]] = {}
    for name, child in node.get("properties", {}).items():
        dotted = f"{prefix}{name}"
        if "properties" in child:
            out.update(_leaves(child, dotted + "."))
        else:
            out[dotted] = child
    return out


@cache
def value_schemas() -> dict[str, dict[str, Any]]:
    """Each editable key's value schema."""
    full = Config.model_json_schema()
    leaves = _leaves(_resolve(full, full.get("$defs", {})), "")
    out = {}
    for key, schema in sorted(leaves.items()):
        if not settings_store.is_editable(key):
            continue
        if key.endswith(".url"):
            schema = dict(_URL)
        out[key] = {**schema, **_EXTRA.get(key, {})}
    return out


def changes_schema() -> dict[str, Any]:
    return {"type": "object", "properties": value_schemas(), "additionalProperties": False,
            "propertyNames": {"pattern": TEXT_PATTERN}}  # fmt: skip


def reset_schema() -> dict[str, Any]:
    return {"type": "array", "items": {"enum": list(value_schemas())}}


def _json_type_ok(value: Any, schema: dict[str, Any]) -> bool:
    if "anyOf" in schema:
        return any(_json_type_ok(value, option) for option in schema["anyOf"])
    types = schema.get("type")
    if types is None:
        return True
    names = types if isinstance(types, list) else [types]
    for name in names:
        kinds = _JSON_TYPES.get(name, (object,))
        if isinstance(value, bool) and name not in ("boolean",):
            continue
        if name == "integer" and isinstance(value, float) and value.is_integer():
            return True
        if isinstance(value, kinds):
            item = schema.get("items") or schema.get("additionalProperties")
            values = value if isinstance(value, list) else value.values() if isinstance(value, dict) else []
            return not isinstance(item, dict) or all(_json_type_ok(v, item) for v in values)
    return False


def wrong_type(changes: dict[str, Any]) -> str | None:
    """The first change whose value has another JSON type than its key's schema (or None)."""
    schemas = value_schemas()
    for key, value in changes.items():
        if key in schemas and not _json_type_ok(value, schemas[key]):
            return f"{key}: {value!r} is not a value of type {schemas[key].get('type', 'this setting')}"
    return None
