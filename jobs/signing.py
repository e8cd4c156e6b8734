"""Signed queue messages: the queue runs only what this installation wrote.

Why: huey stores each task as a pickle, and unpickling runs code. Anyone who can write to the
queue (a Redis password read from a screen, a copied queue.db) could make every worker run a
command. So each message carries an HMAC-SHA256 of its bytes, keyed by a secret that the web
process and every worker share, and a message whose signature is missing or wrong is dropped
with a logged error before a single byte of it is unpickled.

The key: `queue.secret` (TAGMYPHOTOS_QUEUE__SECRET) when set, else `queue.key` in the data
folder, made once (mode 0600) by the first process that starts. Workers on other machines
need the same key: share the data folder, or set the same queue.secret everywhere
(docs/production.md, "Scale-out").
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
import time
from pathlib import Path
from typing import Any

from huey.serializer import Serializer

from tagmyphotos.config import Config
from tagmyphotos.errors import TagMyPhotosError

log = logging.getLogger("tagmyphotos.jobs")

KEY_FILE = "queue.key"
# Every signed message starts with this mark and version, then the 32-byte signature.
MARK = b"tmpq1:"
SIGNATURE_BYTES = 32


class UnsignedMessage(TagMyPhotosError, ValueError):
    """A queue message this installation did not sign: never unpickled."""


class SignedSerializer(Serializer):
    """huey's pickle serializer with an HMAC-SHA256 signature checked before unpickling."""

    def __init__(self, key: bytes) -> None:
        super().__init__()
        self._key = key

    def _signature(self, data: bytes) -> bytes:
        return hmac.new(self._key, data, hashlib.sha256).digest()

    def _serialize(self, data: Any) -> bytes:
        body = super()._serialize(data)
        return MARK + self._signature(body) + body

    def _deserialize(self, data: bytes) -> Any:
        data = bytes(data)
        signature = data[len(MARK) : len(MARK) + SIGNATURE_BYTES]
        body = data[len(MARK) + SIGNATURE_BYTES :]
        if not data.startswith(MARK) or not hmac.compare_digest(signature, self._signature(body)):
            why = "unsigned" if not data.startswith(MARK) else "signed with another key"
            log.error(
                "refused a queue message (%d bytes, %s): this installation did not write it, so it is "
                "dropped without being read; if a worker logs this for every job, it does not share the "
                "queue key (queue.secret or the data folder's %s)", len(data), why, KEY_FILE,
            )  # fmt: skip
            raise UnsignedMessage(f"queue message refused ({why})")
        return super()._deserialize(body)


def queue_key(cfg: Config) -> bytes:
    """The shared signing key: queue.secret, else the data folder's key file (made once, 0600)."""
    if cfg.queue.secret is not None and cfg.queue.secret.get_secret_value():
        return cfg.queue.secret.get_secret_value().encode()
    path = cfg.data / KEY_FILE
    cfg.data.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read_key(path)
    with os.fdopen(fd, "w") as f:  # first start: no other process can have read a half key,
        f.write(secrets.token_urlsafe(32))  # as readers wait for the full length below
    return _read_key(path)


def _read_key(path: Path) -> bytes:
    for _ in range(50):  # another process may be writing it this instant
        text = path.read_text().strip()
        if len(text) >= 32:
            return text.encode()
        time.sleep(0.02)
    raise RuntimeError(f"{path}: the queue key is shorter than 32 characters; delete it to make a new one")
