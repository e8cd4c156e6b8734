"""Who is calling: API keys, the UI password, signed session cookies, trusted proxy headers.

Why these choices: an API key is 32 random bytes, so a fast SHA-256 of it is as safe to store
as a slow hash and costs nothing per request; a short, non-secret prefix finds its row. The UI
password is a human secret and gets scrypt. Sessions are itsdangerous-signed cookies carrying
a fingerprint of the password hash, so changing the password logs every session out, and a
random session id that must still be on record (a `session:<id>` setting): logging out deletes
it, so a copied cookie dies with the logout instead of living its 30 days. Proxy
header auth trusts a header only from configured proxy addresses, and is off by default.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import ipaddress
import logging
import math
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import peewee as pw
from itsdangerous import BadSignature, URLSafeTimedSerializer

from tagmyphotos.config import Config
from tagmyphotos.errors import EXIT_USAGE, TagMyPhotosError
from tagmyphotos.store import models as m
from tagmyphotos.system.throttle import THROTTLE, LoginThrottle

log = logging.getLogger("tagmyphotos.auth")

SCOPE_READ = "read"
SCOPE_FULL = "full"
SCOPES = (SCOPE_READ, SCOPE_FULL)

KEY_MARK = "tmpk_"  # every key starts with this, so a leaked one is recognisable in a scan
KEY_PREFIX_CHARS = 13  # stored, non-secret part: the mark plus 8 random characters
# Write `last_used_at` at most this often per key (seconds): no DB write on every request.
KEY_TOUCH_EVERY_S = 60
# Docker secret files read when no key is set in config/environment.
DOCKER_SECRET_FILES = (Path("/run/secrets/tagmyphotos_api_key"),)

PASSWORD_SETTING = "auth.password_hash"
SESSION_RECORD_PREFIX = "session:"
SESSION_SECRET_SETTING = "session_secret"
SESSION_COOKIE = "tagmyphotos_session"
SESSION_MAX_AGE_S = 30 * 24 * 3600
MIN_PASSWORD_CHARS = 8
# scrypt cost: n=2^14, r=8 uses 16 MiB and ~50 ms on a NAS core; login only, never per request.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 1 << 14, 8, 1


class AuthError(TagMyPhotosError, ValueError):
    """A refused auth operation (bad scope, weak password, wrong current password)."""

    http_status = 400
    slug = "refused"
    exit_code = EXIT_USAGE


@dataclass(frozen=True)
class Principal:
    """An authenticated caller: how it proved itself, a display name, and what it may do."""

    kind: str  # api_key | env_key | session | proxy
    name: str
    scope: str
    key_id: int | None = None

    @property
    def can_write(self) -> bool:
        return self.scope == SCOPE_FULL


@dataclass(frozen=True)
class ApiKeyInfo:
    id: int
    name: str
    prefix: str
    scope: str
    created_at: str
    last_used_at: str | None
    revoked_at: str | None

    @classmethod
    def of(cls, row: m.ApiKey) -> ApiKeyInfo:
        return cls(row.id, row.name, row.prefix, row.scope, utc_iso(row.created_at) or "",
                   utc_iso(row.last_used_at), utc_iso(row.revoked_at))  # fmt: skip


def utc_iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() + "Z" if value else None


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# --- API keys -------------------------------------------------------------------------------
def create_api_key(name: str, scope: str = SCOPE_FULL) -> tuple[ApiKeyInfo, str]:
    """Make a key; returns its record and the key itself, which is shown once and never stored."""
    name = name.strip()
    if not name or len(name) > 100:
        raise AuthError("a key needs a name of 1 to 100 characters")
    if scope not in SCOPES:
        raise AuthError(f"scope must be one of {', '.join(SCOPES)}")
    key = KEY_MARK + secrets.token_urlsafe(32)
    row = m.ApiKey.create(name=name, prefix=key[:KEY_PREFIX_CHARS], key_hash=_sha256(key), scope=scope)
    return ApiKeyInfo.of(row), key


def list_api_keys(include_revoked: bool = False) -> list[ApiKeyInfo]:
    query = m.ApiKey.select().order_by(m.ApiKey.id)
    if not include_revoked:
        query = query.where(m.ApiKey.revoked_at.is_null())
    return [ApiKeyInfo.of(row) for row in query]


def get_api_key(key_id: int) -> ApiKeyInfo | None:
    row = m.ApiKey.get_or_none(m.ApiKey.id == key_id)
    return ApiKeyInfo.of(row) if row else None


def revoke_api_key(ref: int | str) -> ApiKeyInfo | None:
    """Revoke by id or by the key's shown prefix; None when nothing (unrevoked) matches."""
    if isinstance(ref, int) or (isinstance(ref, str) and ref.isdigit()):
        query = m.ApiKey.select().where(m.ApiKey.id == int(ref))
    else:
        query = m.ApiKey.select().where(m.ApiKey.prefix == str(ref)[:KEY_PREFIX_CHARS])
    rows = list(query.where(m.ApiKey.revoked_at.is_null()))
    if len(rows) != 1:
        return None
    row = rows[0]
    row.revoked_at = m.utcnow()
    row.save()
    return ApiKeyInfo.of(row)


