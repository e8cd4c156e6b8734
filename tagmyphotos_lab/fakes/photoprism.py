"""Fake PhotoPrism: status, settings and index, validated against PhotoPrism's swagger document.

The swagger file documents POST /api/v1/index without a body; PhotoPrism binds it to its index
options ({"path", "rescan", ...}), whose documented shape is `customize.IndexSettings`, so the
fake validates the body against that definition (strictly: unknown keys are violations).
Authentication is `Authorization: Bearer <token>` or `X-Auth-Token: <token>`; indexing is
synchronous, so `index_delay_s` makes each index call take that long.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from tagmyphotos_lab.fakes.server import FakeServer, Recorded, Reply
from tagmyphotos_lab.fakes.spec import PHOTOPRISM_SPEC, ApiSpec

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
        self.photos: dict[str, dict[str, Any]] = {}
        self.subjects: dict[str, dict[str, Any]] = {}
        # A hostile or broken server, on request: "endless_photos": every page of the photo
        # search is full (the known photos again and again), so paging never ends by itself.
        self.misbehave: set[str] = set()

    # --- state helpers for tests ---------------------------------------------------------------

    def add_subject(self, name: str, hidden: bool = False) -> str:
        uid = "js" + uuid.uuid4().hex[:14]
        self.subjects[uid] = {"UID": uid, "Name": name, "Slug": name.lower().replace(" ", "-"), "Type": "person",
                              "Hidden": hidden, "Favorite": False, "Private": False, "Excluded": False,
                              "FileCount": 0, "PhotoCount": 0}  # fmt: skip
        return uid

    def add_photo(self, file_name: str, width: int = 4000, height: int = 3000) -> str:
        """A photo whose primary file is `file_name` (relative to originals)."""
        uid = "ps" + uuid.uuid4().hex[:14]
        folder, _, base = file_name.rpartition("/")
        primary = {"UID": "fs" + uuid.uuid4().hex[:14], "PhotoUID": uid, "Name": file_name, "Root": "/",
                   "Primary": True, "Width": width, "Height": height, "Markers": []}  # fmt: skip
        self.photos[uid] = {"UID": uid, "Path": folder, "Name": base.rsplit(".", 1)[0], "Files": [primary]}
        return uid

    def add_marker(self, photo_uid: str, box: tuple[float, float, float, float], subject: str | None = None,
                   invalid: bool = False) -> str:  # fmt: skip
        """A face marker (X, Y top-left, W, H normalized); named when it has a subject."""
        primary = self.photos[photo_uid]["Files"][0]
        uid = "ms" + uuid.uuid4().hex[:14]
        x, y, w, h = box
        name = self.subjects[subject]["Name"] if subject else ""
        primary["Markers"].append({"UID": uid, "FileUID": primary["UID"], "Type": "face", "Src": "image",
                                   "Name": name, "SubjUID": subject or "", "SubjSrc": "manual" if subject else "",
                                   "X": x, "Y": y, "W": w, "H": h, "Invalid": invalid, "Review": False,
                                   "Size": 200, "Score": 100, "Q": 50})  # fmt: skip
        return uid

    def _search_photo(self, photo: dict[str, Any]) -> dict[str, Any]:
        primary = photo["Files"][0]
        faces = sum(1 for mk in primary["Markers"] if mk["Type"] == "face" and not mk["Invalid"])
        return {"UID": photo["UID"], "Path": photo["Path"], "Name": photo["Name"], "FileName": primary["Name"],
                "FileRoot": "/", "FileUID": primary["UID"], "Faces": faces, "Type": "image",
                "Width": primary["Width"], "Height": primary["Height"]}  # fmt: skip

    @staticmethod
    def _page(rec: Recorded, items: list[Any]) -> list[Any]:
        count, offset = int(rec.query["count"][0]), int(rec.query.get("offset", ["0"])[0])
        return items[offset : offset + count]

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
        elif op.template == "/api/v1/subjects" and op.method == "GET":
            hidden = rec.query.get("hidden", ["no"])[0] == "yes"
            status, body = 200, self._page(rec, [s for s in self.subjects.values() if hidden or not s["Hidden"]])
        elif op.template == "/api/v1/photos" and op.method == "GET":
            found = [self._search_photo(p) for p in self.photos.values()]
            if "faces:yes" in rec.query.get("q", [""])[0]:
                found = [p for p in found if p["Faces"] > 0]
            if "endless_photos" in self.misbehave and found:
                count = int(rec.query["count"][0])
                found = [found[i % len(found)] for i in range(count)]
                status, body = 200, found
            else:
                status, body = 200, self._page(rec, found)
        elif op.template == "/api/v1/photos/{uid}" and op.method == "GET":
            photo = self.photos.get(op.path_params["uid"])
            if photo is None:
                return 404, self.error_body(404, "Photo not found")
            status, body = 200, photo
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
