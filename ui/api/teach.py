"""/teach: learn people from reference photos — a folder on the server, or uploaded photos.

Both queue a `teach` job (tagmyphotos.stages.teach) and answer 202 with it: analysing
reference photos takes a second or more each on a NAS. The folder is named relative to the
library or the data folder and resolved with library.paths; uploads are kept in the data folder.
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, File, Form, UploadFile
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from jobs.tasks import start_job
from tagmyphotos import tuning
from tagmyphotos.core import Core
from tagmyphotos.library import paths
from tagmyphotos.stages import teach as teach_stage
from tagmyphotos.store import models as m

from .deps import get_core
from .errors import ProblemRoute, UploadRoute
from .jobs import JobOut, job_out
from .problems import ApiProblem, problem_responses
from .schemas import NAME_PATTERN, PATH_SCHEMA, PersonName, RequestBody

router = APIRouter(prefix="/teach", tags=["teach"], route_class=ProblemRoute)
uploads = APIRouter(route_class=UploadRoute)

# At most this many photos in one upload, and this many bytes each.
MAX_UPLOAD_FILES = 50
MAX_UPLOAD_FILE_BYTES = 50 << 20
# A person's name that is also a folder name (teach_stage.upload_folder_name): no '/' or '\\',
# not starting with '.'.
UPLOAD_NAME_PATTERN = r"^(?!\s*\.)(?!.*[/\\])" + NAME_PATTERN.removeprefix("^")


class TeachFolder(RequestBody):
    """A reference folder on the server: one sub-folder of photos per person (named after them)."""

    root: Literal["library", "data"] = Field("library", description="what `folder` is relative to")
    folder: str = Field(json_schema_extra=PATH_SCHEMA,
                        description="e.g. 'people' for <library>/people/<Name>/*.jpg")  # fmt: skip
    person: PersonName | None = Field(None, description="only this person's sub-folder")


class TeachUploadOut(BaseModel):
    job: JobOut
    saved: list[str] = Field(description="the stored file names (by content: the same photo is kept once)")


@router.post(
    "/folder", response_model=JobOut, status_code=202, summary="Teach from a reference folder on the server",
    responses=problem_responses(400, 404),
    description="The folder holds one sub-folder per person (`people/Anna/*.jpg`, `people/Bob/*.jpg`); "
    "every photo with exactly one face becomes a confirmed face of that person (new people are created). "
    "Photos with no face or several faces are listed in the job's result and events, never guessed. "
    "Teaching again only analyses new or changed photos. Undo with POST /review/undo.",
)  # fmt: skip
def teach_folder(body: TeachFolder, core: Core = Depends(get_core)) -> JobOut:
    folder = paths.clean_relative(body.folder, allow_empty=True)
    teach_stage.teach_root(core.cfg, body.root, folder)  # 400/404 now, not in the job
    params = {"root": body.root, "folder": folder}
    if body.person is not None:
        params["person"] = body.person
    return job_out(m.Job.get_by_id(start_job("teach", params, reuse_active=False)))


@uploads.post(
    "/upload", response_model=TeachUploadOut, status_code=202, summary="Teach from uploaded photos of one person",
    responses=problem_responses(400, 411, 413),
    description=f"multipart/form-data: `person` (a name; created when new) and `files` (up to "
    f"{MAX_UPLOAD_FILES} photos, each up to {MAX_UPLOAD_FILE_BYTES >> 20} MB). The photos are kept in the data "
    "folder (teach/<person>/) and taught like a reference folder; photos with no face or several faces are "
    "reported in the job.",
)  # fmt: skip
async def teach_upload(
    person: str = Form(
        ...,
        min_length=1,
        max_length=tuning.PERSON_NAME_MAX_CHARS,
        description="who is in the photos",
        json_schema_extra={"pattern": UPLOAD_NAME_PATTERN},
    ),
    files: list[UploadFile] = File(
        ...,
        description=f"photos of this person alone, named *.jpg, *.png, ... (at most {MAX_UPLOAD_FILES})",
        json_schema_extra={"minItems": 1, "maxItems": MAX_UPLOAD_FILES},
    ),
    core: Core = Depends(get_core),
) -> TeachUploadOut:
    if len(files) > MAX_UPLOAD_FILES:
        raise ApiProblem(400, f"at most {MAX_UPLOAD_FILES} photos per upload")
    params = teach_stage.upload_params(person)  # a bad name or file type is refused before anything is stored
    for upload in files:
        teach_stage.upload_extension(core.cfg, upload.filename or "")
        if upload.size is not None and upload.size > MAX_UPLOAD_FILE_BYTES:
            raise ApiProblem(413, f"{upload.filename}: over {MAX_UPLOAD_FILE_BYTES >> 20} MB")
    saved = []
    for upload in files:
        content = await upload.read(MAX_UPLOAD_FILE_BYTES + 1)
        if len(content) > MAX_UPLOAD_FILE_BYTES:
            raise ApiProblem(413, f"{upload.filename}: over {MAX_UPLOAD_FILE_BYTES >> 20} MB")
        name = upload.filename or ""
        saved.append(await run_in_threadpool(teach_stage.save_upload, core.cfg, person, name, content))
    job_id = await run_in_threadpool(start_job, "teach", params, False)
    return TeachUploadOut(job=job_out(m.Job.get_by_id(job_id)), saved=saved)


router.include_router(uploads)
