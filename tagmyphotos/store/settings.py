"""Settings edited at run time (UI/API), kept in the Setting table and laid over the config.

Why a whitelist: the API may change how the pipeline behaves, never where files are, who may
log in, or which program runs (library/data paths, server, auth, queue, database and
write.exiftool stay file/environment-only). Why environment variables still win: a value
set in the container's environment is the operator's decision, so it is shown as locked.

Precedence at load: config.yaml < these overrides < TAGMYPHOTOS_* environment.
"""

from __future__ import annotations

import os
from fnmatch import fnmatch
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, SecretStr, ValidationError

from tagmyphotos.config import Config, deep_merge, env_overrides, mask_setting
from tagmyphotos.errors import EXIT_USAGE, TagMyPhotosError
from tagmyphotos.store import models as m

OVERRIDES_SETTING = "config.overrides"
REPLACED_SETTING = "config.replaced"
ORIGINS_SETTING = "config.secret_origins"  # secret key -> the origin it was entered for
WITHHELD_SETTING = "config.withheld"  # secret key -> why it is not used now (for the page)
MASK = "********"

# Dotted keys (fnmatch patterns) that the API/UI may change.
EDITABLE_PATTERNS: tuple[str, ...] = (
    "scan.interval_minutes", "scan.exclude", "scan.extensions", "scan.raw_extensions",
    "analysis.workers", "analysis.batch_size", "analysis.min_face_px", "analysis.detect_max_px",
    "matching.*", "review.*",
    "write.auto", "write.mode", "write.sidecar_naming", "write.person_in_image", "write.subject_keywords",
    "write.hierarchical_keywords", "write.digikam_tags", "write.keyword_prefix",
    "write.microsoft_regions", "write.preserve_mtime", "write.backup_retention_days", "write.min_free_mb",
    "write.workers",
    "integrations.*",
    "logging.level",
)  # fmt: skip
# Keys read once at start: a change is saved but takes effect after a restart.
RESTART_PATTERNS: tuple[str, ...] = ("analysis.workers", "logging.*")
# A stored secret belongs to the site it was given for: when its URL moves to another origin
# (scheme, host or port), it is cleared unless sent again in the same change. Otherwise one
# PATCH of the URL sent the saved Immich key to any listener.
SECRET_OF_URL: dict[str, str] = {
    "integrations.immich.url": "integrations.immich.api_key",
    "integrations.photoprism.url": "integrations.photoprism.token",
    "integrations.webhook.url": "integrations.webhook.secret",
}


class SettingsError(TagMyPhotosError, ValueError):
    """A refused change, naming the key and the reason."""

    http_status = 400
    slug = "bad-setting"
    exit_code = EXIT_USAGE


def _flatten(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict) and value and not dotted.startswith("matching.distance_threshold"):
            out.update(_flatten(value, dotted + "."))
        else:
            out[dotted] = value
    return out


def _nest(flat: dict[str, Any]) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    for dotted, value in flat.items():
        node = tree
        parts = dotted.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return tree


