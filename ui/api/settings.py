"""/settings: read the effective settings (secrets masked), change the safe subset, test targets.

Changes are validated against the full Config model, saved in the Setting table and applied
to the running process's Core at once; the few keys read only at start say so in the answer.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from integrations.notify import test_connection
from tagmyphotos.core import Core
from tagmyphotos.store import settings as settings_store

from . import settings_schema
from .deps import get_core
from .errors import ProblemRoute
from .problems import ApiProblem, problem_responses
from .schemas import RequestBody, at_least_one

router = APIRouter(prefix="/settings", tags=["settings"], route_class=ProblemRoute)


class SettingsOut(BaseModel):
    values: dict[str, Any] = Field(description="the effective settings, secrets as '********'")
    editable: list[str] = Field(description="dotted keys PATCH /settings accepts")
    locked_by_environment: list[str] = Field(description="keys fixed by TAGMYPHOTOS_* variables")
    overrides: dict[str, Any] = Field(description="keys changed through the UI/API (masked)")
    restart_keys: list[str] = Field(description="patterns of keys that take effect after a restart")
    withheld_secrets: dict[str, str] = Field(
        default_factory=dict,
        description="secrets not used because their URL now points at another site than they were "
        "given for (key -> why); enter them again for the new address",
    )


class SettingsChange(RequestBody):
    """Dotted keys and new values; send a secret back as '********' to keep it."""

    model_config = ConfigDict(
        json_schema_extra=at_least_one(("changes", {"minProperties": 1}), ("reset", {"minItems": 1}))
    )

    changes: dict[str, Any] = Field(
        default_factory=dict, examples=[{"matching.likely_confidence": 0.85, "write.mode": "sidecar"}],
        json_schema_extra=settings_schema.changes_schema(),
    )  # fmt: skip
    reset: list[str] = Field(
        default_factory=list, description="keys to return to config.yaml's value",
        json_schema_extra=settings_schema.reset_schema(),
    )  # fmt: skip


class SettingsChanged(SettingsOut):
    restart_needed: list[str] = Field(description="changed keys that take effect after a restart")


class IntegrationTest(BaseModel):
    target: str
    ok: bool
    status: str = Field(description="ok | warning | skipped | failed")
    message: str
    details: list[str]
    duration_s: float


def _out(core: Core) -> dict[str, Any]:
    keys = settings_store.all_keys(core.cfg)
    return {
        "values": core.cfg.masked(),
        "editable": sorted(k for k in keys if settings_store.is_editable(k)),
        "locked_by_environment": sorted(settings_store.env_locked() & set(keys)),
        "overrides": settings_store.masked_overrides(),
        "restart_keys": list(settings_store.RESTART_PATTERNS),
        "withheld_secrets": settings_store.withheld_secrets(),
    }


@router.get("", response_model=SettingsOut, summary="Read all settings (secrets masked)")
def read_settings(core: Core = Depends(get_core)) -> dict[str, Any]:
    return _out(core)


@router.patch(
    "", response_model=SettingsChanged, summary="Change settings (the safe subset)",
    responses=problem_responses(400, 409, 422),
    description="Paths, server, login, queue and database settings, and the exiftool program, "
    "can only be changed in config.yaml or the environment. 409 for a key set by an environment "
    "variable (it takes precedence).",
)  # fmt: skip
def change_settings(body: SettingsChange, core: Core = Depends(get_core)) -> dict[str, Any]:
    if not body.changes and not body.reset:
        raise ApiProblem(400, "nothing to change: send `changes` and/or `reset`")
    locked = sorted(settings_store.env_locked() & (set(body.changes) | set(body.reset)))
    if locked:
        raise ApiProblem(409, f"{locked[0]}: set by an environment variable, which takes precedence", "conflict")
    wrong = settings_schema.wrong_type(body.changes)
    if wrong:
        raise ApiProblem(400, wrong, "bad-setting")
    new_cfg, restart = settings_store.save_changes(core.cfg, body.changes, body.reset)  # SettingsError: 400
    core.cfg = new_cfg
    return {**_out(core), "restart_needed": restart}


@router.post(
    "/integrations/{target}/test", response_model=IntegrationTest,
    summary="Test the connection to Immich, PhotoPrism or the webhook",
    description="Uses the saved settings, enabled or not; a failure is reported, not raised.",
)  # fmt: skip
def test_integration(
    target: Literal["immich", "photoprism", "webhook"], core: Core = Depends(get_core)
) -> IntegrationTest:
    result = test_connection(core.cfg.integrations, target).to_dict()
    return IntegrationTest(
        target=result["target"], ok=result["status"] in ("ok", "warning", "skipped"),
        status=result["status"], message=result["message"], details=result["details"],
        duration_s=result["duration_s"],
    )  # fmt: skip
