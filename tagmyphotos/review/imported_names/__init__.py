"""Imported names: names people already gave in another app (Immich, PhotoPrism, a Google Takeout
export read by integrations/stages/import_names.py) become names on our faces. (Names read from
the files themselves at analysis are *embedded* names: stages/steps/embedded_names.py.)

Why a package with this thin front: deciding what an import does to each photo (plan), doing
it as one review action (apply) and the conflicts left for the user to decide (conflicts) are
three concerns; integrations, pages and the CLI import from `tagmyphotos.review.imported_names`.

Modules:
- plan: the shapes an integration fetches (ImportedName, ImportedPhoto) and each photo's plan
- apply: one import round applied (or counted, in a dry run): import_names, ImportOutcome
- conflicts: names there that disagree with ours here, listed and decided
"""

from tagmyphotos.review.imported_names.apply import FOREIGN_LISTED_MAX, ImportOutcome, import_names
from tagmyphotos.review.imported_names.conflicts import ImportConflict, decide_conflict, list_conflicts
from tagmyphotos.review.imported_names.plan import ImportedName, ImportedPhoto, known_photos, oriented_box

__all__ = [
    "FOREIGN_LISTED_MAX",
    "ImportConflict",
    "ImportOutcome",
    "ImportedName",
    "ImportedPhoto",
    "decide_conflict",
    "import_names",
    "known_photos",
    "list_conflicts",
    "oriented_box",
]
