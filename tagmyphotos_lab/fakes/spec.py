"""Validate HTTP traffic against an OpenAPI 3 (Immich) or Swagger 2 (PhotoPrism) document.

Why jsonschema over the published specs: the fakes must reject exactly what the real servers
would reject (wrong path, method, parameter, body shape), so a client that passes against the
fakes speaks the real API. OpenAPI's `nullable` and boolean `exclusiveMinimum` are rewritten
into JSON Schema 2020-12; every `$ref` resolves inside the document through a registry.
"""

from __future__ import annotations

import copy
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from tagmyphotos_lab.paths import SHARED

SPECS_DIR = Path(
    os.environ.get("TAGMYPHOTOS_SPECS_DIR", SHARED / "specs")
)
IMMICH_SPEC = SPECS_DIR / "immich-openapi-specs.json"
PHOTOPRISM_SPEC = SPECS_DIR / "photoprism-swagger.json"
_URN = "urn:spec"
_PATTERN_CANDIDATES = ("x", "00:00", "0", "#000000", "0 0 * * *", "en", "a/b")
_SCALAR_KEYS = ("type", "enum", "format", "minimum", "maximum", "pattern", "items", "minLength", "maxLength")


def _to_json_schema(node: Any) -> Any:
    """OpenAPI schema dialect -> JSON Schema 2020-12 (nullable, boolean exclusive bounds)."""
    if isinstance(node, list):
        return [_to_json_schema(v) for v in node]
    if not isinstance(node, dict):
        return node
    new = {k: _to_json_schema(v) for k, v in node.items()}
    for bound, exclusive in (("minimum", "exclusiveMinimum"), ("maximum", "exclusiveMaximum")):
        if isinstance(new.get(exclusive), bool) and new.pop(exclusive) and bound in new:
            new[exclusive] = new.pop(bound)
    nullable = False
    for key in ("nullable", "x-nullable"):
        if isinstance(new.get(key), bool):
            nullable = new.pop(key) or nullable
    return {"anyOf": [new, {"type": "null"}]} if nullable else new


