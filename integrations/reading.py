"""The bounds of reading one name import from another app (Immich, PhotoPrism).

Why one object passed down: a hostile or broken server decides how many pages there are, how
many faces a photo has and how long paging goes on (issue 25, item 5: a `nextPage` that never
ended ran 661 requests in 30 s and ignored cancel; an endless `hasNextPage` grew memory to 2 GB;
one asset with 300 named boxes made 300 people). Every request of an import goes through
`before_request` (the job's cancel is honoured there), every page through `page` (pages and items
counted against integrations.import_max_pages / import_max_items), every photo through
`crowded`. What was cut is said in `notes`, shown in the job's result and events.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from tagmyphotos.config import IntegrationsConfig
from tagmyphotos.review.imported_names import ImportedPhoto
from tagmyphotos.review.imported_people import ImportedPerson


def _never() -> None:
    return None


@dataclass
class Reading:
    """Counts and limits of one import's reading; `stopped` once a limit was reached."""

    max_pages: int
    max_items: int
    max_faces: int
    check_cancel: Callable[[], None] = _never  # raises to stop the job (StageContext.check_cancel)
    pages: int = 0
    items: int = 0
    stopped: bool = False
    notes: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, cfg: IntegrationsConfig, check_cancel: Callable[[], None] = _never) -> Reading:
        return cls(cfg.import_max_pages, cfg.import_max_items, cfg.import_max_faces_per_photo, check_cancel)

    def before_request(self) -> None:
        """Called before each request: a cancelled job sends none."""
        self.check_cancel()

    def page(self, source: str, count: int) -> bool:
        """Count one page of `count` items read; False when reading must stop here."""
        self.pages += 1
        self.items += count
        if self.pages >= self.max_pages:
            self._stop(f"{source} was read for {self.max_pages:,} pages only (integrations.import_max_pages); "
                       "names beyond were not imported")  # fmt: skip
        elif self.items >= self.max_items:
            self._stop(f"{source} was read for {self.max_items:,} items only (integrations.import_max_items); "
                       "names beyond were not imported")  # fmt: skip
        return not self.stopped

    def crowded(self, where: str, faces: int) -> bool:
        """True (and said) when a photo has more named faces than an import takes."""
        if faces <= self.max_faces:
            return False
        self.notes.append(f"{where}: {faces} named faces, more than {self.max_faces} "
                          "(integrations.import_max_faces_per_photo); this photo was not imported")  # fmt: skip
        return True

    def _stop(self, note: str) -> None:
        self.stopped = True
        self.notes.append(note)


@dataclass
class Fetched:
    """One reading of Immich or PhotoPrism: named faces per photo of ours, its people, and what
    was left out (counted per reason)."""

    photos: list[ImportedPhoto] = field(default_factory=list)
    people: list[ImportedPerson] = field(default_factory=list)
    skipped: Counter[str] = field(default_factory=Counter)
    requests: int = 0
