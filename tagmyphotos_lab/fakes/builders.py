"""Small builders shared by the integration tests: configs pointing at the fakes, batches."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

from integrations.batch import FaceBox, WriteBatch, WrittenFace, WrittenFile
from tagmyphotos.config import IntegrationsConfig

LIBRARY = Path("/library")


def integrations_cfg(
    *,
    immich: dict[str, Any] | None = None,
    photoprism: dict[str, Any] | None = None,
    webhook: dict[str, Any] | None = None,
    timeout_s: float = 2.0,
    retries: int = 2,
) -> IntegrationsConfig:
    data: dict[str, Any] = {"timeout_s": timeout_s, "retries": retries}
    for name, section in (("immich", immich), ("photoprism", photoprism), ("webhook", webhook)):
        if section is not None:
            data[name] = {"enabled": True, **section}
    return IntegrationsConfig.model_validate(data)


def written(
    rel_path: str,
    faces: tuple[tuple[str, tuple[float, float, float, float]], ...] = (),
    size: tuple[int, int] = (4000, 3000),
    sidecar_created: bool = False,
) -> WrittenFile:
    """A written file; faces as (name, (x, y, w, h) normalized)."""
    wfaces = tuple(WrittenFace(name, FaceBox(*box)) for name, box in faces)
    return WrittenFile(
        rel_path,
        people=tuple(dict.fromkeys(n for n, _ in faces)),
        faces=wfaces,
        image_width=size[0],
        image_height=size[1],
        sidecar_created=sidecar_created,
    )


def batch(*files: WrittenFile, job_id: str = "job-1", root: Path = LIBRARY) -> WriteBatch:
    return WriteBatch(job_id=job_id, library_root=root, files=files)


def closed_port_url() -> str:
    """An http URL on 127.0.0.1 where nothing listens (connection refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"
