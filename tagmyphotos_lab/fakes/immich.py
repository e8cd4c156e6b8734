"""Fake Immich: the endpoints our client uses, validated against Immich's OpenAPI document.

Every request is matched to an operation of the spec (unknown path or method = violation),
its parameters and JSON body are validated (unknown body keys too), the x-api-key header is
checked, the key's permissions are enforced from the operation's x-immich-permission, and
every answer is validated against the documented response schema. Semantics follow Immich:
originalPath search is a case-insensitive LIKE with % and _ wildcards, paged with nextPage;
access failures are 400 "Not found or no ... access"; face deletion without force is soft.
"""

from __future__ import annotations

import json
import re
import unicodedata
import uuid
from typing import Any

from tagmyphotos_lab.fakes.server import FakeServer, Recorded, Reply
from tagmyphotos_lab.fakes.spec import IMMICH_SPEC, ApiSpec

_SPEC: ApiSpec | None = None


def immich_spec() -> ApiSpec:
    global _SPEC
    if _SPEC is None:
        _SPEC = ApiSpec(IMMICH_SPEC)
    return _SPEC


def _unaccent(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def like_regex(pattern: str) -> re.Pattern[str]:
    """Postgres `f_unaccent(text) ILIKE '%' || f_unaccent(pattern) || '%'` as a regex on unaccented text."""
    regex = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in _unaccent(pattern))
    return re.compile(regex, re.IGNORECASE | re.DOTALL)


def like(pattern: str, text: str) -> bool:
    return like_regex(pattern).search(_unaccent(text)) is not None


