"""Fake PhotoPrism: status, settings and index, validated against PhotoPrism's swagger document.

The swagger file documents POST /api/v1/index without a body; PhotoPrism binds it to its index
options ({"path", "rescan", ...}), whose documented shape is `customize.IndexSettings`, so the
fake validates the body against that definition (strictly: unknown keys are violations).
Authentication is `Authorization: Bearer <token>` or `X-Auth-Token: <token>`; indexing is
synchronous, so `index_delay_s` makes each index call take that long.
"""

from __future__ import annotations

import time
from typing import Any

from tests.fakes.server import FakeServer, Recorded, Reply
from tests.fakes.spec import PHOTOPRISM_SPEC, ApiSpec

INDEX_BODY = "/definitions/customize.IndexSettings"
PUBLIC = {("GET", "/api/v1/status"), ("GET", "/api/v1/config")}
_SPEC: ApiSpec | None = None


def photoprism_spec() -> ApiSpec:
    global _SPEC
    if _SPEC is None:
        _SPEC = ApiSpec(PHOTOPRISM_SPEC)
    return _SPEC


class FakePhotoPrism(FakeServer):
    def __init__(self, token: str = "pp-app-password-abcdef123456", index_delay_s: float = 0.0) -> None:
        super().__init__(name="photoprism")
        self.spec = photoprism_spec()
        self.token = token
        self.index_delay_s = index_delay_s
        self.indexed: list[dict[str, Any]] = []

    def error_body(self, status: int, message: str) -> Any:
        return {"code": status, "error": message}

    def _authorized(self, rec: Recorded) -> bool:
        bearer = rec.headers.get("authorization", "")
        return bearer == f"Bearer {self.token}" or rec.headers.get("x-auth-token") == self.token

    def dispatch(self, rec: Recorded) -> Reply:
        op = self.spec.match(rec.method, rec.path)
        if op is None:
            self.violations.append(f"{rec.method} {rec.path}: no such operation in the PhotoPrism spec")
            return 404, self.error_body(404, "Not found")
        if (op.method, op.template) not in PUBLIC and not self._authorized(rec):
            return 401, self.error_body(401, "Unauthorized")
        body_ptr = INDEX_BODY if op.template == "/api/v1/index" else None
        errors = self.spec.check_request(op, rec.query, rec.headers, rec.body, body_ptr=body_ptr)
        if errors:
            self.violations += [f"{op.method} {op.template}: {e}" for e in errors]
            return 400, self.error_body(400, "Bad request")
        body: Any
        if op.template == "/api/v1/status":
            status, body = 200, {"status": "operational"}
        elif op.template == "/api/v1/settings" and op.method == "GET":
            status, body = (
                200,
                {"index": {"path": "/", "rescan": False, "convert": True, "skipArchived": False}},
            )
        elif op.template == "/api/v1/index" and op.method == "POST":
            if self.index_delay_s:
                time.sleep(self.index_delay_s)
            self.indexed.append(rec.json)
            status, body = 200, {"code": 200, "message": "Indexing completed in 0 s"}
        else:
            self.violations.append(f"{op.method} {op.template}: not implemented by the fake")
            return 501, self.error_body(501, "not implemented by the fake")
        documented, ptr = self.spec.response_pointer(op, status)
        if documented and ptr is not None:
            self.violations += [f"fake response {op.template}: {e}" for e in self.spec.validate(ptr, body)]
        return status, body

    def indexed_paths(self) -> list[str]:
        return [str(b["path"]) for b in self.indexed]
