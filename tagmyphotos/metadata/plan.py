"""Decide exactly which tags to write so a photo names the wanted people — and nothing else changes.

Pure: given what the file holds now (a `TagSet` from metadata_read), the wanted named face
regions (oriented boxes), the names this program manages, and the photo's orientation and
stored size, `plan_write` returns the exiftool arguments, the JSON of the region structures and
the exact tag state expected afterwards. Merge rules:
- regions and keywords of other tools (other names, non-face regions) stay as they are;
- a region of a managed person that is no longer wanted (removed face, renamed person) goes,
  and so does that name in every keyword list (PersonInImage, Subject, Lightroom, digiKam,
  Microsoft, MediaPro and IPTC keywords);
- an existing region of a wanted person that overlaps the wanted box is kept verbatim;
- when the file already says what we would write, the plan is empty and nothing is written.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from tagmyphotos import tuning
from tagmyphotos.geometry import NormBox, to_stored
from tagmyphotos.metadata.read import (
    CATALOG_SETS,
    DIGIKAM_TAGS,
    HIERARCHICAL,
    KEYWORD_TAGS,
    MP_TAG,
    MS_LAST_KEYWORD,
    MWG_TAG,
    PERSON_IN_IMAGE,
    SUBJECT,
    FileRegion,
    TagSet,
    as_list,
    parse_mp,
    parse_mwg,
    regions_in_display_frame,
)

# Coordinates are written with this many decimals: 1e-6 of a 100-MP side is < 0.02 px.
REGION_DECIMALS = 6

# Free space: a write needs room for exiftool's temporary copy of the file next to it and for
# the backup on the data volume; on top of that this reserve (config write.min_free_mb
# overrides it) must stay free so the library or database never fills up.
FREE_SPACE_RESERVE_BYTES = 512 * 1024 * 1024

# Invisible format characters kept in names: ZWNJ/ZWJ are part of Persian and Indic spelling.
_KEEP_FORMAT_CHARS = {"\u200c", "\u200d"}
_LINE_LIKE = set("\t\n\r\v\f\x1c\x1d\x1e\x1f\x85\u2028\u2029")


def sanitize_name(name: str) -> str:
    """A person name fit for a tag: NFC, no control/bidi/format characters (line breaks become
    spaces), single spaces, at most PERSON_NAME_MAX_CHARS. Raises ValueError when nothing is left."""
    text = unicodedata.normalize("NFC", str(name))
    text = "".join(" " if ch in _LINE_LIKE else ch for ch in text)
    text = "".join(
        ch for ch in text if ch in _KEEP_FORMAT_CHARS or unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Co")
    )
    text = " ".join(text.split())[: tuning.PERSON_NAME_MAX_CHARS].strip()
    if not text:
        raise ValueError(f"person name {name!r} is empty once control characters are removed")
    return text


def _name_key(name: object) -> str:
    """Sanitised form used to compare names found in files; '' for garbage."""
    try:
        return sanitize_name(str(name))
    except ValueError:
        return ""


@dataclass(frozen=True)
class PersonRegion:
    """A confirmed face to be in the file: a person's name and its box on the photo as displayed."""

    name: str
    box: NormBox


@dataclass(frozen=True)
class WriteOptions:
    """What to write and how (mirrors config `write:`)."""

    mode: Literal["auto", "in-file", "sidecar"] = "auto"
    sidecar_naming: Literal["photo.jpg.xmp", "photo.xmp"] = "photo.jpg.xmp"
    person_in_image: bool = True  # XMP-iptcExt:PersonInImage
    subject_keywords: bool = True  # XMP-dc:Subject
    hierarchical_keywords: bool = True  # XMP-lr:HierarchicalSubject "People|Name"
    digikam_tags: bool = True  # XMP-digiKam:TagsList "People/Name"
    keyword_prefix: str = "People"
    microsoft_regions: bool = False  # XMP-MP:RegionInfoMP (PhotoPrism, Windows)
    preserve_mtime: bool = True
    # exiftool type extensions (by content) written in the file in "auto" mode; others get a sidecar.
    in_file_types: frozenset[str] = frozenset({"jpg", "png", "tif", "webp", "heic"})
    min_free_bytes: int = FREE_SPACE_RESERVE_BYTES


def _leaf(name: str, sep: str) -> str:
    return name.replace(sep, "-")  # "AC/DC" must not become a two-level digiKam tag


def keyword_value(tag: str, name: str, prefix: str) -> str:
    """How a person appears in one keyword tag."""
    sep = {HIERARCHICAL: "|", CATALOG_SETS: "|", DIGIKAM_TAGS: "/", MS_LAST_KEYWORD: "/"}.get(tag)
    if sep is None:
        return name
    return f"{prefix}{sep}{_leaf(name, sep)}" if prefix else _leaf(name, sep)


