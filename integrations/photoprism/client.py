"""PhotoPrism: re-index the folders that hold the written photos.

Why per folder with rescan: PhotoPrism indexes folder by folder (a folder includes its
subfolders), and our writes keep the file's modification time, so a plain index would skip
them; "rescan": true makes it read the metadata again. Indexing runs inside the request and
one at a time (busy = HTTP 429), so the calls are sequential and get a long read timeout.
"""

from __future__ import annotations

import posixpath

from integrations.batch import Status, TargetResult, WriteBatch, limited
from integrations.http import ApiClient, IntegrationError
from integrations.pathmap import PathMapError, collapse_folders, to_remote_relative
from tagmyphotos.config import IntegrationsConfig, PhotoPrismConfig

# PhotoPrism indexes inside the request (one folder can take minutes on a NAS): read timeout.
PHOTOPRISM_INDEX_TIMEOUT_S = 600.0

XMP_FACES_HINT = (
    "PhotoPrism reads face regions from XMP only when its option PHOTOPRISM_XMP_FACES is enabled "
    "(set it in PhotoPrism's environment and restart PhotoPrism)"
)


def api_base(url: str) -> str:
    url = url.strip().rstrip("/")
    return url[: -len("/api/v1")] if url.endswith("/api/v1") else url


class PhotoPrismClient:
    """PhotoPrism API calls; the app password or token is sent as Bearer and as X-Auth-Token."""

    def __init__(self, cfg: PhotoPrismConfig, timeout_s: float, retries: int) -> None:
        token = cfg.token.get_secret_value() if cfg.token else ""
        # Bearer for current releases, X-Auth-Token for releases before Bearer support.
        headers = {"Authorization": f"Bearer {token}", "X-Auth-Token": token, "Accept": "application/json"}
        self.api = ApiClient(
            "PhotoPrism",
            api_base(cfg.url),
            headers,
            timeout_s=timeout_s,
            retries=retries,
            secrets=(token,),
        )
        self.timeout_s = timeout_s

    def close(self) -> None:
        self.api.close()

    def __enter__(self) -> PhotoPrismClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def status(self) -> None:
        self.api.request("GET", "/api/v1/status")

    def settings(self) -> None:
        self.api.request("GET", "/api/v1/settings")

    def index(self, folder: str) -> None:
        """Index one folder (relative to originals, '/' = all) and re-read unchanged files."""
        body = {"path": folder or "/", "rescan": True}
        timeout = max(self.timeout_s, PHOTOPRISM_INDEX_TIMEOUT_S)
        self.api.request("POST", "/api/v1/index", json=body, timeout_s=timeout)


def config_problem(cfg: PhotoPrismConfig) -> str:
    if not cfg.url.strip():
        return "PhotoPrism: no URL set (integrations.photoprism.url, e.g. http://photoprism:2342)"
    if cfg.token is None or not cfg.token.get_secret_value():
        return (
            "PhotoPrism: no token set (integrations.photoprism.token: an app password from "
            "PhotoPrism > Settings > Account > Apps and Devices)"
        )
    return ""


def folders_for(cfg: PhotoPrismConfig, batch: WriteBatch) -> tuple[list[str], list[str]]:
    """The folders to index (relative to originals, nested ones dropped) and unmappable files."""
    folders: set[str] = set()
    unmapped: list[str] = []
    for wf in batch.files:
        try:
            folders.add(posixpath.dirname(to_remote_relative(cfg.path_map, batch.library_root, wf.rel_path)))
        except PathMapError:
            unmapped.append(wf.rel_path)
    return collapse_folders(folders), unmapped


def notify_photoprism(cfg: IntegrationsConfig, batch: WriteBatch) -> TargetResult:
    """Index every folder of the batch once; a failing folder does not stop the others."""
    pcfg = cfg.photoprism
    problem = config_problem(pcfg)
    if problem:
        return TargetResult("photoprism", "failed", problem)
    folders, unmapped = folders_for(pcfg, batch)
    failed: list[str] = []
    first_error = ""
    done = 0
    with PhotoPrismClient(pcfg, cfg.timeout_s, cfg.retries) as client:
        for folder in folders:
            try:
                client.index(folder)
                done += 1
            except IntegrationError as exc:
                failed.append(f"{folder or '/'}: {exc}")
                first_error = first_error or str(exc).removeprefix("PhotoPrism: ")
                if exc.status in (401, 403):
                    break  # the token will not work for the next folder either
        requests = client.api.requests
    counts = {"files": len(batch.files), "folders": len(folders), "indexed": done}
    counts.update(failed=len(failed), unmapped=len(unmapped), requests=requests)
    msg = f"PhotoPrism: re-indexed {done} of {len(folders)} folders"
    status: Status = "ok"
    if failed:
        msg += f"; {len(folders) - done} not indexed: {first_error}"
        status = "failed" if done == 0 else "warning"
    if unmapped:
        msg += f"; {len(unmapped)} files outside integrations.photoprism.path_map.local_prefix"
        status = "warning" if status == "ok" else status
    details = limited(failed + [f"outside path map: {p}" for p in unmapped])
    return TargetResult("photoprism", status, msg, counts, details)


def check_photoprism(cfg: IntegrationsConfig) -> TargetResult:
    """Reachability and token, in plain words (indexing itself is not started)."""
    pcfg = cfg.photoprism
    problem = config_problem(pcfg)
    if problem:
        return TargetResult("photoprism", "failed", problem)
    with PhotoPrismClient(pcfg, cfg.timeout_s, min(cfg.retries, 1)) as client:
        try:
            client.status()
        except IntegrationError as exc:
            return TargetResult(
                "photoprism", "failed", f"PhotoPrism: cannot reach {api_base(pcfg.url)}: {exc}"
            )
        try:
            client.settings()
        except IntegrationError as exc:
            if exc.status in (401, 403):
                return TargetResult(
                    "photoprism",
                    "failed",
                    f"PhotoPrism: the token was rejected (HTTP {exc.status}); "
                    "check integrations.photoprism.token",
                )
            return TargetResult("photoprism", "failed", str(exc))
    return TargetResult(
        "photoprism", "ok", f"PhotoPrism: connected and the token works. Note: {XMP_FACES_HINT}"
    )
