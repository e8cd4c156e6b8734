"""One small HTTP client for every integration: timeouts, bounded retries, readable errors.

Why a wrapper around httpx: the rules must be the same for every target. Retry with
exponential backoff on connection errors, timeouts, 5xx and 429 (busy); never on other 4xx
(the request is wrong or not allowed, repeating cannot help). Calls that create something
(`idempotent=False`) are only retried when the server cannot have acted on them (connect
errors, 502/503/504 from a proxy), so a lost answer never creates a duplicate. Secrets (API
keys, tokens, webhook URLs) are never logged nor put into messages.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from tagmyphotos.errors import TagMyPhotosError

# HTTP retries: backoff base * 2^attempt seconds, capped (also caps a server's Retry-After).
HTTP_BACKOFF_BASE_S = 0.5
HTTP_BACKOFF_MAX_S = 8.0

log = logging.getLogger(__name__)

# httpx logs every request URL at INFO; a webhook URL can carry its secret in the path.
for _name in ("httpx", "httpcore"):
    if logging.getLogger(_name).level < logging.WARNING:
        logging.getLogger(_name).setLevel(logging.WARNING)

_NOT_ACTED_STATUSES = frozenset({502, 503, 504})
# An error message taken from a target's JSON answer is cut to this many characters.
SERVER_MESSAGE_CHARS = 120


class IntegrationError(TagMyPhotosError):
    """A call failed for good; str(error) is a readable sentence without secrets."""

    def __init__(self, message: str, status: int | None = None, server_message: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.server_message = server_message


def server_message(resp: httpx.Response) -> str:
    """The error text the server put in its JSON body (Immich/PhotoPrism style), short.

    Never the body itself: the URL may point anywhere, and echoing its answer would turn the
    connection test into a way to read other servers of the network."""
    if "json" not in resp.headers.get("content-type", ""):
        return ""
    try:
        body = resp.json()
    except ValueError:
        return ""
    if isinstance(body, dict):
        msg = body.get("message") or body.get("error") or ""
        if isinstance(msg, list):
            msg = "; ".join(str(m) for m in msg)
        return msg[:SERVER_MESSAGE_CHARS] if isinstance(msg, str) else ""
    return ""


class ApiClient:
    """A configured httpx.Client for one target (base URL, auth headers, timeout, retries)."""

    def __init__(
        self,
        target: str,
        base_url: str,
        headers: Mapping[str, str] | None = None,
        *,
        timeout_s: float,
        retries: int,
        secrets: tuple[str, ...] = (),
        show_path: bool = True,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.target = target
        self.retries = max(0, retries)
        self.requests = 0
        self._secrets = tuple(s for s in secrets if s)
        self._show_path = show_path
        self._sleep = sleep
        self._client = httpx.Client(
            base_url=base_url,
            headers=dict(headers or {}),
            timeout=httpx.Timeout(timeout_s),
            follow_redirects=False,
            trust_env=False,
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def scrub(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    def _where(self, method: str, path: str) -> str:
        return f"{method} {path.split('?', 1)[0]}" if self._show_path else method

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        idempotent: bool = True,
        timeout_s: float | None = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """Send with retries; return a 2xx response or raise IntegrationError."""
        where = self._where(method, path)
        failure = ""
        status: int | None = None
        for attempt in range(self.retries + 1):
            retry_after: float | None = None
            t0 = time.monotonic()
            try:
                self.requests += 1
                resp = self._client.request(
                    method,
                    path,
                    json=json,
                    params=params,
                    content=content,
                    headers=headers,
                    timeout=httpx.USE_CLIENT_DEFAULT if timeout_s is None else httpx.Timeout(timeout_s),
                )
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                failure, status, retryable = f"cannot connect ({_reason(exc)})", None, True
            except httpx.TimeoutException:
                failure, status, retryable = "no answer in time (timeout)", None, idempotent
            except httpx.TransportError as exc:
                failure, status, retryable = f"connection broken ({_reason(exc)})", None, idempotent
            else:
                took = time.monotonic() - t0
                log.debug("%s: %s -> %s (%.2f s)", self.target, where, resp.status_code, took)
                if resp.status_code < 300:
                    return resp
                status = resp.status_code
                if 300 <= status < 400:
                    location = resp.headers.get("location", "")
                    raise IntegrationError(
                        self.scrub(
                            f"{self.target}: the server redirects ({status}) to {location or 'elsewhere'}; "
                            "use that address as the URL"
                        ),
                        status,
                    )
                srv = self.scrub(server_message(resp))
                failure = f"HTTP {status}" + (f" ({srv})" if srv else "")
                retryable = status == 429 or (status >= 500 and (idempotent or status in _NOT_ACTED_STATUSES))
                if not retryable:
                    raise IntegrationError(
                        self.scrub(f"{self.target}: {where} failed: {failure}"), status, srv
                    )
                retry_after = _retry_after(resp)
            if not retryable or attempt == self.retries:
                break
            delay = backoff_s(attempt, retry_after)
            log.warning(
                "%s: %s failed: %s; retry %d/%d in %.1f s",
                self.target,
                where,
                self.scrub(failure),
                attempt + 1,
                self.retries,
                delay,
            )
            self._sleep(delay)
        tries = f" after {attempt + 1} attempts" if attempt else ""
        raise IntegrationError(self.scrub(f"{self.target}: {where} failed{tries}: {failure}"), status)


def backoff_s(attempt: int, retry_after: float | None = None) -> float:
    """Exponential backoff (base * 2^attempt, capped); a server's Retry-After wins if shorter than the cap."""
    if retry_after is not None:
        return min(max(retry_after, 0.0), HTTP_BACKOFF_MAX_S)
    return float(min(HTTP_BACKOFF_BASE_S * (2**attempt), HTTP_BACKOFF_MAX_S))


def _retry_after(resp: httpx.Response) -> float | None:
    try:
        return float(resp.headers.get("retry-after", ""))
    except ValueError:
        return None


def _reason(exc: Exception) -> str:
    text = str(exc).strip()
    return (text or type(exc).__name__)[:120]
