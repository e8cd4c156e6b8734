"""/version, /health, /stats, /whoami: what is running and whether it can work, how far the
library is, who is asking.

The orchestrators' probes and metrics (/healthz, /readyz, /metrics) live in ui/api/ops.py,
outside /api/v1, because they are called without a key; /health is the same readiness checks
for an API client, always answered 200 with the verdict in the body (a 503 means "do not send
traffic", which is the orchestrator's business, not a client's).
"""

from __future__ import annotations

import platform
from dataclasses import asdict
from typing import Any, Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from jobs.queue import queue_depth
from tagmyphotos import VERSION
from tagmyphotos.core import Core
from tagmyphotos.store import migrations
from tagmyphotos.system.health import readiness
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


class HealthCheckOut(BaseModel):
    name: str = Field(description="database | queue | exiftool | weights")
    ok: bool
    detail: str = Field(description="what was found, or why the check failed")
    seconds: float = Field(description="how long the check took")


class HealthOut(BaseModel):
    status: Literal["ok", "degraded"] = Field(description="ok when every check passed")
    version: str = Field(description="the Tag My Photos release (CHANGELOG.md)")
    reasons: list[str] = Field(description="one line per failed check")
    checks: list[HealthCheckOut]


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


@router.get(
    "/health", response_model=HealthOut,
    summary="Whether the database, the queue, exiftool and the model weights are usable, and the release",
)  # fmt: skip
def health(core: Core = Depends(get_core)) -> HealthOut:
    result = readiness(core.cfg, core.db, queue_depth)
    return HealthOut(
        status="ok" if result.ok else "degraded",
        version=package_version(),
        reasons=result.reasons,
        checks=[HealthCheckOut(**asdict(check)) for check in result.checks],
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
