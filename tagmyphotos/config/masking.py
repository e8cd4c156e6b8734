"""Masking: what of a setting may be shown — URLs without their credentials, secrets as '********'.

Why apart from the sections: the same masking serves the settings page, the API, the logs, job
errors and readiness reasons (mask_urls_in), none of which needs the config's models; one
function for every URL we show means one place to get it right.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from pydantic import BaseModel, SecretStr

MASK = "********"
# Settings whose address itself is a secret (a Home Assistant/Discord webhook id in the path):
# shown as scheme://host/******** everywhere.
SECRET_PATH_URLS = frozenset({"integrations.webhook.url"})
# Setting names whose value is never repeated in a message.
SECRET_NAMES = frozenset({"password", "api_key", "token", "secret", "storage_secret", "url", "redis_url"})
_URL_IN_TEXT = re.compile(r"(?i)\b[a-z][a-z0-9+.-]*://[^\s\"'<>]+")


def mask_model(data: Any, model: Any, prefix: str = "") -> Any:
    """`data` (a model's JSON dump) with every secret of `model` as MASK and every URL masked."""
    if isinstance(model, BaseModel):
        out = {}
        for key, value in data.items():
            attr = getattr(model, key)
            if isinstance(attr, SecretStr):
                out[key] = MASK if attr.get_secret_value() else ""
            else:
                out[key] = mask_model(value, attr, f"{prefix}{key}.")
        return out
    return mask_setting(prefix[:-1], data)


def mask_setting(dotted: str, value: Any) -> Any:
    """A setting's value safe to show: a URL without its credentials (see mask_url)."""
    if isinstance(value, str) and "://" in value:
        return mask_url(value, hide_path=dotted in SECRET_PATH_URLS)
    return value


def mask_url(url: str, hide_path: bool = False) -> str:
    """The URL with its password (or token as user name), query values and fragment replaced by
    MASK, and with hide_path its path too. The one masking function for every URL we show:
    redis://:pw@host, postgresql://user:pw@host/db, https://token@host, ?token=..."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return MASK
    if not parts.scheme or not parts.netloc:
        return url
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        user, colon, _ = userinfo.partition(":")
        netloc = f"{user}:{MASK}@{host}" if colon else f"{MASK}@{host}"
    path = "/" + MASK if hide_path and parts.path.strip("/") else parts.path
    query = "&".join(f"{k}={MASK}" for k, _ in parse_qsl(parts.query, keep_blank_values=True))
    if hide_path and parts.query:
        query = MASK
    return urlunsplit((parts.scheme, netloc, path, query, MASK if parts.fragment else ""))


def mask_urls_in(text: str) -> str:
    """Every URL inside a text (a log line, a job error, a readiness reason) masked."""
    return _URL_IN_TEXT.sub(lambda mt: mask_url(mt.group(0)), text)
