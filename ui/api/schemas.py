"""Response and request models shared by several resources (faces appear in photos, people, ...).

Why pydantic mirrors of the core's views: they are the documented, versioned API contract
(field descriptions land in the OpenAPI schema); the core's frozen views can grow without
changing what /api/v1 promises.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from tagmyphotos import tuning
from tagmyphotos.library.paths import MAX_CLIENT_PATH_CHARS

API_PREFIX = "/api/v1"
# Ids are positive integers up to 2^53 - 1: every JSON parser (JavaScript's too) reads them
# exactly, and a validator comparing them as doubles draws the same line as the server.
MAX_ID = 2**53 - 1
Id = Annotated[int, Field(ge=1, le=MAX_ID)]

# What the core refuses in a person's name (review.people.clean_name), said in the schema:
# at least one character that is not white space, and no control or format character (Unicode
# Cc, Cf; white space is collapsed first). Spelt out as ranges: the schema's regex dialects
# (ECMA-262, Python, Rust) share no Unicode category syntax.
_FORMAT = (
    r"\xad\u0600-\u0605\u061C\u06DD\u070F\u0890-\u0891\u08E2\u180E\u200B-\u200F\u202A-\u202E\u2060-\u2064"
    r"\u2066-\u206F\uFEFF\uFFF9-\uFFFB\U000110BD\U000110CD\U00013430-\U00013438\U0001BCA0-\U0001BCA3"
    r"\U0001D173-\U0001D17A\U000E0001\U000E0020-\U000E007F"
)
_CONTROL_NOT_SPACE = r"\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f"
# One line of text with no control or format character.
LINE_PATTERN = rf"^[^\x00-\x1f\x7f-\x9f{_FORMAT}]*$"
NAME_PATTERN = (
    rf"^[^{_CONTROL_NOT_SPACE}{_FORMAT}]*[^\s\x00-\x1f\x7f-\x9f{_FORMAT}]"
    rf"[^{_CONTROL_NOT_SPACE}{_FORMAT}]*$"
)
PersonName = Annotated[
    str,
    Field(min_length=1, max_length=tuning.PERSON_NAME_MAX_CHARS, json_schema_extra={"pattern": NAME_PATTERN}),
]
# What library.paths.clean_relative refuses, said in the schema: absolute paths, '.' and '..'
# segments (also as look-alike characters), backslashes and control characters, percent-escapes
# (they could decode to any of those), paths of only '/', more than MAX_CLIENT_PATH_CHARS. The
# length is in the pattern, not in minLength/maxLength: clean_relative checks it (400), and a
# fuzzer building a 4096-character string for a lookahead pattern would take minutes.
_PATH_BAD_CHARS = r"\x00-\x1f\x7f-\x9f\\\u2100\u2101\u2105\u2106\uFE68\uFF0F\uFF3C"
_PATH_DOTS = r"\s*(?:[.\u2024\uFE52\uFF0E]{1,2}|[\u2025\uFE30])\s*"
PATH_PATTERN = (
    rf"^(?![/~])(?![^\W\d_]:)(?!.*%[0-9A-Fa-f]{{2}})(?!(?:[^/]*/)*{_PATH_DOTS}(?:/|$))(?=.*[^/])"
    rf"[^{_PATH_BAD_CHARS}]{{1,{MAX_CLIENT_PATH_CHARS}}}$"
)
ClientPath = Annotated[str, Field(json_schema_extra={"pattern": PATH_PATTERN})]
# A folder: a path, or '' for the library's (or data folder's) root.
FOLDER_PATTERN = "^(?:$|" + PATH_PATTERN[1:] + ")"
PATH_SCHEMA: dict[str, Any] = {"type": "string", "pattern": PATH_PATTERN}
# Free text of a query (search words): no NUL, which the API refuses everywhere (PostgreSQL
# stores none).
TEXT_PATTERN = r"^[^\x00]*$"


class RequestBody(BaseModel):
    """A request body: fields the schema does not name are refused (422), not ignored, so a
    misspelt option never silently does the default."""

    model_config = ConfigDict(extra="forbid")


def exactly_one(*fields: tuple[str, str]) -> dict[str, Any]:
    """JSON Schema for 'exactly one of these fields, not null' ((name, JSON type) pairs)."""
    return {"oneOf": [{"required": [f], "properties": {f: {"type": t}}} for f, t in fields]}


def at_most_one(*fields: str) -> dict[str, Any]:
    """JSON Schema for 'at most one of these fields is given (not null)'."""
    return {"anyOf": [{"properties": {f: {"type": "null"}}} for f in fields]}


def at_least_one(*fields: tuple[str, dict[str, Any]]) -> dict[str, Any]:
    """JSON Schema for 'at least one of these fields is given with a value of this schema'."""
    return {"anyOf": [{"required": [f], "properties": {f: schema}} for f, schema in fields]}


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
        "(docs/calibration.md, Sure); only sure ones are named without you (settings review.auto_accept)",
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