class FakeImmich(FakeServer):
    def __init__(
        self,
        api_key: str = "immich-test-key-0123456789",
        permissions: tuple[str, ...] = ("all",),
        is_admin: bool = True,
        faces_import: bool = False,
        validate_responses: bool = True,
        faces_in_search: bool = True,
    ) -> None:
        super().__init__(name="immich")
        self.spec = immich_spec()
        self.api_key = api_key
        self.permissions = list(permissions)
        self.is_admin = is_admin
        self.validate_responses = validate_responses
        # False: people come without their faces, as the OpenAPI document declares (older servers)
        self.faces_in_search = faces_in_search
        self.owner_id = str(uuid.uuid4())
        self.assets: dict[str, dict[str, Any]] = {}
        self._plain_paths: dict[str, str] = {}
        self.people: dict[str, dict[str, Any]] = {}
        self.faces: dict[str, dict[str, Any]] = {}
        self.job_runs: list[tuple[str, list[str]]] = []
        self.queue_commands: list[tuple[str, dict[str, Any]]] = []
        self.config = self.spec.example("/components/schemas/SystemConfigDto")
        self.config["metadata"]["faces"]["import"] = faces_import
        # A hostile or broken server, on request (answers stay valid for the spec):
        # "endless_next_page": the asset search always names a next page (the same assets again);
        # "endless_people": the people list always has a next page, of new people each time.
        self.misbehave: set[str] = set()

    # --- state helpers for tests ---------------------------------------------------------------

    def add_asset(self, path: str, width: int = 4000, height: int = 3000) -> str:
        asset = self.spec.example("/components/schemas/AssetResponseDto")
        asset_id = str(uuid.uuid4())
        asset.update(
            id=asset_id,
            ownerId=self.owner_id,
            originalPath=path,
            originalFileName=path.rsplit("/", 1)[-1],
            width=width,
            height=height,
            type="IMAGE",
        )
        self.assets[asset_id] = asset
        self._plain_paths[asset_id] = _unaccent(path)
        return asset_id

    def add_person(self, name: str, hidden: bool = False) -> str:
        person = self.spec.example("/components/schemas/PersonResponseDto")
        person.update(id=str(uuid.uuid4()), name=name, isHidden=hidden, birthDate=None)
        self.people[person["id"]] = person
        return str(person["id"])

    def add_face(
        self,
        asset_id: str,
        box: tuple[int, int, int, int],
        image: tuple[int, int],
        person_id: str | None = None,
        source: str = "machine-learning",
    ) -> str:
        face_id = str(uuid.uuid4())
        x1, y1, x2, y2 = box
        self.faces[face_id] = {
            "id": face_id,
            "assetId": asset_id,
            "personId": person_id,
            "boundingBoxX1": x1,
            "boundingBoxY1": y1,
            "boundingBoxX2": x2,
            "boundingBoxY2": y2,
            "imageWidth": image[0],
            "imageHeight": image[1],
            "sourceType": source,
            "deleted": False,
        }
        return face_id

    def live_faces(self, asset_id: str) -> list[dict[str, Any]]:
        return [f for f in self.faces.values() if f["assetId"] == asset_id and not f["deleted"]]

    def people_with_faces(self, asset_id: str) -> dict[str, Any]:
        """What Immich's mapAsset adds with withPeople: people with their faces' boxes, and the
        faces of no one (server/src/dtos/asset-response.dto.ts, peopleWithFaces)."""
        people: dict[str, dict[str, Any]] = {}
        unassigned = []
        for face in self.live_faces(asset_id):
            shown = {k: v for k, v in face.items() if k not in ("assetId", "personId", "deleted")}
            if face["personId"] is None:
                unassigned.append(shown)
                continue
            person = people.setdefault(face["personId"], {**self.people[face["personId"]], "faces": []})
            person["faces"].append(shown)
        return {"people": list(people.values()), "unassignedFaces": unassigned}

    def refreshed_ids(self) -> list[str]:
        return [i for name, ids in self.job_runs if name == "refresh-metadata" for i in ids]

    def error_body(self, status: int, message: str) -> Any:
        errors = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found"}
        return {
            "message": message,
            "error": errors.get(status, "Internal Server Error"),
            "statusCode": status,
        }

    # --- request pipeline ----------------------------------------------------------------------

    def dispatch(self, rec: Recorded) -> Reply:
        op = self.spec.match(rec.method, rec.path)
        if op is None:
            self.violations.append(f"{rec.method} {rec.path}: no such operation in the Immich spec")
            return 404, self.error_body(404, f"Cannot {rec.method} {rec.path}")
        if op.op.get("security"):
            key = rec.headers.get("x-api-key")
            if key is None:
                self.violations.append(f"{rec.method} {rec.path}: no x-api-key header")
            if key != self.api_key:
                return 401, self.error_body(401, "Invalid API key")
        errors = self.spec.check_request(op, rec.query, rec.headers, rec.body)
        if errors:
            self.violations += [f"{op.method} {op.template}: {e}" for e in errors]
            return 400, self.error_body(400, "; ".join(errors))
        permission = op.op.get("x-immich-permission")
        if permission and "all" not in self.permissions and permission not in self.permissions:
            return 403, self.error_body(403, f"Missing required permission: {permission}")
        if op.op.get("x-immich-admin-only") and not self.is_admin:
            return 403, self.error_body(403, "Forbidden")
        handler = getattr(self, f"op_{op.operation_id}", None)
        if handler is None:
            self.violations.append(f"{op.method} {op.template}: not implemented by the fake")
            return 501, self.error_body(501, "not implemented by the fake")
        status, body = handler(rec, op.path_params)
        documented, ptr = self.spec.response_pointer(op, status)
        if documented and ptr is None and body is not None:
            self.violations.append(f"fake answered {op.operation_id} {status} with a body")
        if documented and ptr is not None and self.validate_responses:
            self.violations += [
                f"fake response {op.operation_id}: {e}" for e in self.spec.validate(ptr, body)
            ]
        return status, body

    # --- operations ----------------------------------------------------------------------------

    def op_pingServer(self, rec: Recorded, _: dict[str, str]) -> Reply:
        return 200, {"res": "pong"}

    def op_getMyApiKey(self, rec: Recorded, _: dict[str, str]) -> Reply:
        now = "2024-01-01T00:00:00.000Z"
        key = {"id": str(uuid.uuid4()), "name": "tagmyphotos", "createdAt": now, "updatedAt": now}
        return 200, {**key, "permissions": self.permissions}

    def op_validateAccessToken(self, rec: Recorded, _: dict[str, str]) -> Reply:
        return 200, {"authStatus": True}

    def op_getConfig(self, rec: Recorded, _: dict[str, str]) -> Reply:
        return 200, json.loads(json.dumps(self.config))

    def op_searchAssets(self, rec: Recorded, _: dict[str, str]) -> Reply:
        dto = rec.json
        regex = like_regex(dto.get("originalPath", ""))
        hits = [a for i, a in self.assets.items() if regex.search(self._plain_paths[i])]
        page, size = dto.get("page", 1), dto.get("size", 250)
        items = hits[(page - 1) * size : page * size]
        if dto.get("withPeople"):
            items = [{**a, **self.people_with_faces(a["id"])} for a in items]
            if not self.faces_in_search:
                items = [{**a, "people": [{k: v for k, v in p.items() if k != "faces"} for p in a["people"]]}
                         for a in items]  # fmt: skip
        more = page * size < len(hits)
        if "endless_next_page" in self.misbehave:
            items, more = (items or [{**a, **self.people_with_faces(a["id"])} for a in hits[:size]]), True
        albums = {"count": 0, "facets": [], "items": [], "total": 0}
        assets = {"count": len(items), "facets": [], "items": items, "total": len(hits)}
        return 200, {"albums": albums, "assets": {**assets, "nextPage": str(page + 1) if more else None}}

    def op_runAssetJobs(self, rec: Recorded, _: dict[str, str]) -> Reply:
        dto = rec.json
        if any(i not in self.assets for i in dto["assetIds"]):
            return 400, self.error_body(400, "Not found or no asset.update access")
        self.job_runs.append((dto["name"], list(dto["assetIds"])))
        return 204, None

    def op_runQueueCommandLegacy(self, rec: Recorded, params: dict[str, str]) -> Reply:
        self.queue_commands.append((params["name"], rec.json))
        return 200, self.spec.example("/components/schemas/QueueResponseLegacyDto")

    def op_searchPerson(self, rec: Recorded, _: dict[str, str]) -> Reply:
        name = rec.query["name"][0]
        hidden = rec.query.get("withHidden", ["false"])[0] == "true"
        words = re.compile(r"(^|\s)" + re.escape(name), re.IGNORECASE)
        hits = [p for p in self.people.values() if words.search(p["name"]) and (hidden or not p["isHidden"])]
        return 200, hits

    def op_getAllPeople(self, rec: Recorded, _: dict[str, str]) -> Reply:
        page = int(rec.query.get("page", ["1"])[0])
        size = int(rec.query.get("size", ["500"])[0])
        hidden = rec.query.get("withHidden", ["false"])[0] == "true"
        shown = [p for p in self.people.values() if hidden or not p["isHidden"]]
        items = shown[(page - 1) * size : page * size]
        hidden_count = sum(1 for p in self.people.values() if p["isHidden"])
        body = {"people": items, "total": len(shown), "hidden": hidden_count, "hasNextPage": page * size < len(shown)}
        if "endless_people" in self.misbehave:
            made = [{**self.spec.example("/components/schemas/PersonResponseDto"), "id": str(uuid.uuid4()),
                     "name": f"Nobody {page}-{i} " + "x" * 60, "isHidden": False, "birthDate": None}
                    for i in range(size)]  # fmt: skip
            body.update(people=made, total=page * size + size, hasNextPage=True)
        return 200, body

    def op_updatePerson(self, rec: Recorded, params: dict[str, str]) -> Reply:
        person = self.people.get(params["id"])
        if person is None:
            return 400, self.error_body(400, "Not found or no person.update access")
        for key in ("name", "isHidden", "isFavorite", "birthDate", "color"):
            if key in rec.json:
                person[key] = rec.json[key]
        return 200, person

    def op_createPerson(self, rec: Recorded, _: dict[str, str]) -> Reply:
        person_id = self.add_person(rec.json.get("name", ""), hidden=rec.json.get("isHidden", False))
        return 201, self.people[person_id]

    def op_getFaces(self, rec: Recorded, _: dict[str, str]) -> Reply:
        asset_id = rec.query["id"][0]
        if asset_id not in self.assets:
            return 400, self.error_body(400, "Not found or no asset.read access")
        out = []
        for face in self.live_faces(asset_id):
            shown = {k: v for k, v in face.items() if k not in ("assetId", "personId", "deleted")}
            out.append({**shown, "person": self.people.get(face["personId"] or "")})
        return 200, out

    def op_createFace(self, rec: Recorded, _: dict[str, str]) -> Reply:
        dto = rec.json
        if dto["assetId"] not in self.assets or dto["personId"] not in self.people:
            return 400, self.error_body(400, "Not found or no access")
        box = (dto["x"], dto["y"], dto["x"] + dto["width"], dto["y"] + dto["height"])
        self.add_face(dto["assetId"], box, (dto["imageWidth"], dto["imageHeight"]), dto["personId"], "manual")
        return 201, None

    def op_deleteFace(self, rec: Recorded, params: dict[str, str]) -> Reply:
        face = self.faces.get(params["id"])
        if face is None or face["deleted"]:
            return 400, self.error_body(400, "Not found or no face.delete access")
        if rec.json["force"]:
            del self.faces[params["id"]]
        else:
            face["deleted"] = True
        return 204, None
