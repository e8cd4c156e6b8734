"""People that other tools name in a photo's keywords, without a face region.

Picasa, Lightroom, older digiKam and phone apps often say who is in a photo only as keywords:
`XMP-iptcExt:PersonInImage`, Lightroom's `People|Name` hierarchy, digiKam's `People/Name` tags,
and plain `dc:subject`. Pure: what the tags say, with the tags each name was found in, so the
user can see where a name came from.
"""

from __future__ import annotations

from collections.abc import Collection

from tagmyphotos.metadata.read import DIGIKAM_TAGS, HIERARCHICAL, PERSON_IN_IMAGE, SUBJECT, TagSet

# Keyword tags that name people without a box, and how a person's keyword looks in each.
NAME_TAGS = (PERSON_IN_IMAGE, HIERARCHICAL, DIGIKAM_TAGS, SUBJECT)
_NAME_SEPARATORS = {HIERARCHICAL: "|", DIGIKAM_TAGS: "/"}


def keyword_people(tags: TagSet, prefixes: Collection[str], known: Collection[str] = ()) -> dict[str, list[str]]:
    """Names the keyword tags give (name -> the tags it was found in, in NAME_TAGS order).

    PersonInImage holds people only; Lightroom's and digiKam's hierarchies hold people under a
    root such as `People|` / `People/` (`prefixes`; the leaf is the name); plain dc:subject
    keywords also hold places and things, so one counts only when it is a `known` name or
    another tag named it."""
    found: dict[str, list[str]] = {}

    def add(name: str, tag: str) -> None:
        name = " ".join(str(name).split())
        if name and tag not in found.setdefault(name, []):
            found[name].append(tag)

    for value in tags.keywords.get(PERSON_IN_IMAGE, []):
        add(value, PERSON_IN_IMAGE)
    for tag, sep in _NAME_SEPARATORS.items():
        for value in tags.keywords.get(tag, []):
            parts = [p.strip() for p in str(value).split(sep)]
            if len(parts) >= 2 and parts[0] in prefixes and parts[-1]:
                add(parts[-1], tag)
    for value in tags.keywords.get(SUBJECT, []):
        if value in found or value in known:
            add(value, SUBJECT)
    return {name: found[name] for name in found if found[name]}
