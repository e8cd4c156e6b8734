"""PhotoPrism: told after a write (folders re-indexed), its names imported.

Modules:
- client: `PhotoPrismClient`; re-index the folders of the written photos; check
- names: read its subjects and the face markers on our photos
"""

__all__ = ["client", "names"]
