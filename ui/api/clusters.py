"""/clusters: groups of unknown faces that look alike; name one in a single action.

Cluster ids are never reused (tagmyphotos.suggest.clusters), and naming takes the face ids the caller
saw, so a refresh running meanwhile cannot make a script confirm strangers.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, ConfigDict, Field, StrictBool, model_validator

from tagmyphotos.core import Core
from tagmyphotos.review import confirm
from tagmyphotos.store.views import ClusterView
from tagmyphotos.suggest import clusters

from .deps import Page, PageParams, get_core, page_params
from .errors import ProblemRoute
from .faces import MAX_BULK_IDS
from .problems import ApiProblem, problem_responses
from .schemas import MAX_ID, FaceOut, Id, PersonName, RequestBody, ReviewResultOut, exactly_one

router = APIRouter(prefix="/clusters", tags=["clusters"], route_class=ProblemRoute)
ClusterIdPath = Annotated[int, Path(ge=0, le=MAX_ID, description="cluster id")]
FaceIdList = list[Id]


class ClusterOut(BaseModel):
    id: int
    size: int = Field(description="unknown faces in the cluster")
    photos: int = Field(description="photos they are in")
    faces: list[FaceOut] = Field(description="the best faces first, at most `sample`")

    @classmethod
    def of(cls, view: ClusterView) -> ClusterOut:
        return cls(id=view.id, size=view.size, photos=view.photos, faces=[FaceOut.of(f) for f in view.faces])


class ClusterDetail(ClusterOut):
    outlier_ids: list[int] = Field(description="faces far from the others (dropped when naming with drop_outliers)")


class NameCluster(RequestBody):
    """Name a cluster: give person_id or name; faces in `drop` (and outliers) stay unknown."""

    model_config = ConfigDict(json_schema_extra=exactly_one(("person_id", "integer"), ("name", "string")))

    person_id: Id | None = None
    name: PersonName | None = Field(None, description="created when new")
    face_ids: FaceIdList | None = Field(
        None, max_length=MAX_BULK_IDS, description="only these faces (the ones you looked at)"
    )
    drop: FaceIdList = Field(default_factory=list, max_length=MAX_BULK_IDS, description="not this person")
    drop_outliers: StrictBool = Field(False, description="also leave out the faces far from the others")

    @model_validator(mode="after")
    def _one(self) -> NameCluster:
        if (self.person_id is None) == (self.name is None):
            raise ValueError("give exactly one of person_id and name")
        return self


@router.get("", response_model=Page[ClusterOut], summary="List clusters of unknown faces, largest first")
def list_clusters(
    page: PageParams = Depends(page_params),
    sample: int = Query(clusters.VIEW_SAMPLE, ge=0, le=100, description="faces shown per cluster"),
    min_size: int = Query(1, ge=1, le=100_000, description="only clusters at least this big"),
) -> dict[str, Any]:
    found = clusters.list_clusters(page.limit, page.offset, sample, min_size)
    items = [ClusterOut.of(c) for c in found]
    total = clusters.count_clusters(min_size)
    return {"items": items, "total": total, "limit": page.limit, "offset": page.offset}


@router.get(
    "/{cluster_id:int}", response_model=ClusterDetail, summary="One cluster, with its outliers",
    responses=problem_responses(404),
)  # fmt: skip
def get_cluster(
    cluster_id: ClusterIdPath,
    sample: int = Query(100, ge=0, le=1000, description="faces shown"),
    core: Core = Depends(get_core),
) -> ClusterDetail:
    view = clusters.cluster_view(cluster_id, sample=sample)
    if not view.size:
        raise ApiProblem(404, f"no cluster {cluster_id} (it may have been named or refreshed)")
    outliers = sorted(clusters.cluster_outliers(core.cfg, cluster_id))
    return ClusterDetail(**ClusterOut.of(view).model_dump(), outlier_ids=outliers)


@router.post(
    "/{cluster_id:int}/name", response_model=ReviewResultOut, summary="Name a cluster (confirm its faces)",
    responses=problem_responses(400, 404, 409, 422),
)  # fmt: skip
def name_cluster(cluster_id: ClusterIdPath, body: NameCluster, core: Core = Depends(get_core)) -> ReviewResultOut:
    who: int | str = body.person_id if body.person_id is not None else str(body.name)
    result = confirm.name_cluster(
        core, cluster_id, who, drop=body.drop, drop_outliers=body.drop_outliers, face_ids=body.face_ids
    )
    return ReviewResultOut.of(result)


class DropFromCluster(RequestBody):
    """Faces to take out of the cluster; none given: its outliers."""

    face_ids: FaceIdList | None = Field(
        None, max_length=10_000, description="faces to take out; omitted: the cluster's outliers"
    )


class DroppedOut(BaseModel):
    dropped: list[int] = Field(description="faces now outside the cluster (still unknown)")


@router.post(
    "/{cluster_id:int}/drop", response_model=DroppedOut, summary="Take faces (default: the outliers) out of a cluster",
    responses=problem_responses(404, 422),
)  # fmt: skip
def drop_faces(cluster_id: ClusterIdPath, body: DropFromCluster, core: Core = Depends(get_core)) -> DroppedOut:
    return DroppedOut(dropped=clusters.drop_from_cluster(core, cluster_id, body.face_ids))
