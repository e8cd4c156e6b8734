"""Pure metadata: files in, tags out; and the safe writer (backup, write, verify, undo).

Why pure: what a file should carry is decided from its tags and the wanted people only; the
stages/write.py stage supplies those from the database.

Modules:
- exiftool: one persistent exiftool per writer
- read: people tags already in a photo or its sidecar
- plan: exactly which tags to write
- target: in-file or sidecar, and the proof a write did what was planned
- write: back up, write, verify, restore on failure
- commands: the exiftool commands of a write, built from its plan
- bulk: several writers at once
- backups: originals kept before the first write; byte-identical restores
"""

__all__ = ["backups", "bulk", "commands", "exiftool", "plan", "read", "target", "write"]