def _fmt(value: float) -> str:
    text = f"{value:.{REGION_DECIMALS}f}".rstrip("0").rstrip(".")
    return text if text not in ("", "-0") else "0"


def canonical(struct: dict[str, Any] | None) -> str | None:
    """Comparable text of a region structure (lists always lists, keys sorted)."""
    if struct is None:
        return None
    norm = dict(struct)
    for key in ("RegionList", "Regions"):
        if key in norm:
            norm[key] = as_list(norm[key])
    return json.dumps(norm, sort_keys=True, ensure_ascii=False)


@dataclass(frozen=True)
class TagState:
    """Everything the plan manages in one file, in comparable form."""

    mwg: str | None
    mp: str | None
    keywords: tuple[tuple[str, tuple[str, ...]], ...]

    @classmethod
    def of(cls, tags: TagSet) -> TagState:
        kw = tuple((t, tuple(sorted(tags.keywords.get(t, [])))) for t in KEYWORD_TAGS if tags.keywords.get(t))
        return cls(canonical(tags.mwg), canonical(tags.mp), kw)


@dataclass(frozen=True)
class TagChange:
    """One tag before -> after, as readable lines (dry-run and audit log)."""

    tag: str
    before: tuple[str, ...]
    after: tuple[str, ...]


@dataclass
class WritePlan:
    args: list[str] = field(default_factory=list)  # exiftool assignments, one value per argument
    json_tags: dict[str, Any] = field(default_factory=dict)  # structures imported with -j=
    before: TagState | None = None
    after: TagState | None = None
    changes: list[TagChange] = field(default_factory=list)
    names: tuple[str, ...] = ()  # the sanitised wanted names

    @property
    def is_noop(self) -> bool:
        return self.before == self.after


def _describe(regions: Iterable[dict[str, Any]], orientation: int, frame_key: str) -> tuple[str, ...]:
    out = []
    for raw in regions:
        r = _region_of(raw, orientation, frame_key)
        box = "no box" if r.box is None else "x={:.3f} y={:.3f} w={:.3f} h={:.3f}".format(*r.box.astuple())
        out.append(f"{r.name or '(no name)'} [{r.type or 'Face'}] {box}")
    return tuple(out)


def _region_of(raw: dict[str, Any], orientation: int, frame_key: str) -> FileRegion:
    if frame_key == "mwg":
        return parse_mwg({"RegionList": [raw]}, 0, 0, orientation)[0]
    return parse_mp({"Regions": [raw]}, orientation)[0]


def _mwg_raw(p: PersonRegion, frame: int) -> dict[str, Any]:
    s = to_stored(p.box, frame)
    cx, cy = s.center
    area = {"H": _fmt(s.h), "Unit": "normalized", "W": _fmt(s.w), "X": _fmt(cx), "Y": _fmt(cy)}
    return {"Area": area, "Name": p.name, "Type": "Face"}


def _mp_raw(p: PersonRegion, orientation: int) -> dict[str, Any]:
    s = to_stored(p.box, orientation)
    return {"PersonDisplayName": p.name, "Rectangle": ", ".join(_fmt(v) for v in s.astuple())}


def _merge_regions(
    existing: Sequence[FileRegion],
    wanted: Sequence[PersonRegion],
    managed: set[str],
    make_raw: Any,
    add_new: bool,
) -> tuple[list[dict[str, Any]], bool]:
    """Keep foreign regions and matching ones of ours; drop stale ones; add the missing."""
    ours = [i for i, r in enumerate(existing) if (r.type or "Face") == "Face" and _name_key(r.name) in managed]
    kept: set[int] = set()
    missing: list[PersonRegion] = []
    for p in wanted:
        best, best_iou = -1, tuning.REGION_KEEP_MIN_IOU
        for i in ours:
            r = existing[i]
            if i in kept or _name_key(r.name) != p.name:
                continue
            iou = r.box.iou(p.box) if r.box is not None else 0.0
            if not add_new or iou >= best_iou:  # without adding, any region of the name stays
                best, best_iou = i, iou
        if best >= 0:
            kept.add(best)
        else:
            missing.append(p)
    out = [r.raw for i, r in enumerate(existing) if i not in ours or i in kept]
    if add_new:
        out += [make_raw(p) for p in missing]
    changed = len(kept) < len(ours) or (add_new and bool(missing))
    return out, changed


