"""Immich: find the written photos by path and ask Immich to re-read their metadata.

Why by path: Immich's external libraries store each file's path as `originalPath`; the search
endpoint matches it with a case-insensitive LIKE where % and _ are wildcards, so results are
filtered to exact paths. Files of one folder are looked up with one (paged) folder search when
that is cheaper than one search per file. Immich imports the face regions we wrote only when its
admin setting metadata.faces.import is on; "test connection" checks it when the key may read it.
"""

from __future__ import annotations

import math
import posixpath
from collections import defaultdict
from typing import Any

from integrations.batch import Status, TargetResult, WriteBatch, WrittenFile, limited
from integrations.http import ApiClient, IntegrationError
from integrations.immich.faces import sync_faces
from integrations.pathmap import PathMapError, to_remote_absolute
from tagmyphotos.config import ImmichConfig, IntegrationsConfig

# Immich search page size: the API maximum (MetadataSearchDto.size <= 1000), fewest round trips.
IMMICH_SEARCH_PAGE_SIZE = 1000

# Asset ids per POST /api/assets/jobs: a ~20 kB body; a 10k-photo write job takes 20 calls.
IMMICH_JOB_BATCH_SIZE = 500

# From this many written files in one folder, one paged folder search (budget: files - 1 pages)
# replaces one search per file; below it the per-file search is as cheap.
IMMICH_FOLDER_SEARCH_MIN_FILES = 3

BASE_PERMISSIONS = ("asset.read", "job.create")
PUSH_PERMISSIONS = ("person.read", "person.create", "face.read", "face.create")
DEDUPE_PERMISSIONS = ("face.read", "face.delete")
# What `import-names` needs (names and boxes come with the assets; people for renames).
IMPORT_PERMISSIONS = ("asset.read", "person.read")

FACES_IMPORT_HINT = (
    "Immich shows the people written into the files only when its face import is on: as an Immich "
    'admin open Administration > Settings > Metadata Settings, switch on "Import faces" under '
    '"Faces" (setting metadata.faces.import) and press Save'
)


def api_base(url: str) -> str:
    """Users paste the web address; the API lives under /api."""
    url = url.strip().rstrip("/")
    return url if url.endswith("/api") else url + "/api"


