"""The last touches on the generated OpenAPI document, so that it says what the server does.

Why a pass over the document instead of per-route declarations: three promises hold for every
route at once and FastAPI has no place to say them once.
- Problems are `application/problem+json` (FastAPI files a response model under
  `application/json`); the document says the media type that is sent.
- The API refuses a NUL character anywhere in a request (ui.api.body_checks: PostgreSQL stores none),
  so every request string says so with a pattern (where it has none that already excludes it).
- Resources made by one call are used by the next: OpenAPI links (a started job -> its cancel and
  events, the audit list -> one audit entry, the conflict list -> its decision) let clients and
  the contract fuzzer (tests/api/test_contract_fuzz.py) follow them.
"""

from __future__ import annotations

from typing import Any

from .problems import PROBLEM_MEDIA_TYPE
from .schemas import API_PREFIX, TEXT_PATTERN

_REF = "#/components/schemas/"
# (path, method, status) of the answer -> link name -> (operationId of the target, its parameters)
LINKS: dict[tuple[str, str, str], dict[str, tuple[str, dict[str, str]]]] = {
    ("/jobs", "post", "202"): {
        "GetJob": ("get_job", {"job_id": "$response.body#/id"}),
        "CancelJob": ("cancel_job", {"job_id": "$response.body#/id"}),
        "JobEvents": ("job_events", {"job_id": "$response.body#/id"}),
    },
    ("/writes", "post", "202"): {
        "GetJob": ("get_job", {"job_id": "$response.body#/id"}),
        "CancelJob": ("cancel_job", {"job_id": "$response.body#/id"}),
    },
    ("/writes/audit", "get", "200"): {
        "AuditEntry": ("audit_entry", {"audit_id": "$response.body#/items/0/id"}),
    },
    ("/imports/conflicts", "get", "200"): {
        "DecideConflict": ("decide", {"conflict_id": "$response.body#/items/0/id"}),
    },
    ("/people", "post", "201"): {
        "GetPerson": ("get_person", {"person_id": "$response.body#/id"}),
        "ChangePerson": ("change_person", {"person_id": "$response.body#/id"}),
        "PersonFaces": ("person_faces", {"person_id": "$response.body#/id"}),
        "DeletePerson": ("delete_person", {"person_id": "$response.body#/id"}),
    },
    ("/keys", "post", "201"): {
        "GetKey": ("get_key", {"key_id": "$response.body#/key/id"}),
        "RevokeKey": ("revoke_key", {"key_id": "$response.body#/key/id"}),
    },
}


def finish(schema: dict[str, Any]) -> dict[str, Any]:
    """The document with problem media types, NUL-free request strings and links (in place)."""
    components = schema.get("components", {}).get("schemas", {})
    operation_ids = _short_operation_ids(schema)
    for path, methods in schema.get("paths", {}).items():
        for method, operation in methods.items():
            for status, response in operation.get("responses", {}).items():
                _problem_media_type(response)
                links = LINKS.get((path.removeprefix(API_PREFIX), method, status))
                if links:
                    response["links"] = {
                        name: {"operationId": operation_ids[target], "parameters": params}
                        for name, (target, params) in links.items()
                    }
            for parameter in operation.get("parameters", []):
                _no_nul(parameter.get("schema", {}), components, set())
            for media in operation.get("requestBody", {}).get("content", {}).values():
                _no_nul(media.get("schema", {}), components, set())
    return schema


def _short_operation_ids(schema: dict[str, Any]) -> dict[str, str]:
    """Function name -> FastAPI's operationId (`get_job_api_v1_jobs__job_id__get`)."""
    ids: dict[str, str] = {}
    for path, methods in schema.get("paths", {}).items():
        for method, operation in methods.items():
            op_id = operation.get("operationId", "")
            suffix = "".join(c if c.isalnum() else "_" for c in path) + "_" + method
            ids[op_id.removesuffix(suffix)] = op_id
    return ids


def _problem_media_type(response: dict[str, Any]) -> None:
    content = response.get("content", {})
    if PROBLEM_MEDIA_TYPE in content and "application/json" in content:
        content[PROBLEM_MEDIA_TYPE] = content.pop("application/json")


def _no_nul(node: Any, components: dict[str, Any], seen: set[str]) -> None:
    """Give every string of a request schema a NUL-free pattern; the same for object keys."""
    if isinstance(node, list):
        for item in node:
            _no_nul(item, components, seen)
        return
    if not isinstance(node, dict):
        return
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith(_REF) and ref not in seen:
        seen.add(ref)
        _no_nul(components.get(ref.removeprefix(_REF)), components, seen)
    types = node.get("type")
    is_string = types == "string" or (isinstance(types, list) and "string" in types)
    if is_string and "pattern" not in node and node.get("format") != "binary" and "enum" not in node:
        node["pattern"] = TEXT_PATTERN
    extra = node.get("additionalProperties", False)
    if node.get("type") == "object" and extra is not False and "propertyNames" not in node:
        node["propertyNames"] = {"pattern": TEXT_PATTERN}
    for key, child in node.items():
        if key in ("properties", "$defs"):
            for sub in child.values():
                _no_nul(sub, components, seen)
        elif key in ("items", "additionalProperties", "anyOf", "oneOf", "allOf", "not", "propertyNames"):
            _no_nul(child, components, seen)