def plan_write(
    current: TagSet,
    wanted: Sequence[PersonRegion],
    managed_names: Iterable[str],
    orientation: int,
    width: int,
    height: int,
    options: WriteOptions = WriteOptions(),
) -> WritePlan:
    """The tags to write into `current` (the photo's or the sidecar's tags) for `wanted`.

    `managed_names`: every name this program ever wrote or may have written to this photo
    (people renamed or removed since); their regions and keywords are replaced. Wanted names
    are always managed. `width`/`height`: stored pixels (MWG AppliedToDimensions).
    """
    wanted = [PersonRegion(sanitize_name(p.name), p.box.clamped()) for p in wanted]
    wanted = [p for p in wanted if p.box.area > 0]
    names = tuple(dict.fromkeys(p.name for p in wanted))
    managed = {_name_key(n) for n in managed_names} | set(names)
    managed.discard("")
    plan = WritePlan(before=TagState.of(current), names=names)
    changes: list[TagChange] = []

    # MWG regions, on the stored pixels unless the file's own regions say "displayed".
    mwg = dict(current.mwg) if current.mwg is not None else None
    display_framed = mwg is not None and regions_in_display_frame(mwg, width, height, orientation)
    frame = 1 if display_framed else orientation
    regions, changed = _merge_regions(current.mwg_regions, wanted, managed, lambda p: _mwg_raw(p, frame), True)
    dims = {"H": str(height), "Unit": "pixel", "W": str(width)}
    if wanted and width and height and not display_framed and (mwg or {}).get("AppliedToDimensions") != dims:
        changed = True
    new_mwg = mwg
    if changed:
        new_mwg = {k: v for k, v in (mwg or {}).items() if k not in ("RegionList", "AppliedToDimensions")}
        if regions:
            new_mwg["RegionList"] = regions
            if display_framed:
                new_mwg["AppliedToDimensions"] = (mwg or {}).get("AppliedToDimensions")
            elif width and height:
                new_mwg["AppliedToDimensions"] = dims
        new_mwg = new_mwg if regions or new_mwg else None
        _emit_struct(plan, MWG_TAG, new_mwg)
        before = _describe(as_list((mwg or {}).get("RegionList")), frame, "mwg")
        changes.append(TagChange(MWG_TAG, before, _describe(regions, frame, "mwg")))

    # Microsoft regions: written only when enabled; stale names of ours are removed either way.
    mp = dict(current.mp) if current.mp is not None else None
    mp_regions, mp_changed = _merge_regions(
        current.mp_regions, wanted, managed, lambda p: _mp_raw(p, orientation), options.microsoft_regions
    )
    new_mp = mp
    if mp_changed:
        new_mp = {k: v for k, v in (mp or {}).items() if k != "Regions"}
        if mp_regions:
            new_mp["Regions"] = mp_regions
        new_mp = new_mp if mp_regions or len(new_mp) > 0 else None
        _emit_struct(plan, MP_TAG, new_mp)
        before = _describe(as_list((mp or {}).get("Regions")), orientation, "mp")
        changes.append(TagChange(MP_TAG, before, _describe(mp_regions, orientation, "mp")))

    # Keyword lists: '-TAG-=v' for stale names, '-TAG-=v' '-TAG+=v' pairs for missing ones.
    adding = {
        PERSON_IN_IMAGE: options.person_in_image,
        SUBJECT: options.subject_keywords,
        HIERARCHICAL: options.hierarchical_keywords,
        DIGIKAM_TAGS: options.digikam_tags,
    }
    new_keywords: dict[str, list[str]] = {}
    prefix = options.keyword_prefix.strip()
    for tag in KEYWORD_TAGS:
        before_values = current.keywords.get(tag, [])
        stale = {keyword_value(tag, n, prefix) for n in managed if n not in names}
        want = [keyword_value(tag, n, prefix) for n in names] if adding.get(tag) else []
        remove = list(dict.fromkeys(v for v in before_values if v in stale))
        add = [v for v in dict.fromkeys(want) if v not in before_values]
        after_values = [v for v in before_values if v not in stale] + add
        if after_values:
            new_keywords[tag] = after_values
        if remove or add:
            plan.args += [f"-{tag}-={v}" for v in remove]
            for v in add:
                plan.args += [f"-{tag}-={v}", f"-{tag}+={v}"]
            changes.append(TagChange(tag, tuple(before_values), tuple(after_values)))

    plan.after = TagState(
        canonical(new_mwg),
        canonical(new_mp),
        tuple((t, tuple(sorted(new_keywords[t]))) for t in KEYWORD_TAGS if t in new_keywords),
    )
    plan.changes = changes if not plan.is_noop else []
    if plan.is_noop:
        plan.args, plan.json_tags = [], {}
    return plan


def _emit_struct(plan: WritePlan, tag: str, struct: dict[str, Any] | None) -> None:
    if struct is None:
        plan.args.append(f"-{tag}=")  # delete the whole structure
    else:
        plan.json_tags[tag] = struct
