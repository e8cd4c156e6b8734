"""The settings as a user thinks of them: grouped by what they want to do, each in plain words.

Why a catalog and not the config model's field names: "k 7" and "distance threshold {}" mean
nothing to someone who wants fewer wrong suggestions. Every editable key appears once, in a
group (what it is for, with help) or under Advanced (the tuning knobs, with their key).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Setting:
    key: str
    label: str
    help: str


@dataclass(frozen=True)
class Group:
    title: str
    intro: str
    settings: tuple[Setting, ...]


GROUPS: tuple[Group, ...] = (
    Group("Naming without you",
          "New photos can be named and written into the files without a click, where Tag My Photos is sure. "
          "Each run is listed on the Review page (“Named while you were away”) and undone there in one click, "
          "files included.", (
        Setting("review.auto_accept", "Name faces by itself",
                "sure: faces it is sure of are named after each scan (none of 11,000 such test suggestions was "
                "wrong, with most people in the library unnamed). It needs 2 or more named photos of a person. "
                "off: every name waits for you."),
        Setting("review.auto_cap", "At most this many faces per run", "The rest are named at the next run."),
        Setting("write.auto", "Write names into the photos by themselves",
                "off; after_match: right after each run; or a time such as “daily at 03:30”. Backed up and "
                "checked like any write."),
    )),  # fmt: skip
    Group("Which photos", "Where Tag My Photos looks for photos and how often.", (
        Setting("scan.interval_minutes", "Look for new photos every (minutes)",
                "0 turns the automatic scan off; start one from the Jobs page instead."),
        Setting("scan.exclude", "Folders and files to skip",
                "Patterns, comma separated, e.g. **/@eaDir/** for Synology's thumbnail folders."),
        Setting("scan.extensions", "Photo file types", "File endings that are photos, comma separated."),
        Setting("scan.raw_extensions", "RAW file types",
                "Their people go into an XMP sidecar; faces come from the JPEG next to them."),
    )),
    Group("Finding faces", "How small a face may be, and how much of the machine analysis uses.", (
        Setting("analysis.min_face_px", "Smallest face (pixels)",
                "Smaller faces are ignored. Small faces that are kept get a low quality: shown last, never grouped."),
        Setting("analysis.workers", "Photos analysed at once",
                "One per CPU core is fastest; fewer leaves the machine free for other work. Applies after a restart."),
        Setting("matching.import_existing", "Take over names other apps wrote",
                "Faces named by digiKam, Lightroom, Picasa or Immich exports become named faces here."),
    )),
    Group("Suggestions", "How sure Tag My Photos must be before it suggests a name.", (
        Setting("matching.likely_confidence", "Sure enough for \u201clikely\u201d (0\u20131)",
                "Likely suggestions are pre-selected and accepted by \u201cAccept all likely\u201d. Higher: fewer, "
                "safer ones."),
        Setting("matching.maybe_confidence", "Sure enough to suggest at all (0\u20131)",
                "Below this a face stays unknown. Lower: more suggestions to check, more of them wrong."),
    )),
    Group("Writing into photos", "What goes into your files, and how they are kept safe.", (
        Setting("write.mode", "Where names go",
                "A sidecar is a small file next to the photo (photo.jpg.xmp) that photo apps read too."),
        Setting("write.sidecar_naming", "Sidecar file name",
                "photo.jpg.xmp (digiKam, darktable) or photo.xmp (Lightroom, Immich)."),
        Setting("write.person_in_image", "Write the people list (PersonInImage)",
                "The standard list of people in the photo; most apps read it."),
        Setting("write.subject_keywords", "Add names as keywords", "So any app can search for them."),
        Setting("write.hierarchical_keywords", "Add names as People|Name keywords", "Lightroom's keyword tree."),
        Setting("write.digikam_tags", "Add digiKam tags", "digiKam's People/Name tags."),
        Setting("write.keyword_prefix", "Keyword folder for people", "The top of the keyword tree, e.g. People."),
        Setting("write.microsoft_regions", "Also write Windows face regions",
                "For Windows Photos and older PhotoPrism versions."),
        Setting("write.preserve_mtime", "Keep the files' modification dates",
                "So backup tools and photo apps do not see every file as new."),
        Setting("write.backup_retention_days", "Keep backups of originals (days)",
                "Within this time any written photo can be put back byte for byte."),
        Setting("write.min_free_mb", "Stop writing below this free space (MB)", "Protects the disk from filling up."),
        Setting("write.workers", "Photos written at once", "One per CPU core is fastest."),
    )),
)

INTEGRATION_LABELS = {
    "enabled": ("Tell this app after each write",
                "Switching this on does not check the connection: use Test connection below."),
    "url": ("Address", "The app's web address as this server reaches it, e.g. http://immich:2283."),
    "api_key": ("API key", "Created in the app's user settings."),
    "token": ("App password or token", "Created in PhotoPrism's settings."),
    "secret": ("Signing secret", "Requests are signed with it (X-TagMyPhotos-Signature)."),
    "local_prefix": ("Library path here", "The start of the photo paths as this server sees them."),
    "remote_prefix": ("Library path there", "The same folder as the app sees it."),
    "push_faces": ("Create the people in Immich", "For Immich set-ups that do not import face regions."),
    "remove_duplicate_ml_faces": ("Remove Immich's duplicate faces",
                                  "Immich's own unnamed face where ours is named."),
    "push_renames": ("Rename people there too", "A person renamed here gets the new name in the app as well."),
    "import_every_hours": ("Take over the names given there, every … hours",
                           "0: only when you ask (Import names, below)."),
    "job_events": ("Also report finished scans, analyses and writes", "Besides the written photos."),
}
# Choices in words (the stored value stays the key).
CHOICE_LABELS = {
    "write.mode": {"auto": "Into the photo where its format allows, else a sidecar file",
                   "in-file": "Always into the photo itself", "sidecar": "Always into a sidecar file"},
}
# The tuning knobs under Advanced, in words (their keys are documented in config.yaml).
ADVANCED_LABELS = {
    "analysis.detect_max_px": ("Image size the face finder looks at (pixels, longest side)",
                               "Larger finds smaller faces, and takes longer."),
    "analysis.batch_size": ("Photos per analysis step", "Smaller: finer progress and quicker stop."),
    "matching.distance_threshold": ("How alike two faces must be, per face model",
                                    "Empty: the calibrated values."),
    "matching.k": ("Named faces compared with each new face", "More: steadier suggestions, a little slower."),
    "integrations.timeout_s": ("Wait for another app's answer (seconds)", ""),
    "integrations.retries": ("Tries when another app does not answer", ""),
    "integrations.hook.secret": ("Secret for the scan hook", "Signs requests to start a scan from outside."),
    "logging.level": ("Detail in the server log", "DEBUG is the most, ERROR the least."),
}


def integration_setting(key: str) -> Setting:
    """An integrations.<app>.… key in words (the last part of the key names it)."""
    label, help_text = INTEGRATION_LABELS.get(key.rsplit(".", 1)[-1], (key.rsplit(".", 1)[-1].replace("_", " "), ""))
    return Setting(key, label, help_text)


def advanced_setting(key: str) -> Setting:
    """A tuning knob in words; a knob without words yet is named after its key's last part."""
    fallback = (key.rsplit(".", 1)[-1].replace("_", " ").capitalize(), "")
    label, help_text = ADVANCED_LABELS.get(key, fallback)
    return Setting(key, label, help_text)


def grouped_keys() -> set[str]:
    return {s.key for g in GROUPS for s in g.settings}