class ImmichClient:
    """The few Immich API calls we need, over one ApiClient (header x-api-key)."""

    def __init__(self, cfg: ImmichConfig, timeout_s: float, retries: int) -> None:
        key = cfg.api_key.get_secret_value() if cfg.api_key else ""
        self.api = ApiClient(
            "Immich",
            api_base(cfg.url),
            {"x-api-key": key, "accept": "application/json"},
            timeout_s=timeout_s,
            retries=retries,
            secrets=(key,),
        )

    def close(self) -> None:
        self.api.close()

    def __enter__(self) -> ImmichClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- assets -------------------------------------------------------------------------------

    def search_path(
        self, fragment: str, max_pages: int | None = None, size: int = 0
    ) -> tuple[list[dict[str, Any]], bool]:
        """All assets whose originalPath contains `fragment` (LIKE semantics); False if cut short."""
        size = size or IMMICH_SEARCH_PAGE_SIZE
        items: list[dict[str, Any]] = []
        page = 1
        while True:
            body = {"originalPath": fragment, "page": page, "size": size}
            data = self.api.request("POST", "/search/metadata", json=body).json()["assets"]
            items.extend(data.get("items") or [])
            total = data.get("total")
            too_big = isinstance(total, int) and math.ceil(total / size) > (max_pages or math.inf)
            if page == 1 and too_big:
                return items, False  # cheaper per file than paging through this folder
            next_page = data.get("nextPage")
            if not next_page:
                return items, True
            if max_pages is not None and page >= max_pages:
                return items, False
            page = int(next_page)

    def find_assets(self, paths: list[str]) -> dict[str, list[str]]:
        """Exact originalPath -> asset ids (several if Immich holds the path in several libraries)."""
        wanted = set(paths)
        found: dict[str, dict[str, None]] = defaultdict(dict)

        def keep(items: list[dict[str, Any]]) -> None:
            for item in items:
                if item.get("originalPath") in wanted:
                    found[item["originalPath"]][item["id"]] = None

        by_folder: dict[str, list[str]] = defaultdict(list)
        for path in dict.fromkeys(paths):
            by_folder[posixpath.dirname(path)].append(path)
        for folder, files in by_folder.items():
            if len(files) >= IMMICH_FOLDER_SEARCH_MIN_FILES and folder not in ("", "/"):
                items, complete = self.search_path(folder + "/", max_pages=len(files) - 1)
                keep(items)
                if complete:
                    continue
            for path in files:
                if path not in found:
                    keep(self.search_path(path)[0])
        return {p: list(ids) for p, ids in found.items()}

    def refresh_metadata(self, asset_ids: list[str]) -> int:
        """Queue Immich's metadata extraction for the assets; returns the number of calls."""
        calls = 0
        step = IMMICH_JOB_BATCH_SIZE
        for i in range(0, len(asset_ids), step):
            body = {"assetIds": asset_ids[i : i + step], "name": "refresh-metadata"}
            self.api.request("POST", "/assets/jobs", json=body)
            calls += 1
        return calls

    def discover_sidecars(self) -> bool:
        """Start Immich's sidecar discovery (admin only); False when the key may not."""
        try:
            self.api.request("PUT", "/jobs/sidecar", json={"command": "start", "force": False})
        except IntegrationError as exc:
            if exc.status in (401, 403):
                return False
            raise
        return True

    # --- server, key and settings -------------------------------------------------------------

    def ping(self) -> None:
        self.api.request("GET", "/server/ping")

    def key_permissions(self) -> list[str] | None:
        """The API key's permissions, or None on Immich versions without /api-keys/me."""
        try:
            return list(self.api.request("GET", "/api-keys/me").json().get("permissions") or [])
        except IntegrationError as exc:
            if exc.status == 404:
                self.api.request("POST", "/auth/validateToken")
                return None
            raise

    def faces_import_enabled(self) -> bool | None:
        """metadata.faces.import, or None when the key may not read the admin settings."""
        try:
            cfg = self.api.request("GET", "/system-config").json()
        except IntegrationError as exc:
            if exc.status == 403:
                return None
            raise
        return bool(cfg.get("metadata", {}).get("faces", {}).get("import"))

    # --- faces (used by immich_faces) ---------------------------------------------------------

    def get_faces(self, asset_id: str) -> list[dict[str, Any]]:
        return list(self.api.request("GET", "/faces", params={"id": asset_id}).json())

    def create_face(self, body: dict[str, Any]) -> None:
        self.api.request("POST", "/faces", json=body, idempotent=False)

    def delete_face(self, face_id: str) -> None:
        # force=False: Immich soft-deletes (keeps the row recoverable), in line with non-destruction.
        self.api.request("DELETE", f"/faces/{face_id}", json={"force": False})

    def search_person(self, name: str) -> list[dict[str, Any]]:
        params = {"name": name, "withHidden": "true"}
        return list(self.api.request("GET", "/search/person", params=params).json())

    def create_person(self, name: str) -> str:
        return str(self.api.request("POST", "/people", json={"name": name}, idempotent=False).json()["id"])


def _missing(have: list[str] | None, need: tuple[str, ...]) -> list[str]:
    if have is None or "all" in have:
        return []
    return [p for p in need if p not in have]


def needed_permissions(cfg: ImmichConfig) -> tuple[str, ...]:
    need = list(BASE_PERMISSIONS)
    if cfg.push_faces:
        need += PUSH_PERMISSIONS
    if cfg.remove_duplicate_ml_faces:
        need += DEDUPE_PERMISSIONS
    if cfg.push_renames or cfg.import_every_hours:
        need += IMPORT_PERMISSIONS + (("person.update",) if cfg.push_renames else ())
    return tuple(dict.fromkeys(need))


def config_problem(cfg: ImmichConfig) -> str:
    if not cfg.url.strip():
        return "Immich: no URL set (integrations.immich.url, e.g. http://immich-server:2283)"
    if cfg.api_key is None or not cfg.api_key.get_secret_value():
        return (
            "Immich: no API key set (integrations.immich.api_key; create one in Immich > "
            "Account Settings > API Keys)"
        )
    return ""


