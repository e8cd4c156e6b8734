"""Logging: structured (JSON lines) or plain to stdout, optionally a rotating file in /data."""

from __future__ import annotations

import json
import logging
import logging.handlers
import re
from urllib.parse import urlsplit

from pydantic import SecretStr

from tagmyphotos.config import MASK, SECRET_PATH_URLS, Config, mask_urls_in
from tagmyphotos.errors import escape_controls

# Never let a secret reach a log line, whatever code logs it (also inside escaped JSON, as
# peewee's DEBUG lines show a JSON setting: \\"api_key\\": \\"...\\").
_SECRET_RE = re.compile(
    r"(?i)(api[_-]?key|token|password|secret|authorization)([\\\"'=: ]+)((?:bearer|basic|token)\s+)?([^\s\\\"',&]+)"
)
# The configured secrets themselves, and the secret part of secret addresses (a webhook id in
# a path): replaced wherever they appear, whatever the line looks like.
_known: list[str] = []


def remember_secrets(cfg: Config) -> None:
    """Learn the configuration's secret values so redact() hides them verbatim too."""
    found: list[str] = []

    def walk(model: object, prefix: str) -> None:
        for name in type(model).model_fields:  # type: ignore[attr-defined]
            value, dotted = getattr(model, name), f"{prefix}{name}"
            if isinstance(value, SecretStr):
                found.append(value.get_secret_value())
            elif dotted in SECRET_PATH_URLS and isinstance(value, str):
                parts = urlsplit(value)
                found.extend(p for p in (parts.path.strip("/"), parts.query) if p)
            elif hasattr(value, "model_fields"):
                walk(value, dotted + ".")

    walk(cfg, "")
    _known[:] = sorted({s for s in found if len(s) >= 4}, key=len, reverse=True)


def redact(text: str) -> str:
    for secret in _known:
        text = text.replace(secret, MASK)
    text = mask_urls_in(text)  # postgresql://user:PASSWORD@host, redis://:PASSWORD@host, ?token=
    return _SECRET_RE.sub(lambda mt: f"{mt.group(1)}{mt.group(2)}{mt.group(3) or ''}********", text)


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": redact(record.getMessage()),
        }
        if record.exc_info:
            data["exc"] = redact(self.formatException(record.exc_info))
        return json.dumps(data)


class _PlainFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:  # a terminal reads it: no control characters
        return escape_controls(redact(super().format(record)))


def configure_logging(cfg: Config) -> None:
    remember_secrets(cfg)
    fmt: logging.Formatter = (
        _JsonFormatter()
        if cfg.logging.json_format
        else _PlainFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    root = logging.getLogger()
    root.setLevel(cfg.logging.level)
    for handler in list(root.handlers):
        if getattr(handler, "_tagmyphotos", False):
            root.removeHandler(handler)
    handlers: list[logging.Handler] = [logging.StreamHandler()]
    if cfg.logging.file:
        cfg.data.mkdir(parents=True, exist_ok=True)
        handlers.append(
            logging.handlers.RotatingFileHandler(
                cfg.data / "tagmyphotos.log", maxBytes=10_000_000, backupCount=5
            )
        )
    for handler in handlers:
        handler.setFormatter(fmt)
        handler._tagmyphotos = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    logging.getLogger("huey").setLevel(max(logging.WARNING, root.level))
