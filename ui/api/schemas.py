"""Response and request models shared by several resources (faces appear in photos, people, ...).

Why pydantic mirrors of the core's views: they are the documented, versioned API contract
(field descriptions land in the OpenAPI schema); the core's frozen views can grow without
changing what /api/v1 promises.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

API_PREFIX = "/api/v1"


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class FaceOut(_Out):
    """A face found in a photo, with its confirmed or suggested person."""

    id: int
    photo_id: int
    photo_path: str = Field(description="library-relative path of the photo")
    x: int = Field(description="box left, in displayed (oriented) full-resolution pixels")
    y: int
    w: int
    h: int
    state: str = Field(description="unknown | suggested | confirmed | ignored")
    person_id: int | None = Field(None, description="the confirmed person")
    person_name: str | None = None
    suggested_person_id: int | None = None
    suggested_person_name: str | None = None
    confidence: float | None = Field(None, description="0..1, for a suggestion")
    band: str | None = Field(None, description="likely | maybe, for a suggestion")
    certainty: str | None = Field(
        None, description="sure | likely | check, for a suggestion: how often such suggestions were wrong "
        "(README, Naming by itself); only sure ones are named without you (settings review.auto_accept)",
    )  # fmt: skip
    explanation: dict[str, Any] | None = Field(None, description="why the suggestion was made")
    cluster: int | None = Field(None, description="unknown-face cluster id")
    quality: float
    det_score: float
    source: str = Field(description="detected | imported | manual")
    auto_batch: int | None = Field(None, description="named by the product itself in this automatic run")
    model: str | None = None
    thumb_url: str | None = Field(None, description="the face thumbnail (needs the same auth)")

    @classmethod
    def of(cls, view: Any) -> FaceOut:
        data = {k: getattr(view, k) for k in cls.model_fields if k != "thumb_url" and hasattr(view, k)}
        data["thumb_url"] = f"{API_PREFIX}/faces/{view.id}/thumb" if getattr(view, "thumb", None) else None
        return cls(**data)


class PersonOut(_Out):
    """A person with counts and a cover face."""

    id: int
    name: str
    hidden: bool
    ask_first: bool = Field(False, description="always ask me: never named without a click")
    face_count: int = Field(description="confirmed faces")
    cover_face_id: int | None = None
    cover_url: str | None = Field(None, description="thumbnail of the cover face")
    aliases: list[str] = Field(default_factory=list, description="old names (after rename or merge)")
    likely: int = Field(0, description="faces suggested for this person in the 'likely' band")
    maybe: int = Field(0, description="faces suggested in the 'maybe' band")
    created_at: str | None = None

    @classmethod
    def of(cls, view: Any) -> PersonOut:
        data = {k: getattr(view, k) for k in cls.model_fields if k != "cover_url" and hasattr(view, k)}
        cover = getattr(view, "cover_face_id", None)
        data["cover_url"] = f"{API_PREFIX}/faces/{cover}/thumb" if cover else None
        return cls(**data)


class SkippedOut(_Out):
    face_id: int
    reason: str


class ReviewResultOut(_Out):
    """What a review action changed; `undo_id` undoes it."""

    action: str
    changed: list[int] = Field(description="face ids whose state or person changed")
    skipped: list[SkippedOut] = Field(default_factory=list)
    displaced: list[int] = Field(default_factory=list, description="faces that lost the name")
    person: PersonOut | None = None
    created_person: bool = False
    undo_id: int | None = None
    refreshed: int = Field(0, description="suggestions recomputed after the change")
    warnings: list[str] = Field(default_factory=list)

    @classmethod
    def of(cls, result: Any) -> ReviewResultOut:
        return cls(
            action=result.action,
            changed=list(result.changed),
            skipped=[SkippedOut(face_id=s.face_id, reason=s.reason) for s in result.skipped],
            displaced=list(result.displaced),
            person=PersonOut.of(result.person) if result.person is not None else None,
            created_person=result.created_person,
            undo_id=result.undo_id,
            refreshed=getattr(result, "refreshed", 0),
            warnings=list(getattr(result, "warnings", [])),
        )


class JobRef(BaseModel):
    job_id: int
    url: str = Field(description="poll this for progress")


def job_ref(job_id: int) -> JobRef:
    return JobRef(job_id=job_id, url=f"{API_PREFIX}/jobs/{job_id}")


class Message(BaseModel):
    ok: bool = True
    detail: str