def notify_immich(cfg: IntegrationsConfig, batch: WriteBatch) -> TargetResult:
    """Refresh the written photos in Immich (one round per write job); never raises IntegrationError."""
    icfg = cfg.immich
    problem = config_problem(icfg)
    if problem:
        return TargetResult("immich", "failed", problem)
    remote: dict[str, WrittenFile] = {}
    unmapped: list[str] = []
    for wf in batch.files:
        try:
            remote[to_remote_absolute(icfg.path_map, batch.library_root, wf.rel_path)] = wf
        except PathMapError:
            unmapped.append(wf.rel_path)
    counts = {"files": len(batch.files), "unmapped": len(unmapped)}
    with ImmichClient(icfg, cfg.timeout_s, cfg.retries) as client:
        try:
            found = client.find_assets(list(remote))
            ids = list(dict.fromkeys(i for p in remote if p in found for i in found[p]))
            counts["refresh_calls"] = client.refresh_metadata(ids) if ids else 0
        except IntegrationError as exc:
            counts["requests"] = client.api.requests
            return TargetResult("immich", "failed", str(exc), counts)
        unknown = [p for p in remote if p not in found]
        counts.update(found=len(remote) - len(unknown), unknown=len(unknown), assets_refreshed=len(ids))
        notes: list[str] = []
        try:
            if any(remote[p].sidecar_created for p in found) and not client.discover_sidecars():
                notes.append("new sidecars are read after Immich's next sidecar discovery (key is not admin)")
            has_faces = any(remote[p].faces for p in found)
            import_on = client.faces_import_enabled() if has_faces else None
            if import_on is False and not icfg.push_faces:
                notes.append(FACES_IMPORT_HINT)
            if has_faces and (icfg.push_faces or icfg.remove_duplicate_ml_faces):
                pairs = [(i, remote[p]) for p in remote if p in found for i in found[p]]
                face_counts, face_notes = sync_faces(client, icfg, pairs, import_on)
                counts.update(face_counts)
                notes += face_notes
        except IntegrationError as exc:
            notes.append(f"faces not synced: {exc}")
        counts["requests"] = client.api.requests
    return _summary(counts, unknown, unmapped, notes)


def _summary(
    counts: dict[str, int], unknown: list[str], unmapped: list[str], notes: list[str]
) -> TargetResult:
    files, found = counts["files"], counts.get("found", 0)
    msg = f"Immich: metadata refresh queued for {found} of {files} photos"
    details = limited([f"not in Immich: {p}" for p in unknown] + [f"outside path map: {p}" for p in unmapped])
    status: Status = "ok"
    if unknown:
        msg += f"; {len(unknown)} not found in Immich (check integrations.immich.path_map, e.g. {unknown[0]})"
        status = "warning"
    if unmapped:
        msg += f"; {len(unmapped)} outside integrations.immich.path_map.local_prefix"
        status = "warning"
    if files and not found:
        status = "failed"
    if notes:
        msg += "; " + "; ".join(notes)
        status = "warning" if status == "ok" else status
    return TargetResult("immich", status, msg, counts, details)


def check_immich(cfg: IntegrationsConfig) -> TargetResult:
    """Reachability, key, permissions, the face-import setting and the path map, in plain words."""
    icfg = cfg.immich
    problem = config_problem(icfg)
    if problem:
        return TargetResult("immich", "failed", problem)
    notes: list[str] = []
    with ImmichClient(icfg, cfg.timeout_s, min(cfg.retries, 1)) as client:
        try:
            client.ping()
        except IntegrationError as exc:
            return TargetResult(
                "immich", "failed", f"Immich: cannot reach the API at {api_base(icfg.url)}: {exc}"
            )
        try:
            perms = client.key_permissions()
            missing = _missing(perms, needed_permissions(icfg))
            if missing:
                return TargetResult(
                    "immich",
                    "failed",
                    f"Immich: the API key lacks the permission(s) {', '.join(missing)}; create a key that "
                    "has them (Immich > Account Settings > API Keys)",
                )
            import_on = client.faces_import_enabled()
            if import_on is None:
                notes.append(
                    "this key may not read Immich's admin settings, so please check by hand: "
                    + FACES_IMPORT_HINT
                )
            elif not import_on and not icfg.push_faces:
                notes.append(
                    f"face import is off. {FACES_IMPORT_HINT} (or switch on integrations.immich.push_faces)"
                )
            elif import_on and icfg.push_faces:
                notes.append(
                    "Immich's face import and integrations.immich.push_faces are both on, so every face "
                    "would appear twice: switch one of them off"
                )
            prefix = icfg.path_map.remote_prefix.strip().rstrip("/")
            if prefix and not client.search_path(prefix + "/", max_pages=1, size=1)[0]:
                notes.append(
                    f"no photo path in Immich contains {prefix}/: "
                    "check integrations.immich.path_map.remote_prefix"
                )
        except IntegrationError as exc:
            if exc.status == 401:
                return TargetResult(
                    "immich",
                    "failed",
                    "Immich: the API key was rejected (HTTP 401); check integrations.immich.api_key",
                )
            return TargetResult("immich", "failed", str(exc))
    msg = "Immich: connected and the API key works"
    return TargetResult(
        "immich", "warning" if notes else "ok", msg + ("; " + "; ".join(notes) if notes else "")
    )
