"""Immich: told after a write, our faces pushed (opt-in), its names imported.

Modules:
- client: `ImmichClient`; find written photos by path and ask Immich to re-read them; check
- faces: push our named faces and drop Immich's duplicate unnamed ML faces (both opt-in)
- names: read the people and named faces Immich has on our photos; push a rename
"""

__all__ = ["client", "faces", "names"]
