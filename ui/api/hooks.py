"""/hooks/scan: uploaders, sync tools and scripts say "these files just arrived" and a scan of
only those paths is queued (then analysed and matched).

Why signed like the outbound webhook: a sync tool or an Immich/PhotoPrism upload script should
not need a full API key in its configuration; it shares a secret (integrations.hook.secret)
and sends HMAC-SHA256 of "<timestamp>.<raw body>" in X-TagMyPhotos-Signature ("sha256=<hex>"),
the timestamp (Unix seconds) in X-TagMyPhotos-Timestamp. Why the timestamp: a recorded signed
call could be sent again forever; now it is accepted within HOOK_REPLAY_WINDOW_S of
the server's clock and each signature once (remembered for that window). Without a signature
the caller needs a full-scope API key. Calls are cheap: a request while a scan is
queued joins that scan, so a burst of calls gives the running scan plus one.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials
from pydantic import BaseModel, Field, ValidationError

from integrations.webhook.client import SIGNATURE_HEADER, TIMESTAMP_HEADER, signed_content, verify
from jobs.tasks import start_job
from tagmyphotos.config import Config
from tagmyphotos.library import paths
from tagmyphotos.store import models as m
from tagmyphotos.system import auth

from .deps import authenticate, get_core
from .errors import ProblemRoute
from .problems import ApiProblem, problem_responses

# A scan asked for by the inbound hook waits this long before it starts; calls in that window join
# it. Uploaders call once per file (an Immich or PhotoPrism upload of 20 photos arrives within
# a second or two; Syncthing's watcher already batches for 10 s), so 2 s folds a burst into one
# scan while a new photo is still analysed within seconds. Calls while it runs queue one more.
SCAN_HOOK_DEBOUNCE_S = 2.0

# A signed scan hook carries the time it was signed (X-TagMyPhotos-Timestamp); it is accepted
# within this many seconds of the server's clock, and each signature only once. 5 minutes covers
# clocks a little apart (NTP keeps them within a second) and leaves a replay no later use.
HOOK_REPLAY_WINDOW_S = 300

router = APIRouter(prefix="/hooks", tags=["hooks"], route_class=ProblemRoute)

MAX_HOOK_PATHS = 10_000
# Signatures seen within the replay window (signature -> when it may be forgotten).
_seen: dict[str, float] = {}
_seen_lock = threading.Lock()
# Declared for the OpenAPI document (the checks are in _caller_may_scan, on the raw body).
_signature = APIKeyHeader(name=SIGNATURE_HEADER, scheme_name="HookSignature", auto_error=False,
                          description="sha256=<hex of HMAC-SHA256(integrations.hook.secret, raw body)>")  # fmt: skip
_key = APIKeyHeader(name="X-API-Key", auto_error=False, description="a full-scope API key")


class ScanHook(BaseModel):
    """Files or folders that changed; absolute paths may use the library's or Immich's prefix."""

    paths: list[str] = Field(default_factory=list, max_length=MAX_HOOK_PATHS,
                             examples=[["2024/IMG_0001.jpg", "/photos/2024/IMG_0002.jpg"]])  # fmt: skip
    folder: str | None = Field(None, description="a folder to scan; '' or '/' = the whole library")


class ScanHookOut(BaseModel):
    job_id: int
    state: str
    paths: int = Field(description="paths this call named (after resolving them in the library)")
    scope: list[str] | None = Field(description="what the queued scan will look at; null = everything")


def aliases(cfg: Config) -> dict[str, str]:
    """Other apps' absolute prefixes for our folders (Immich's path map), remote -> library-relative."""
    pm = cfg.integrations.immich.path_map
    if not pm.remote_prefix.strip():
        return {}
    local = pm.local_prefix.strip() or cfg.library.as_posix()
    try:
        rel = paths.relative_from_outside(cfg.library, local) if local.startswith("/") else local
    except paths.PathRefused:
        return {}
    return {pm.remote_prefix.strip(): rel}


async def _caller_may_scan(request: Request, body: bytes, cfg: Config) -> None:
    """A valid signature, or else a full-scope API key (the same rules as every API route)."""
    signature = request.headers.get(SIGNATURE_HEADER)
    secret = cfg.integrations.hook.secret.get_secret_value() if cfg.integrations.hook.secret else ""
    if signature is not None:
        if not secret:
            raise ApiProblem(401, "signed hooks are off: set integrations.hook.secret (or send an API key)")
        stamp = _fresh_timestamp(request.headers.get(TIMESTAMP_HEADER, ""))
        if not verify(secret, signed_content(stamp, body), signature):
            raise ApiProblem(401, f"the {SIGNATURE_HEADER} does not match '<{TIMESTAMP_HEADER}>.<body>'",
                             "bad-signature")  # fmt: skip
        if not _first_use(signature):
            raise ApiProblem(401, "this signed call was already received (a replay); sign each call anew", "replayed")
        return
    key = request.headers.get("x-api-key")
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    bearer = HTTPAuthorizationCredentials(scheme=scheme, credentials=credentials) if credentials else None
    authenticate(request, key, bearer, request.cookies.get(auth.SESSION_COOKIE))


def _fresh_timestamp(stamp: str) -> str:
    window = HOOK_REPLAY_WINDOW_S
    if not stamp.isdigit() or abs(time.time() - int(stamp)) > window:
        raise ApiProblem(401, f"send {TIMESTAMP_HEADER}: the Unix time of signing, within {window} s of the "
                         "server's clock, and sign '<timestamp>.<body>'", "stale-signature")  # fmt: skip
    return stamp


def _first_use(signature: str) -> bool:
    """Remember a signature for the replay window; False when it was seen already."""
    now = time.time()
    with _seen_lock:
        for old in [s for s, until in _seen.items() if until < now]:
            del _seen[old]
        if signature in _seen:
            return False
        if len(_seen) < 100_000:  # a flood of valid calls needs the secret; still bounded
            _seen[signature] = now + 2 * HOOK_REPLAY_WINDOW_S
        return True


@router.post(
    "/scan", response_model=ScanHookOut, status_code=202, summary="Scan the given files now (signed hook)",
    responses=problem_responses(400, 401, 403, 422),
    description="Queues a scan of only the given paths (files or folders), then analysis and "
    "matching. Sign it: `X-TagMyPhotos-Timestamp: <Unix seconds>` and `X-TagMyPhotos-Signature: "
    "sha256=<hex of HMAC-SHA256(secret, '<timestamp>.<raw body>')>` with `integrations.hook.secret` "
    "(accepted within 5 minutes of the server's clock, each signature once), or send a full-scope API "
    "key. A call while a scan is queued joins it. An empty body scans the whole library.",
)  # fmt: skip
async def scan_hook(
    request: Request, _sig: str | None = Depends(_signature), _api_key: str | None = Depends(_key)
) -> ScanHookOut:
    core = get_core(request)
    body = await request.body()
    await _caller_may_scan(request, body, core.cfg)
    try:
        hook = ScanHook.model_validate(json.loads(body) if body.strip() else {})
    except (ValueError, ValidationError) as exc:
        raise ApiProblem(422, f'the body must be JSON like {{"paths": ["a/b.jpg"]}}: {exc}') from exc
    mapped = aliases(core.cfg)
    named = [paths.relative_from_outside(core.cfg.library, p, mapped) for p in hook.paths]
    params: dict[str, Any] = {"trigger": "hook"}
    if hook.folder is not None:
        folder = hook.folder if hook.folder.strip("/") else ""
        named.append(paths.relative_from_outside(core.cfg.library, folder, mapped) if folder else "")
    if named and "" not in named:
        params["paths"] = sorted(set(named))
    job_id = start_job("scan", params, delay_s=SCAN_HOOK_DEBOUNCE_S)
    job = m.Job.get_by_id(job_id)
    scope = (job.params or {}).get("paths")
    return ScanHookOut(job_id=job_id, state=job.state, paths=len(named), scope=scope)
