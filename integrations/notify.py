"""The single entry for the write job and the API: notify every enabled target, or test one.

Why here and not in each client: the guarantee "a failed notification never undoes or blocks a
write" lives in one place. Whatever goes wrong in a target (down, slow, wrong key, a bug) comes
back as a failed TargetResult with a readable message; nothing raises into the caller.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from integrations.batch import (
    TARGETS,
    FaceBox,
    Target,
    TargetResult,
    WriteBatch,
    WrittenFace,
    WrittenFile,
)
from integrations.immich.client import check_immich, notify_immich
from integrations.photoprism.client import check_photoprism, notify_photoprism
from integrations.webhook.client import check_webhook, notify_webhook
from tagmyphotos.config import IntegrationsConfig

__all__ = [
    "TARGETS",
    "FaceBox",
    "TargetResult",
    "WriteBatch",
    "WrittenFace",
    "WrittenFile",
    "enabled_targets",
    "notify_all",
    "test_connection",
]

log = logging.getLogger(__name__)

Runner = Callable[[IntegrationsConfig, WriteBatch], TargetResult]
Checker = Callable[[IntegrationsConfig], TargetResult]
_NOTIFY: dict[Target, Runner] = {
    "immich": notify_immich,
    "photoprism": notify_photoprism,
    "webhook": notify_webhook,
}
_CHECK: dict[Target, Checker] = {
    "immich": check_immich,
    "photoprism": check_photoprism,
    "webhook": check_webhook,
}


def enabled_targets(cfg: IntegrationsConfig) -> list[Target]:
    flags = {
        "immich": cfg.immich.enabled,
        "photoprism": cfg.photoprism.enabled,
        "webhook": cfg.webhook.enabled,
    }
    return [t for t in TARGETS if flags[t]]


def _secrets(cfg: IntegrationsConfig) -> list[str]:
    values = [cfg.immich.api_key, cfg.photoprism.token, cfg.webhook.secret]
    out = [v.get_secret_value() for v in values if v is not None and v.get_secret_value()]
    return out + ([cfg.webhook.url] if cfg.webhook.url else [])


def _guarded(target: Target, cfg: IntegrationsConfig, call: Callable[[], TargetResult]) -> TargetResult:
    """Run one target; turn any exception into a failed result and stamp the duration."""
    t0 = time.monotonic()
    try:
        result = call()
    except Exception as exc:  # the caller's write must never fail because of a notification
        text = f"{type(exc).__name__}: {exc}"
        for secret in _secrets(cfg):
            text = text.replace(secret, "***")
        log.error("%s: notification failed unexpectedly: %s", target, text)
        result = TargetResult(target, "failed", f"{target}: unexpected error ({text})")
    result = TargetResult(
        result.target, result.status, result.message, result.counts, result.details, time.monotonic() - t0
    )
    level = logging.INFO if result.ok else logging.WARNING
    log.log(level, "%s: %s", target, result.message)
    return result


def notify_all(cfg: IntegrationsConfig, batch: WriteBatch) -> list[TargetResult]:
    """Notify each enabled target once for this write job, in a fixed order; never raises."""
    targets = enabled_targets(cfg)
    if not batch.files:
        return [TargetResult(t, "skipped", f"{t}: nothing was written") for t in targets]
    return [_guarded(t, cfg, lambda t=t: _NOTIFY[t](cfg, batch)) for t in targets]  # type: ignore[misc]


def test_connection(cfg: IntegrationsConfig, target: str) -> TargetResult:
    """Check one target with the given settings (enabled or not).

    Never raises for a connection problem; raises ValueError only for an unknown target name.
    """
    if target not in _CHECK:
        raise ValueError(f"unknown target {target!r}; expected one of {', '.join(TARGETS)}")
    tgt: Target = target  # type: ignore[assignment]
    return _guarded(tgt, cfg, lambda: _CHECK[tgt](cfg))


test_connection.__test__ = False  # type: ignore[attr-defined]  # not a pytest test despite its name
