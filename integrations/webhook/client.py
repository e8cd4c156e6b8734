"""Generic webhook: POST one signed JSON document per write job (Home Assistant, n8n, scripts).

Why HMAC over the raw body: the receiver recomputes HMAC-SHA256(secret, body) and compares it
with the X-TagMyPhotos-Signature header ("sha256=<hex>", GitHub style), so it can trust the
sender without TLS client certificates. The delivery id lets receivers drop a retried duplicate.
The URL may itself be a secret (Home Assistant webhook ids), so it is never logged.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from integrations.batch import TargetResult, WriteBatch
from integrations.http import ApiClient, IntegrationError
from tagmyphotos.config import IntegrationsConfig, WebhookConfig

SIGNATURE_HEADER = "X-TagMyPhotos-Signature"
EVENT_HEADER = "X-TagMyPhotos-Event"
DELIVERY_HEADER = "X-TagMyPhotos-Delivery"
TIMESTAMP_HEADER = "X-TagMyPhotos-Timestamp"
PAYLOAD_VERSION = 1


def sign(secret: str, body: bytes) -> str:
    """The signature header value for a body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signed_content(timestamp: str, body: bytes) -> bytes:
    """What a signed inbound hook signs: '<Unix seconds>.<raw body>', so a replay is dated."""
    return timestamp.encode() + b"." + body


def verify(secret: str, body: bytes, header: str) -> bool:
    """What a receiver does (also used by the tests): constant-time comparison."""
    return hmac.compare_digest(sign(secret, body), header or "")


def payload(batch: WriteBatch, event: str = "photos.written") -> dict[str, Any]:
    """The JSON document: written files (relative paths) with their people and face boxes."""
    return {
        "version": PAYLOAD_VERSION,
        "event": event,
        "job_id": batch.job_id,
        "sent_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "library_root": batch.library_root.as_posix(),
        "people": batch.people,
        "files": [
            {
                "path": wf.rel_path,
                "people": list(wf.people),
                "image": {"width": wf.image_width, "height": wf.image_height},
                "faces": [
                    {"name": f.name, "box": {"x": f.box.x, "y": f.box.y, "w": f.box.w, "h": f.box.h}}
                    for f in wf.faces
                ],
            }
            for wf in batch.files
        ],
    }


def _origin(url: str) -> str:
    parts = urlsplit(url.strip())
    return f"{parts.scheme}://{parts.netloc.rsplit('@', 1)[-1]}"


def post(cfg: WebhookConfig, doc: dict[str, Any], timeout_s: float, retries: int) -> int:
    """Send the document; returns the number of HTTP requests made."""
    secret = cfg.secret.get_secret_value() if cfg.secret else ""
    body = json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()
    headers = {
        "Content-Type": "application/json",
        EVENT_HEADER: doc["event"],
        DELIVERY_HEADER: str(uuid.uuid4()),
    }
    if secret:
        headers[SIGNATURE_HEADER] = sign(secret, body)
    url = cfg.url.strip()
    parts = urlsplit(url)
    with ApiClient(
        f"webhook ({_origin(url)})",
        _origin(url),
        timeout_s=timeout_s,
        retries=retries,
        secrets=tuple(s for s in (secret, parts.path, parts.query, parts.password or "") if len(s) > 1),
        show_path=False,
    ) as client:
        try:
            client.request("POST", url, content=body, headers=headers)
        finally:
            requests = client.requests
    return requests


def config_problem(cfg: WebhookConfig) -> str:
    if urlsplit(cfg.url.strip()).scheme not in ("http", "https"):
        return "webhook: no valid URL set (integrations.webhook.url must start with http:// or https://)"
    return ""


def notify_webhook(cfg: IntegrationsConfig, batch: WriteBatch) -> TargetResult:
    problem = config_problem(cfg.webhook)
    if problem:
        return TargetResult("webhook", "failed", problem)
    t0 = time.monotonic()
    try:
        requests = post(cfg.webhook, payload(batch), cfg.timeout_s, cfg.retries)
    except IntegrationError as exc:
        return TargetResult("webhook", "failed", str(exc), {"files": len(batch.files)})
    counts = {"files": len(batch.files), "people": len(batch.people), "requests": requests}
    unsigned = "" if cfg.webhook.secret else " (unsigned: no integrations.webhook.secret set)"
    msg = f"webhook: delivered {len(batch.files)} files in {time.monotonic() - t0:.1f} s{unsigned}"
    return TargetResult("webhook", "ok", msg, counts)


def check_webhook(cfg: IntegrationsConfig) -> TargetResult:
    """Send a signed 'test' event with no files; any 2xx answer counts as working."""
    problem = config_problem(cfg.webhook)
    if problem:
        return TargetResult("webhook", "failed", problem)
    doc = {"version": PAYLOAD_VERSION, "event": "test", "sent_at": datetime.now(UTC).isoformat(), "files": []}
    try:
        post(cfg.webhook, doc, cfg.timeout_s, min(cfg.retries, 1))
    except IntegrationError as exc:
        return TargetResult("webhook", "failed", str(exc))
    if not cfg.webhook.secret:
        return TargetResult(
            "webhook", "warning", "webhook: reachable, but unsigned (set integrations.webhook.secret)"
        )
    return TargetResult("webhook", "ok", "webhook: reachable; test event delivered and signed")