def pointer(*parts: str | int) -> str:
    """A JSON pointer from raw segments (escaped)."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


@dataclass
class Operation:
    method: str
    template: str
    ptr: str
    op: dict[str, Any]
    path_params: dict[str, str] = field(default_factory=dict)

    @property
    def operation_id(self) -> str:
        return str(self.op.get("operationId") or "")


class ApiSpec:
    """One API document: route matching, request/response validation, example instances."""

    def __init__(self, path: Path) -> None:
        raw = json.loads(path.read_text())
        self.openapi3 = "openapi" in raw
        self.doc = _to_json_schema(raw)
        self.base = raw["servers"][0]["url"].rstrip("/") if self.openapi3 else raw.get("basePath", "")
        resource = Resource.from_contents(self.doc, default_specification=DRAFT202012)
        self.registry: Registry = Registry().with_resource(_URN, resource)
        self._validators: dict[str, Draft202012Validator] = {}
        routes = []
        for template in self.doc["paths"]:
            regex = re.sub(r"\\\{([^}]+)\\\}", r"(?P<\1>[^/]+)", re.escape(template))
            regex = re.sub(r"\(\?P<([^>]+)>", lambda m: "(?P<" + re.sub(r"\W", "_", m.group(1)) + ">", regex)
            routes.append((template.count("{"), template, re.compile(regex + r"\Z")))
        self._routes = sorted(routes)  # literal paths win over templated ones

    # --- lookup --------------------------------------------------------------------------------

    def match(self, method: str, path: str) -> Operation | None:
        if not path.startswith(self.base):
            return None
        rel = path[len(self.base) :] or "/"
        for _, template, regex in self._routes:
            m = regex.match(rel)
            if m and method.lower() in self.doc["paths"][template]:
                names = re.findall(r"\{([^}]+)\}", template)
                params = dict(zip(names, m.groups(), strict=True))
                ptr = pointer("paths", template, method.lower())
                return Operation(
                    method.upper(), template, ptr, self.doc["paths"][template][method.lower()], params
                )
        return None

    def resolve(self, ptr: str) -> Any:
        return self.registry.resolver(_URN).lookup(_URN + "#" + quote(ptr, safe="/~")).contents

    # --- validation ----------------------------------------------------------------------------

    def validate(self, ptr: str, instance: Any) -> list[str]:
        """Schema errors of `instance` against the schema at JSON pointer `ptr` ([] = valid)."""
        if ptr not in self._validators:
            schema = {"$ref": _URN + "#" + quote(ptr, safe="/~")}
            self._validators[ptr] = Draft202012Validator(
                schema, registry=self.registry, format_checker=Draft202012Validator.FORMAT_CHECKER
            )
        errors = self._validators[ptr].iter_errors(instance)
        return [f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message[:300]}" for e in errors]

    def unknown_keys(self, ptr: str, instance: Any, where: str = "") -> list[str]:
        """Body keys the schema does not declare (the real servers whitelist their DTOs)."""
        schema = self.resolve(ptr)
        if "$ref" in schema:
            target = schema["$ref"].split("#", 1)[1]
            return self.unknown_keys(target, instance, where)
        for combo in ("anyOf", "allOf", "oneOf"):
            if combo in schema and instance is not None:
                first = next(i for i, s in enumerate(schema[combo]) if s.get("type") != "null")
                return self.unknown_keys(ptr + pointer(combo, first), instance, where)
        props = schema.get("properties")
        if (
            not isinstance(props, dict)
            or not isinstance(instance, dict)
            or schema.get("additionalProperties")
        ):
            return []
        out = [f"{where}{k}: not a property of this request body" for k in instance if k not in props]
        for key, value in instance.items():
            if key in props:
                out += self.unknown_keys(ptr + pointer("properties", key), value, f"{where}{key}.")
        return out

    def body_pointer(self, op: Operation) -> tuple[str | None, bool]:
        if self.openapi3:
            body = op.op.get("requestBody")
            if not body:
                return None, False
            return op.ptr + pointer("requestBody", "content", "application/json", "schema"), bool(
                body.get("required")
            )
        for i, param in enumerate(op.op.get("parameters", [])):
            if param.get("in") == "body":
                return op.ptr + pointer("parameters", i, "schema"), bool(param.get("required"))
        return None, False

    def check_request(
        self,
        op: Operation,
        query: dict[str, list[str]],
        headers: dict[str, str],
        body: bytes,
        body_ptr: str | None = None,
    ) -> list[str]:
        """Everything wrong with a request: parameters, content type, body schema, unknown keys."""
        errors: list[str] = []
        declared = {
            p["name"]: (i, p) for i, p in enumerate(op.op.get("parameters", [])) if p.get("in") == "query"
        }
        for name in query:
            if name not in declared:
                errors.append(f"query parameter {name!r} is not declared")
        for i, param in enumerate(op.op.get("parameters", [])):
            where = param.get("in")
            if where not in ("query", "path"):
                continue
            raw = op.path_params.get(param["name"]) if where == "path" else _first(query.get(param["name"]))
            if raw is None:
                if param.get("required"):
                    errors.append(f"{where} parameter {param['name']!r} is required")
                continue
            errors += [
                f"{where} parameter {param['name']}: {e}" for e in self._check_param(op, i, param, raw)
            ]
        ptr, required = (body_ptr, True) if body_ptr else self.body_pointer(op)
        if body and ptr is None:
            errors.append("this operation takes no request body")
        if ptr is not None:
            if not body:
                if required:
                    errors.append("request body is required")
                return errors
            if not headers.get("content-type", "").startswith("application/json"):
                errors.append(f"Content-Type must be application/json, got {headers.get('content-type')!r}")
            try:
                data = json.loads(body)
            except ValueError:
                return [*errors, "body is not valid JSON"]
            errors += [f"body {e}" for e in self.validate(ptr, data)]
            errors += [f"body {e}" for e in self.unknown_keys(ptr, data)]
        return errors

    def _check_param(self, op: Operation, index: int, param: dict[str, Any], raw: str) -> list[str]:
        if self.openapi3:
            ptr = op.ptr + pointer("parameters", index, "schema")
            schema = self.resolve(ptr)
            if "$ref" in schema:
                schema = self.resolve(schema["$ref"].split("#", 1)[1])
        else:
            ptr, schema = "", {k: param[k] for k in _SCALAR_KEYS if k in param}
        kind = schema.get("type") or next(
            (s.get("type") for s in schema.get("anyOf", []) if s.get("type") != "null"), "string"
        )
        value: Any = raw
        try:
            if kind == "integer":
                value = int(raw)
            elif kind == "number":
                value = float(raw)
            elif kind == "boolean":
                if raw not in ("true", "false"):
                    return [f"{raw!r} is not a boolean"]
                value = raw == "true"
        except ValueError:
            return [f"{raw!r} is not a {kind}"]
        if ptr:
            return self.validate(ptr, value)
        validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
        return [e.message for e in validator.iter_errors(value)]

    def response_pointer(self, op: Operation, status: int) -> tuple[bool, str | None]:
        """(is the status documented, pointer to its JSON schema or None for an empty body)."""
        responses = op.op.get("responses", {})
        if str(status) not in responses:
            return False, None
        if self.openapi3:
            content = responses[str(status)].get("content", {})
            if "application/json" not in content:
                return True, None
            return True, op.ptr + pointer("responses", str(status), "content", "application/json", "schema")
        if "schema" not in responses[str(status)]:
            return True, None
        return True, op.ptr + pointer("responses", str(status), "schema")

    # --- examples ------------------------------------------------------------------------------

    def example(self, ptr: str) -> Any:
        """A minimal valid instance of the schema at `ptr` (required properties only)."""
        value = self._example(self.resolve(ptr), 0)
        errors = self.validate(ptr, value)
        if errors:
            raise ValueError(f"generated example for {ptr} is invalid: {errors[:3]}")
        return value

    def _example(self, schema: dict[str, Any], depth: int) -> Any:
        if depth > 30:
            raise ValueError("schema nesting too deep for an example")
        if "$ref" in schema:
            return self._example(self.resolve(schema["$ref"].split("#", 1)[1]), depth + 1)
        for key in ("default", "example"):
            if key in schema:
                return copy.deepcopy(schema[key])
        if "enum" in schema:
            return schema["enum"][0]
        if "anyOf" in schema or "oneOf" in schema:
            options = schema.get("anyOf") or schema.get("oneOf") or []
            real = [s for s in options if s.get("type") != "null"]
            return self._example(real[0], depth + 1) if real else None
        if "allOf" in schema:
            merged: dict[str, Any] = {}
            for part in schema["allOf"]:
                merged.update(self._example(part, depth + 1) or {})
            return merged
        kind = schema.get("type", "object")
        if kind == "object":
            props = schema.get("properties", {})
            return {k: self._example(props[k], depth + 1) for k in schema.get("required", []) if k in props}
        if kind == "array":
            return [self._example(schema["items"], depth + 1) for _ in range(schema.get("minItems", 0))]
        if kind in ("integer", "number"):
            low = schema.get("minimum", 0)
            return max(low, 0) if schema.get("maximum", 1) >= 0 else low
        if kind == "boolean":
            return False
        fmt = schema.get("format")
        by_format = {
            "uuid": "00000000-0000-4000-8000-000000000000",
            "date-time": "2024-01-01T00:00:00.000Z",
            "date": "2024-01-01",
            "email": "admin@example.com",
        }
        if fmt in by_format:
            return by_format[fmt]
        if "pattern" in schema:
            regex = re.compile(schema["pattern"])
            for candidate in _PATTERN_CANDIDATES:
                if regex.search(candidate):
                    return candidate
        return "x" * max(schema.get("minLength", 0), 1)


def _first(values: list[str] | None) -> str | None:
    return values[0] if values else None