def configured_api_key(cfg: Config) -> str | None:
    """The automation key from config/TAGMYPHOTOS_API_KEY(_FILE), else a Docker secret file."""
    if cfg.auth.api_key and cfg.auth.api_key.get_secret_value().strip():
        return cfg.auth.api_key.get_secret_value().strip()
    for path in DOCKER_SECRET_FILES:
        try:
            value = path.read_text().strip()
        except OSError:
            continue
        if value:
            return value
    return None


def authenticate_key(cfg: Config, presented: str) -> Principal | None:
    """The caller behind an `X-API-Key`/Bearer value, or None; constant-time comparisons."""
    presented = presented.strip()
    if not presented or len(presented) > 512:
        return None
    digest = _sha256(presented)
    env_key = configured_api_key(cfg)
    if env_key and hmac.compare_digest(digest, _sha256(env_key)):
        return Principal("env_key", "configured key", SCOPE_FULL)
    candidates = m.ApiKey.select().where(
        (m.ApiKey.prefix == presented[:KEY_PREFIX_CHARS]) & m.ApiKey.revoked_at.is_null()
    )
    for row in candidates:
        if hmac.compare_digest(row.key_hash, digest):
            now = m.utcnow()
            if row.last_used_at is None or (now - row.last_used_at).total_seconds() > KEY_TOUCH_EVERY_S:
                try:
                    m.ApiKey.update(last_used_at=now).where(m.ApiKey.id == row.id).execute()
                except pw.OperationalError:  # locked or full: bookkeeping must not refuse a read
                    log.warning("could not record the use of API key %s (database busy)", row.prefix)
            return Principal("api_key", row.name, row.scope, int(row.id))
    return None


# --- UI password ----------------------------------------------------------------------------
def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32)
    b64 = lambda b: base64.b64encode(b).decode()  # noqa: E731
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${b64(salt)}${b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    try:
        algo, n, r, p, salt, digest = stored.split("$")
        if algo != "scrypt":
            return False
        expected = base64.b64decode(digest)
        got = hashlib.scrypt(
            password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p),
            dklen=len(expected), maxmem=256 * 1024 * 1024,
        )  # fmt: skip
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, expected)


def _stored_hash() -> str | None:
    row = m.Setting.get_or_none(m.Setting.key == PASSWORD_SETTING)
    return str(row.value) if row and row.value else None


def sync_configured_password(cfg: Config) -> None:
    """Store the hash of a password given in config/TAGMYPHOTOS_PASSWORD (call at start)."""
    if cfg.auth.password is None or not cfg.auth.password.get_secret_value():
        return
    given = cfg.auth.password.get_secret_value()
    stored = _stored_hash()
    if stored is None or not verify_password(given, stored):
        m.put_setting(PASSWORD_SETTING, hash_password(given))


def password_is_set(cfg: Config) -> bool:
    """False on first run with no configured password: the UI then asks to choose one."""
    return bool(cfg.auth.password and cfg.auth.password.get_secret_value()) or _stored_hash() is not None


def check_password(cfg: Config, password: str) -> bool:
    sync_configured_password(cfg)
    stored = _stored_hash()
    return stored is not None and verify_password(password, stored)


@dataclass(frozen=True)
class LoginAttempt:
    ok: bool
    message: str = ""  # why not, for the person at the login form


def attempt_login(cfg: Config, password: str, client: str, throttle: LoginThrottle = THROTTLE) -> LoginAttempt:
    """Check a UI password within the client's failure budget (see system.throttle)."""
    with throttle.checking:  # one check at a time: 40 sockets at once cannot all slip under it
        wait = throttle.wait_s(client)
        if wait > 0:
            throttle.refused(client, wait)
            return LoginAttempt(False, f"Too many failed logins. Try again in {math.ceil(wait)} s.")
        if check_password(cfg, password):
            throttle.succeeded(client)
            return LoginAttempt(True)
        throttle.failed(client)
    return LoginAttempt(False, "Wrong password.")


def client_address(cfg: Config, peer: str | None, forwarded_for: str | None) -> str:
    """The address a login counts against: the peer, or the last X-Forwarded-For hop when the
    peer is a trusted proxy (auth.proxy_trusted_ips)."""
    if forwarded_for and _trusted(peer, cfg.auth.proxy_trusted_ips):
        hop = forwarded_for.split(",")[-1].strip()
        if hop:
            return hop[:64]
    return peer or "unknown"


