"""/version, /stats, /whoami: what is running, how far the library is, who is asking.

Health and metrics (/healthz, /readyz, /metrics) live in ui/api/ops.py, outside /api/v1,
because orchestrators call them without a key.
"""

from __future__ import annotations

import platform
from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from jobs.queue import queue_depth
from tagmyphotos import VERSION
from tagmyphotos.core import Core
from tagmyphotos.store import migrations
from tagmyphotos.system.stats import library_stats

from .deps import get_core
from .errors import ProblemRoute

router = APIRouter(tags=["system"], route_class=ProblemRoute)


class VersionOut(BaseModel):
    version: str = Field(description="the Tag My Photos release (CHANGELOG.md)")
    api: str = "v1"
    schema_version: int = Field(description="the database schema version in use")
    latest_schema_version: int
    python: str
    analysis_model: str = Field(description="face embedding model (config analysis.model)")
    detector: str
    engine: str = Field(description="face engine (config analysis.engine): onnx | dlib")


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class PhotoStats(_Open):
    total: int
    by_state: dict[str, int]
    analysed: int
    pending: int
    failed: int


class FaceStats(_Open):
    total: int
    by_state: dict[str, int]


class PeopleStats(_Open):
    total: int
    hidden: int


class JobStats(_Open):
    by_state: dict[str, int]
    recent: list[dict[str, Any]] = Field(description="the latest jobs, newest first")


class StatsOut(_Open):
    photos: PhotoStats
    faces: FaceStats
    people: PeopleStats
    jobs: JobStats
    queue_depth: int = Field(description="tasks waiting in the queue (-1 if the queue is unreachable)")


class WhoAmI(BaseModel):
    kind: str = Field(description="api_key | env_key | session | proxy")
    name: str
    scope: str = Field(description="read | full")


def package_version() -> str:
    """The release (tagmyphotos.VERSION, the one source pyproject also reads)."""
    return VERSION


@router.get("/version", response_model=VersionOut, summary="Program, API and schema versions")
def version(core: Core = Depends(get_core)) -> VersionOut:
    return VersionOut(
        version=package_version(),
        schema_version=migrations.current_version(core.db),
        latest_schema_version=migrations.LATEST,
        python=platform.python_version(),
        analysis_model=core.cfg.analysis.model,
        detector=core.cfg.analysis.detector,
        engine=core.cfg.analysis.engine,
    )


@router.get("/stats", response_model=StatsOut, summary="Counts of photos, faces, people and jobs")
def stats() -> StatsOut:
    data = library_stats()
    data["queue_depth"] = queue_depth()
    return StatsOut(**data)


@router.get("/whoami", response_model=WhoAmI, summary="The caller as the API sees it")
def whoami(request: Request) -> WhoAmI:
    p = request.state.principal
    return WhoAmI(kind=p.kind, name=p.name, scope=p.scope)
