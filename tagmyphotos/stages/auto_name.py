"""The auto-name stage: after a match, "sure" faces are named by the product itself.

Why a stage of its own and not a step of the match: it runs only when the owner asked for it
(review.auto_accept: sure), it is one undoable batch with its own job, progress and webhook
event, and it decides what follows: with write.auto "after_match" a write of the batch's photos
(backup, verify, then Immich/PhotoPrism told), so new photos carry their names with no click.
Safe to rerun: a face named once is no longer "suggested", so a second run finds nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tagmyphotos.review.auto import name_batch, sure_faces

if TYPE_CHECKING:
    from tagmyphotos.core import Core
    from tagmyphotos.stages.runner import StageContext


def stage_auto_name(core: Core, ctx: StageContext) -> dict[str, Any]:
    """Name every "sure" face (up to review.auto_cap) as one batch; a write may follow."""
    cfg = core.cfg
    if cfg.review.auto_accept != "sure":
        ctx.info("naming by itself is off (settings: review.auto_accept)")
        return {"named": 0, "batch": None}
    faces = sure_faces(cfg.review.auto_cap)
    ctx.set_total(len(faces))
    batch = name_batch(core, faces, ctx.job_id) if faces else None
    ctx.advance(len(faces))
    if batch is None:
        ctx.info("no face was sure enough to name without you")
        return {"named": 0, "batch": None}
    who = ", ".join(f"{name} ({n})" for name, n in sorted(batch.people.items()))
    ctx.info(f"named {batch.faces} faces in {batch.photos} photos by itself: {who}")
    result: dict[str, Any] = {"named": batch.faces, "photos": batch.photos, "batch": batch.id, "people": batch.people}
    if cfg.write.auto == "after_match":
        result["follow"] = [{"type": "write", "params": {"batch": batch.id, "trigger": "auto"}}]
    return result
