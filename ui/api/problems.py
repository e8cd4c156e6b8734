"""The shape of every API error: RFC 9457 problem details (application/problem+json).

Why apart from the mapping (ui.api.errors) and the body checks (ui.api.body_checks): the model,
its titles and the problem types each status may carry are what clients and the OpenAPI
document see; the gate middleware answers with them too, before any route runs.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from tagmyphotos.errors import TagMyPhotosError

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_BASE = "https://tagmyphotos.invalid/problems/"

TITLES = {
    400: "Bad request",
    401: "Authentication required",
    403: "Not allowed",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    411: "Length required",
    413: "Request too large",
    415: "Unsupported media type",
    422: "Invalid request",
    429: "Too many requests",
    500: "Internal error",
    503: "Service unavailable",
}

# The problem types (the last part of `type`) each status may carry, for the OpenAPI document.
PROBLEM_TYPES: dict[int, tuple[str, ...]] = {
    400: ("bad-request", "bad-text", "bad-json", "bad-path", "refused", "bad-job-type", "bad-setting"),
    401: ("unauthenticated", "bad-key", "bad-signature"),
    403: ("not-allowed", "read-only"),
    404: ("not-found",),
    409: ("conflict", "cannot-undo"),
    411: ("length-required",),
    413: ("request-too-large",),
    422: ("validation", "no-preview"),
    429: ("throttled",),
    500: ("internal-error",),
    503: ("storage", "service-unavailable"),
}


class ProblemItem(BaseModel):
    """One invalid field: where it is and what is wrong with it."""

    loc: list[str | int] = Field(description="location, e.g. ['query', 'limit']")
    msg: str


class Problem(BaseModel):
    """RFC 9457 problem details."""

    type: str = Field(description="URI naming the kind of problem")
    title: str
    status: int
    detail: str = Field(description="what went wrong and what to do, in plain words")
    instance: str | None = Field(None, description="the request path")
    errors: list[ProblemItem] | None = Field(None, description="invalid fields (validation errors)")


def title_slug(status: int) -> str:
    """The problem type a status has when nobody named one: its title in lower case, hyphenated."""
    return re.sub(r"[^a-z]+", "-", TITLES.get(status, "Error").lower()).strip("-")


class ApiProblem(TagMyPhotosError):
    """Raise from a route to answer with a problem; `slug` becomes the type URI's last part.

    The one member of the error family whose status is chosen where it is raised."""

    def __init__(self, status: int, detail: str, slug: str | None = None, headers: dict[str, str] | None = None):
        super().__init__(detail)
        self.http_status = status
        self.slug = slug or title_slug(status)
        self.headers = headers or {}

    def http_headers(self) -> dict[str, str]:
        return self.headers


def problem_response(
    request: Request | None,
    status: int,
    detail: str,
    slug: str | None = None,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = Problem(
        type=PROBLEM_BASE + (slug or title_slug(status)),
        title=TITLES.get(status, "Error"),
        status=status,
        detail=detail,
        instance=request.url.path if request is not None else None,
        errors=[ProblemItem(**e) for e in errors] if errors else None,
    )
    return JSONResponse(
        body.model_dump(exclude_none=True), status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers
    )


def error_response(request: Request | None, exc: TagMyPhotosError) -> JSONResponse:
    """The answer to a public member of the error family: its status, message, slug and headers."""
    return problem_response(request, exc.http_status, str(exc), exc.slug, headers=exc.http_headers())


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries documenting problem+json answers for these statuses, each
    with the problem types it may carry (ui.api.contract moves the schema to problem+json)."""
    return {
        s: {
            "model": Problem,
            "description": f"{TITLES.get(s, 'Error')} (problem types: {', '.join(PROBLEM_TYPES.get(s, ('error',)))})",
            "content": {PROBLEM_MEDIA_TYPE: {}},
        }
        for s in statuses
    }
