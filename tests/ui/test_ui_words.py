"""The words the pages build from data (issue 29): settings errors, the write preview, the age
of an undo, the review's first-run progress line. Pure functions, no page needed."""

from __future__ import annotations

import datetime as dt

import pytest
from pydantic import ValidationError

from tagmyphotos.store.jobs import JobView
from tests.support.base import make_config
from ui.components import settings_catalog as catalog
from ui.components.pipeline_progress import describe
from ui.components.safety import ago
from ui.components.settings_form import field_adapter, plain_error
from ui.pages.write import TAG_WORDS, people_after, where_names_go


def _problem(cfg, key: str, value) -> str:
    with pytest.raises(ValidationError) as caught:
        field_adapter(cfg, key).validate_python(value)
    return "; ".join(plain_error(e) for e in caught.value.errors())


def test_a_refused_setting_is_said_in_plain_words(tmp_path) -> None:
    cfg = make_config(tmp_path / "library", tmp_path / "data")
    assert _problem(cfg, "scan.interval_minutes", -1) == "must be 0 or more"
    assert _problem(cfg, "matching.likely_confidence", 7.0) == "must be 1 or less"
    assert _problem(cfg, "analysis.detect_max_px", 100) == "must be 320 or more"
    assert _problem(cfg, "write.mode", "embed") == "must be one of: 'auto', 'in-file' or 'sidecar'"
    assert "http" in _problem(cfg, "integrations.immich.url", "ftp://x")  # the validator's own sentence
    field_adapter(cfg, "scan.interval_minutes").validate_python(15)  # a good value passes


def test_every_setting_has_words_not_its_key(tmp_path) -> None:
    from tagmyphotos.store import settings as settings_store

    cfg = make_config(tmp_path / "library", tmp_path / "data")
    keys = [k for k in settings_store.all_keys(cfg) if settings_store.is_editable(k)]
    labels = {}
    for key in keys:
        if key in catalog.grouped_keys():
            continue
        setting = catalog.integration_setting(key) if key.startswith("integrations.") else catalog.advanced_setting(key)
        labels[key] = setting.label
    assert labels and not [label for label in labels.values() if "." in label or "_" in label]
    assert labels["integrations.immich.enabled"] == "Tell this app after each write"
    assert "push renames" not in labels.values() and "import every hours" not in labels.values()


def test_the_write_preview_says_where_names_go() -> None:
    assert where_names_go("in-file") == "names go into the photo itself"
    assert "sidecar file" in where_names_go("sidecar")
    changes = [{"tag": "XMP-mwg-rs:RegionInfo", "before": [], "after": ["Ann (0.1 0.2 0.3 0.4)"]},
               {"tag": "XMP-iptcExt:PersonInImage", "before": [], "after": ["Ann", "Bo"]}]  # fmt: skip
    assert people_after(changes) == ["Ann", "Bo"]
    assert people_after(changes[:1]) == []
    assert all(tag.rsplit(":", 1)[-1] in TAG_WORDS for tag in (c["tag"] for c in changes))


def test_an_old_undo_says_how_old() -> None:
    now = dt.datetime(2026, 1, 2, 12, 0, 0)
    stamp = lambda **kw: (now - dt.timedelta(**kw)).isoformat() + "Z"  # noqa: E731
    assert ago(stamp(seconds=30), now) == ""  # the click just made
    assert ago(stamp(minutes=5), now) == "5 min ago"
    assert ago(stamp(hours=3), now) == "3 h ago"
    assert ago(stamp(days=1, hours=1), now) == "1 day ago"
    assert ago(None, now) == "" and ago("not a time", now) == ""


def test_first_run_progress_line() -> None:
    job = JobView(1, "analyze", "running", 12, 40, 0, None, {}, None, None, "", None, None, None)
    assert describe(job) == "Step 2 of 3: Finding faces · 12 of 40 done (30%)"
    assert describe(JobView(2, "scan", "queued", 0, 0, 0, None, {}, None, None, "", None, None, None)).endswith(
        "waiting to start"
    )
