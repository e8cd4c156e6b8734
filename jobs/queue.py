"""The huey queue object, alone in a leaf module: tasks import it, the entry point configures it.

It starts in immediate (in-memory) mode so importing it never creates files; configure_queue
binds it to SQLite in the data folder (default) or Redis (scale-out) before any task is sent,
with every message signed by the installation's queue key (jobs/signing.py): both storages
run only what this installation wrote.
"""

from __future__ import annotations

import secrets

from huey import Huey
from huey.storage import RedisStorage, SqliteStorage

from tagmyphotos.config import Config

from .signing import SignedSerializer, queue_key

# Until configure_queue: a key of this process only (immediate mode never leaves the process).
huey = Huey(
    "tagmyphotos", immediate=True, results=False, utc=True,
    serializer=SignedSerializer(secrets.token_bytes(32)),
)  # fmt: skip


def configure_queue(cfg: Config, immediate: bool = False) -> Huey:
    """Bind the queue to its real storage (or keep it immediate, for tests and one-shot CLI)."""
    if immediate:
        huey.immediate = True
        return huey
    huey.serializer = SignedSerializer(queue_key(cfg))
    if cfg.queue.backend == "redis":
        huey.storage_class = RedisStorage
        huey.storage_kwargs = {"url": cfg.queue.redis_url}
    else:
        cfg.data.mkdir(parents=True, exist_ok=True)
        huey.storage_class = SqliteStorage
        huey.storage_kwargs = {"filename": str(cfg.queue_path), "timeout": 15}
    huey._immediate = False  # set directly: the property would build an in-memory store
    huey.storage = huey.create_storage()
    return huey


def queue_depth() -> int:
    try:
        return int(huey.pending_count())
    except Exception:  # a storage that is unreachable has no depth to report
        return -1
