"""Job events: the signed webhook says when a scan, analysis, matching or write job ended.

Why: Home Assistant, ntfy and n8n users want to hear "the nightly scan found 40 new photos" or
"the write failed" without polling the API. The document is signed like the write webhook's
(X-TagMyPhotos-Signature over the body) and carries the job's counts. It is sent once the job
has ended, by the worker that ran it; what happened to the delivery is written on the job, and
a failed delivery never changes the job.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from integrations.http import IntegrationError
from integrations.webhook.client import PAYLOAD_VERSION, config_problem, post
from tagmyphotos.store import jobs as jobs_store


def event_document(announcement: jobs_store.JobAnnouncement) -> dict[str, Any]:
    return {"version": PAYLOAD_VERSION, "sent_at": datetime.now(UTC).isoformat(timespec="seconds"),
            **announcement.to_dict()}  # fmt: skip


def announce_job(core: Any, job_id: int) -> None:
    """Send job.done / job.failed for an ended job when `integrations.webhook.job_events` is on."""
    cfg = core.cfg.integrations
    if not (cfg.webhook.enabled and cfg.webhook.job_events):
        return
    view = jobs_store.job_view(job_id)
    announcement = None if view is None else jobs_store.announcement(view)
    if announcement is None:
        return
    problem = config_problem(cfg.webhook)
    if problem:
        jobs_store.log_event(job_id, f"{announcement.event} not announced: {problem}", level="warning")
        return
    try:
        post(cfg.webhook, event_document(announcement), cfg.timeout_s, cfg.retries)
    except IntegrationError as exc:
        jobs_store.log_event(job_id, f"{announcement.event} not announced: {exc}", level="warning")
        return
    jobs_store.log_event(job_id, f"announced {announcement.event} to the webhook")