def set_password(cfg: Config, new: str, current: str | None = None) -> None:
    """First-run choice (no current needed) or a change (the current password is required)."""
    if cfg.auth.password and cfg.auth.password.get_secret_value():
        raise AuthError("the password is set in the configuration; change it there")
    if len(new) < MIN_PASSWORD_CHARS:
        raise AuthError(f"the password needs at least {MIN_PASSWORD_CHARS} characters")
    stored = _stored_hash()
    if stored is not None and not (current is not None and verify_password(current, stored)):
        raise AuthError("the current password is wrong")
    m.put_setting(PASSWORD_SETTING, hash_password(new))


# --- sessions -------------------------------------------------------------------------------
def session_secret(cfg: Config) -> str:
    """The signing secret: from config (server.storage_secret), else made once and kept in the DB."""
    if cfg.server.storage_secret:
        return cfg.server.storage_secret.get_secret_value()
    row = m.Setting.get_or_none(m.Setting.key == SESSION_SECRET_SETTING)
    if row is None:
        m.Setting.insert(key=SESSION_SECRET_SETTING, value=secrets.token_urlsafe(32)).on_conflict_ignore().execute()
        row = m.Setting.get(m.Setting.key == SESSION_SECRET_SETTING)
    return str(row.value)


def _serializer(cfg: Config) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(session_secret(cfg), salt="tagmyphotos.session")


def _password_fingerprint() -> str:
    return _sha256(_stored_hash() or "")[:16]


def make_session(cfg: Config, user: str = "admin") -> str:
    """The value of the SESSION_COOKIE after a successful login (set it HttpOnly, SameSite=Lax)."""
    _forget_expired_sessions()
    sid = secrets.token_urlsafe(18)
    m.put_setting(SESSION_RECORD_PREFIX + sid, {"u": user, "t": time.time()})
    return str(_serializer(cfg).dumps({"u": user, "p": _password_fingerprint(), "s": sid}))


def end_session(cfg: Config, token: str) -> bool:
    """Log a session out on the server (the cookie, wherever copied, stops working)."""
    try:
        data = _serializer(cfg).loads(token, max_age=SESSION_MAX_AGE_S)
    except BadSignature:
        return False
    sid = data.get("s") if isinstance(data, dict) else None
    if not isinstance(sid, str):
        return False
    return bool(m.Setting.delete().where(m.Setting.key == SESSION_RECORD_PREFIX + sid).execute())


def _forget_expired_sessions() -> None:
    cutoff = time.time() - SESSION_MAX_AGE_S
    for row in m.Setting.select().where(m.Setting.key.startswith(SESSION_RECORD_PREFIX)):
        if not isinstance(row.value, dict) or float(row.value.get("t") or 0) < cutoff:
            row.delete_instance()


def read_session(cfg: Config, token: str, max_age_s: int = SESSION_MAX_AGE_S) -> Principal | None:
    """The session's user, or None when unsigned, expired, or from before a password change."""
    try:
        data = _serializer(cfg).loads(token, max_age=max_age_s)
    except BadSignature:
        return None
    if not isinstance(data, dict) or not hmac.compare_digest(str(data.get("p")), _password_fingerprint()):
        return None
    if _stored_hash() is None:
        return None
    sid = data.get("s")
    if not isinstance(sid, str) or m.Setting.get_or_none(m.Setting.key == SESSION_RECORD_PREFIX + sid) is None:
        return None  # logged out (or a cookie from before server-side sessions)
    return Principal("session", str(data.get("u") or "admin"), SCOPE_FULL)


# --- trusted reverse proxy ------------------------------------------------------------------
def _trusted(client_ip: str | None, networks: list[str]) -> bool:
    if not client_ip:
        return False
    try:
        ip = ipaddress.ip_address(client_ip)
    except ValueError:
        return False
    for net in networks:
        try:
            if ip in ipaddress.ip_network(net, strict=False):
                return True
        except ValueError:
            continue
    return False


def from_trusted_proxy(cfg: Config, peer: str | None) -> bool:
    """True when the peer is one of auth.proxy_trusted_ips: only then do its X-Forwarded-* count."""
    return _trusted(peer, cfg.auth.proxy_trusted_ips)


def proxy_principal(cfg: Config, headers: Mapping[str, str], client_ip: str | None) -> Principal | None:
    """The user named by the proxy header (auth.proxy_header), only from a trusted proxy address."""
    header = cfg.auth.proxy_header.strip()
    if not header or not _trusted(client_ip, cfg.auth.proxy_trusted_ips):
        return None
    user = (headers.get(header) or "").strip()
    if not user or len(user) > 200:
        return None
    return Principal("proxy", user, SCOPE_FULL)