def all_keys(cfg: Config) -> dict[str, Any]:
    """Every leaf setting as dotted key -> value (secrets as SecretStr)."""

    def walk(model: BaseModel, prefix: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in type(model).model_fields:
            value = getattr(model, name)
            dotted = f"{prefix}{name}"
            out.update(walk(value, dotted + ".") if isinstance(value, BaseModel) else {dotted: value})
        return out

    return walk(cfg, "")


def is_editable(key: str) -> bool:
    return any(fnmatch(key, pattern) for pattern in EDITABLE_PATTERNS)


def needs_restart(key: str) -> bool:
    return any(fnmatch(key, pattern) for pattern in RESTART_PATTERNS)


def env_locked(environ: dict[str, str] | None = None) -> set[str]:
    """Dotted keys set by TAGMYPHOTOS_* variables (they beat anything saved here)."""
    environ = dict(os.environ if environ is None else environ)
    try:
        return set(_flatten(env_overrides(environ)))
    except OSError:  # an unreadable *_FILE secret: load_config reports it
        return set()


def stored_overrides() -> dict[str, Any]:
    """The saved overrides as dotted key -> plain value (secrets in clear: never send these)."""
    row = m.Setting.get_or_none(m.Setting.key == OVERRIDES_SETTING)
    return dict(row.value) if row and isinstance(row.value, dict) else {}


def apply_overrides(cfg: Config, environ: dict[str, str] | None = None) -> Config:
    """The config with saved overrides laid over it, minus keys the environment fixes, and
    without any secret whose URL now points at another origin than it was given for."""
    locked = env_locked(environ)
    stored = stored_overrides()
    usable = {k: v for k, v in stored.items() if is_editable(k) and k not in locked}
    return _bind_secrets(_validated(cfg, usable), stored, _replaced(), locked)


def _bind_secrets(cfg: Config, stored: dict[str, Any], replaced: dict[str, Any], locked: set[str]) -> Config:
    """A secret belongs to the origin it was configured for (config.yaml's URL for a secret from
    config.yaml, the URL of the moment for one saved here): paired with a URL of any other origin
    it is left out of the effective config, so no reset, test or job can send it there."""
    plain = {k: _plain(v) for k, v in all_keys(cfg).items()}
    origins = _setting(ORIGINS_SETTING)
    withheld: dict[str, str] = {}
    for url_key, secret_key in SECRET_OF_URL.items():
        if not plain.get(secret_key):
            continue
        if secret_key in stored and secret_key not in locked:
            given_for = origins.get(secret_key) or _origin_text(plain[url_key])  # saved before origins
        elif url_key in stored and url_key not in locked:
            given_for = _origin_text(replaced.get(url_key))  # config.yaml's own URL
        else:
            continue  # both from config.yaml / the environment: configured together
        if given_for != _origin_text(plain[url_key]):
            withheld[secret_key] = (
                f"it was given for {given_for or 'another address'}, and the address is now "
                f"{_origin_text(plain[url_key]) or 'empty'}: it is not sent there. Enter it again for the new address."
            )  # fmt: skip
    if withheld != _setting(WITHHELD_SETTING):
        m.put_setting(WITHHELD_SETTING, withheld)
    if not withheld:
        return cfg
    return Config.model_validate(deep_merge(cfg.model_dump(), _nest(dict.fromkeys(withheld))))


def withheld_secrets() -> dict[str, str]:
    """Secrets left out of the effective config, each with why (see _bind_secrets)."""
    return {str(k): str(v) for k, v in _setting(WITHHELD_SETTING).items()}


def _origin_text(url: Any) -> str:
    scheme, host, port = origin(url)
    return f"{scheme}://{host}:{port}" if scheme and host else ""


def _setting(key: str) -> dict[str, Any]:
    row = m.Setting.get_or_none(m.Setting.key == key)
    return dict(row.value) if row and isinstance(row.value, dict) else {}


def _validated(cfg: Config, flat: dict[str, Any]) -> Config:
    base = cfg.model_dump()
    try:
        return Config.model_validate(deep_merge(base, _nest(flat)))
    except ValidationError as exc:
        err = exc.errors()[0]
        key = ".".join(str(p) for p in err["loc"])
        raise SettingsError(f"{key}: {err['msg']}") from exc


def save_changes(
    cfg: Config,
    changes: dict[str, Any],
    reset: list[str] | None = None,
    environ: dict[str, str] | None = None,
) -> tuple[Config, list[str]]:
    """Validate and save changes (dotted key -> value); returns the new config and keys that
    need a restart. A secret sent back as the mask is left unchanged.
    """
    known = all_keys(cfg)
    locked = env_locked(environ)
    stored = stored_overrides()
    for key in list(changes) + list(reset or []):
        if key not in known:
            raise SettingsError(f"{key}: no such setting")
        if not is_editable(key):
            raise SettingsError(f"{key}: can only be changed in config.yaml or the environment")
        if key in locked:
            raise SettingsError(f"{key}: set by an environment variable, which takes precedence")
    replaced = _replaced()
    plain = {k: _plain(v) for k, v in known.items()}
    undo = {key: replaced.pop(key, plain[key]) for key in reset or [] if key in stored}
    for key in reset or []:
        stored.pop(key, None)
    for key, value in {**changes, **_secrets_left_behind(changes, plain, locked)}.items():
        if isinstance(known[key], SecretStr) and value == MASK:
            continue
        if _masked_echo(key, value, plain[key]):
            continue
        if key not in stored:
            replaced.setdefault(key, plain[key])
        stored[key] = value
    new_cfg = _validated(cfg, {**undo, **{k: v for k, v in stored.items() if k not in locked}})
    effective = all_keys(new_cfg)
    stored = {k: _plain(effective[k]) for k in stored}  # normalised: "3" -> 3
    origins = _new_origins(changes, reset or [], stored, {k: _plain(v) for k, v in effective.items()})
    with m.database.atomic():
        m.put_setting(OVERRIDES_SETTING, stored)
        m.put_setting(REPLACED_SETTING, replaced)
        m.put_setting(ORIGINS_SETTING, origins)
        new_cfg = _bind_secrets(new_cfg, stored, replaced, locked)
    restart = sorted(k for k in list(changes) + list(reset or []) if needs_restart(k))
    return new_cfg, restart


def _new_origins(
    changes: dict[str, Any], reset: list[str], stored: dict[str, Any], plain: dict[str, Any]
) -> dict[str, Any]:
    """The origin each saved secret was entered for: the URL in effect with this change."""
    origins = _setting(ORIGINS_SETTING)
    for url_key, secret_key in SECRET_OF_URL.items():
        if secret_key in reset or not stored.get(secret_key):
            origins.pop(secret_key, None)
        elif secret_key in changes and changes[secret_key] != MASK:
            origins[secret_key] = _origin_text(plain[url_key])
    return origins


def origin(url: Any) -> tuple[str, str, int | None]:
    """(scheme, host, port) of a URL, the default port filled in; the part a secret is bound to."""
    parts = urlsplit(str(url or "").strip())
    try:
        port = parts.port
    except ValueError:
        port = None
    scheme = parts.scheme.lower()
    return scheme, (parts.hostname or "").lower(), port or {"http": 80, "https": 443}.get(scheme)


def _secrets_left_behind(changes: dict[str, Any], plain: dict[str, Any], locked: set[str]) -> dict[str, str]:
    """Secrets to clear because their URL now points at another origin (see SECRET_OF_URL)."""
    cleared: dict[str, str] = {}
    for url_key, secret_key in SECRET_OF_URL.items():
        if url_key not in changes or origin(changes[url_key]) == origin(plain.get(url_key)):
            continue
        if changes.get(secret_key) not in (None, MASK) or not plain.get(secret_key):
            continue  # sent again with the new URL, or nothing to protect
        if secret_key in locked:
            raise SettingsError(f"{url_key}: {secret_key} is set by an environment variable for the current "
                                "site; change the URL there, or unset that variable first")  # fmt: skip
        cleared[secret_key] = ""
    return cleared


def _masked_echo(key: str, value: Any, current: Any) -> bool:
    """True for a URL sent back as it was shown (masked): no change. A URL with the mask in it
    otherwise is refused: the hidden part cannot be edited, only typed again in full."""
    shown = mask_setting(key, current)
    if shown != current and value == shown:
        return True
    if isinstance(value, str) and "://" in value and MASK in value:
        raise SettingsError(f"{key}: type the whole address again; the shown one hides its secret part")
    return False


def _plain(value: Any) -> Any:
    return value.get_secret_value() if isinstance(value, SecretStr) else value


def _replaced() -> dict[str, Any]:
    """The value each override replaced, so a reset in a running process can restore it."""
    return _setting(REPLACED_SETTING)


def masked_overrides() -> dict[str, Any]:
    """Saved overrides safe to show: secret-looking values masked."""
    return {k: (MASK if _secret_key(k) and v else mask_setting(k, v)) for k, v in stored_overrides().items()}


def _secret_key(key: str) -> bool:
    return key.rsplit(".", 1)[-1] in ("api_key", "token", "secret", "password")
