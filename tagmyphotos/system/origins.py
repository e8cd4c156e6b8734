"""Which browser origins may drive the UI's websocket and write through the API with a cookie.

Why: the websocket carries every UI action and the session cookie rides along on any page's
request, so a foreign page (cross-site WebSocket hijacking, CSRF) must be refused by Origin. Our
own origin is the one the browser used to reach us: the Host header, or X-Forwarded-Host and
X-Forwarded-Proto from a reverse proxy. Behind a proxy that rewrites the host, `server.public_url`
names the origin users see (https://example.com/tagmyphotos/ gives https://example.com).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from tagmyphotos.config import Config


def origin_of(url: str) -> str:
    """scheme://host[:port] of an absolute URL, lower case; "" when it has none."""
    parts = urlsplit(url.strip())
    if not parts.scheme or not parts.netloc:
        return ""
    return f"{parts.scheme}://{parts.netloc}".lower()


def public_origin(cfg: Config) -> str:
    return origin_of(cfg.server.public_url) if cfg.server.public_url else ""


def origin_allowed(cfg: Config, origin: str | None, host: str | None, forwarded_host: str | None = None) -> bool:
    """True when `origin` (a browser's Origin or Referer) is this server as the browser sees it.

    Same origin is judged by host and port only (scheme-agnostic, as a TLS-terminating proxy may
    not say https); the configured public URL is matched exactly.
    """
    if not origin:
        return False
    seen = origin_of(origin)
    if not seen:
        return False
    if seen == public_origin(cfg):
        return True
    netloc = urlsplit(seen).netloc
    own = {h.split(",")[0].strip().lower() for h in (host, forwarded_host) if h}
    return netloc in own
