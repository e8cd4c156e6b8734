"""Box maths shared by analysis, import of existing regions and the integrations."""

from __future__ import annotations

Box = tuple[float, float, float, float]  # x, y, w, h (top-left origin), any consistent unit


def iou(a: Box, b: Box) -> float:
    """Intersection over union of two boxes; 0 when they don't touch."""
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    ix = max(0.0, min(ax + aw, bx + bw) - max(ax, bx))
    iy = max(0.0, min(ay + ah, by + bh) - max(ay, by))
    inter = ix * iy
    union = aw * ah + bw * bh - inter
    return inter / union if union > 0 else 0.0
