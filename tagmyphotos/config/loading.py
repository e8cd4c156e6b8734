"""Loading: config.yaml, then TAGMYPHOTOS_* environment variables laid over it, validated once.

Why apart from the sections: reading files and the environment, merging them and turning a
validation error into one line for the user is the only part with side effects; the sections
stay plain typed models that tests and the settings page build directly.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from tagmyphotos.config.masking import SECRET_NAMES
from tagmyphotos.config.sections import Config
from tagmyphotos.errors import EXIT_USAGE, TagMyPhotosError

ENV_PREFIX = "TAGMYPHOTOS_"
DEFAULT_CONFIG_FILE = "config.yaml"


class ConfigError(TagMyPhotosError):
    """A configuration problem, with a one-line message for the user."""

    exit_code = EXIT_USAGE


def env_overrides(environ: dict[str, str]) -> dict[str, Any]:
    """TAGMYPHOTOS_ANALYSIS__WORKERS=3 -> {"analysis": {"workers": "3"}}; short forms too."""
    aliases = {
        "HOST": "SERVER__HOST",
        "PORT": "SERVER__PORT",
        "PASSWORD": "AUTH__PASSWORD",
        "API_KEY": "AUTH__API_KEY",
        "LOG_LEVEL": "LOGGING__LEVEL",
        "DATABASE_URL": "DATABASE__URL",
        "REDIS_URL": "QUEUE__REDIS_URL",
        "QUEUE_SECRET": "QUEUE__SECRET",
    }
    tree: dict[str, Any] = {}
    for name, value in environ.items():
        if not name.startswith(ENV_PREFIX) or name in (ENV_PREFIX + "CONFIG",):
            continue
        key = name[len(ENV_PREFIX) :]
        if key.endswith("_FILE") and key[:-5] in aliases:  # Docker secrets: *_FILE
            key, value = key[:-5], Path(value).read_text().strip()
        key = aliases.get(key, key)
        parts = [p.lower() for p in key.split("__")]
        node = tree
        for p in parts[:-1]:
            node = node.setdefault(p, {})
        parsed = yaml.safe_load(value) if value.strip() else value
        node[parts[-1]] = value if isinstance(parsed, (dict, type(None))) else parsed
    return tree


def deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """`over` laid over `base`, nested mappings merged key by key."""
    out = dict(base)
    for k, v in over.items():
        out[k] = deep_merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def load_config(path: str | Path | None = None, environ: dict[str, str] | None = None) -> Config:
    """Read config.yaml (if present) and the environment; raise ConfigError with one line."""
    environ = dict(os.environ if environ is None else environ)
    path = Path(path or environ.get(ENV_PREFIX + "CONFIG", DEFAULT_CONFIG_FILE))
    data: dict[str, Any] = {}
    if path.exists():
        try:
            data = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from exc
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: expected a mapping of settings at the top level")
    try:
        data = deep_merge(data, env_overrides(environ))
        cfg = Config.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        key = ".".join(str(p) for p in err["loc"])
        got = err.get("input")
        secret = str(err["loc"][-1]) in SECRET_NAMES if err["loc"] else False
        shown = "" if isinstance(got, dict) or secret else f" (got {got!r})"
        raise ConfigError(f"config error: {key}: {err['msg']}{shown}") from exc
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"config error: {exc}") from exc
    return cfg.model_copy(update={"library": cfg.library.expanduser(), "data": cfg.data.expanduser()})
