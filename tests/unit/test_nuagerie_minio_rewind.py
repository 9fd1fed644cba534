"""Unit tests of the planning half of plugins/modules/nuagerie_minio_rewind.py (no MinIO needed)."""

from datetime import datetime, timedelta, timezone

import pytest

from modules import nuagerie_minio_rewind as m

T = datetime(2026, 12, 3, 2, 30, 0, tzinfo=timezone.utc)


def _line(key, at, vid, etag="e", size=3, marker=False):
    """One JSON line of `mc ls --versions --recursive --json`."""
    item = {"status": "success", "type": "file", "key": key, "lastModified": m.format_time(at),
            "versionId": vid, "etag": "" if marker else etag, "size": 0 if marker else size}
    if marker:
        item["isDeleteMarker"] = True
    return item


def _plan(lines, at=T):
    return m.rewind_plan(m.versions_by_key(lines), at)


@pytest.mark.parametrize("text, expected", [
    ("2026-12-03T02:30:00Z", T),
    ("2026-12-03T02:30Z", T),
    ("2026-12-03 02:30:00", T),
    ("2026-12-03T03:30:00+01:00", T),
    ("2026-12-03T03:30:00+0100", T),
    ("2026-12-02T21:30:00-05:00", T),
    ("2026-12-03T02:30:00.5Z", T + timedelta(milliseconds=500)),
    ("2026-12-03T02:30:00.123456789Z", T + timedelta(microseconds=123456)),
])
def test_parse_time_accepts_iso_moments(text, expected):
    assert m.parse_time(text) == expected


@pytest.mark.parametrize("text", ["", "yesterday", "2026-12-03", "03/12/2026 02:30", "2026-12-03T02:30:00 CET"])
def test_parse_time_names_the_format(text):
    with pytest.raises(ValueError, match="2026-12-03T02:30:00Z"):
        m.parse_time(text)


def test_format_time_round_trips_with_milliseconds():
    moment = T + timedelta(milliseconds=7)
    assert m.format_time(moment) == "2026-12-03T02:30:00.007Z"
    assert m.parse_time(m.format_time(moment)) == moment


def test_versions_are_grouped_newest_first_and_folders_ignored():
    lines = [
        _line("a", T - timedelta(hours=2), "v1"),
        {"status": "success", "type": "folder", "key": "dir/"},
        _line("a", T + timedelta(hours=1), "v2"),
        {"status": "error"},
    ]
    by_key = m.versions_by_key(lines)
    assert list(by_key) == ["a"]
    assert [v["version_id"] for v in by_key["a"]] == ["v2", "v1"]


def test_equal_times_keep_the_listing_order():
    same = T - timedelta(minutes=1)
    by_key = m.versions_by_key([_line("a", same, "newer"), _line("a", same, "older")])
    assert m.version_at(by_key["a"], T)["version_id"] == "newer"


def test_version_at_is_the_newest_written_at_or_before():
    by_key = m.versions_by_key([_line("a", T + timedelta(seconds=1), "after"), _line("a", T, "exactly"),
                                _line("a", T - timedelta(days=1), "before")])
    assert m.version_at(by_key["a"], T)["version_id"] == "exactly"
    assert m.version_at(by_key["a"], T - timedelta(seconds=1))["version_id"] == "before"
    assert m.version_at(by_key["a"], T - timedelta(days=2)) is None


def test_nothing_changed_since_then_means_an_empty_plan():
    plan = _plan([_line("a", T - timedelta(hours=1), "v1"), _line("b", T - timedelta(hours=2), "v1")])
    assert plan == {"restore": [], "remove": [], "unchanged": 2}


def test_overwritten_object_gets_its_old_version_back():
    plan = _plan([_line("a", T + timedelta(hours=1), "v2", etag="new"), _line("a", T - timedelta(hours=1), "v1")])
    assert plan["restore"] == [("a", "v1")]
    assert plan["remove"] == []


def test_deleted_object_comes_back():
    plan = _plan([_line("a", T + timedelta(hours=1), "dm", marker=True), _line("a", T - timedelta(hours=1), "v1")])
    assert plan["restore"] == [("a", "v1")]


def test_object_created_after_is_removed():
    plan = _plan([_line("new", T + timedelta(minutes=5), "v1")])
    assert plan == {"restore": [], "remove": ["new"], "unchanged": 0}


def test_object_deleted_before_then_recreated_is_removed():
    plan = _plan([_line("a", T + timedelta(hours=1), "v3"), _line("a", T - timedelta(hours=1), "dm", marker=True),
                  _line("a", T - timedelta(hours=2), "v1")])
    assert plan["remove"] == ["a"]


def test_object_absent_then_and_now_is_left_alone():
    plan = _plan([_line("a", T + timedelta(hours=2), "dm", marker=True), _line("a", T + timedelta(hours=1), "v1")])
    assert plan == {"restore": [], "remove": [], "unchanged": 1}


def test_a_copy_with_the_same_bytes_counts_as_restored():
    """A second run after a rewind (plain ETag: the copy's is the same MD5) plans nothing."""
    plan = _plan([_line("a", T + timedelta(hours=3), "copy", etag="md5"), _line("a", T + timedelta(hours=1), "v2",
                                                                                   etag="other"),
                  _line("a", T - timedelta(hours=1), "v1", etag="md5")])
    assert plan["restore"] == [] and plan["unchanged"] == 1


def test_same_etag_other_size_is_restored():
    plan = _plan([_line("a", T + timedelta(hours=1), "v2", etag="e", size=9), _line("a", T - timedelta(hours=1), "v1")])
    assert plan["restore"] == [("a", "v1")]


def test_plan_is_sorted_and_deterministic():
    lines = [_line(k, T + timedelta(hours=1), "n") for k in ("c", "a", "b")]
    assert _plan(lines)["remove"] == ["a", "b", "c"]
    assert _plan(lines) == _plan(list(reversed(lines)))


def test_check_rewound_accepts_a_complete_rewind_and_names_what_is_left():
    before = [_line("a", T + timedelta(hours=1), "v2", etag="x", size=5), _line("a", T - timedelta(hours=1), "v1"),
              _line("b", T + timedelta(hours=1), "v1")]
    plan = _plan(before)
    after = before + [_line("a", T + timedelta(hours=2), "copy", etag="y"),
                      _line("b", T + timedelta(hours=2), "dm", marker=True)]
    assert m.check_rewound(m.versions_by_key(after), T, plan) == []
    problems = m.check_rewound(m.versions_by_key(before), T, plan)
    assert problems == ["a: not restored (now 5 bytes)", "b: still present"]
    gone = before + [_line("a", T + timedelta(hours=2), "dm", marker=True)]
    assert m.check_rewound(m.versions_by_key(gone), T, plan)[0] == "a: not restored (now absent)"


@pytest.mark.parametrize("at, window, created, fragment", [
    (T + timedelta(seconds=1), 30, None, "in the future"),
    (T - timedelta(days=2), 30, T - timedelta(days=1), "before the bucket was created"),
    (T - timedelta(days=30), 30, None, "older than the retention window of 30 days"),
    (T - timedelta(days=31), 30, T - timedelta(days=400), "oldest restorable moment: 2026-11-03T02:30:00.000Z"),
])
def test_refusals_name_the_reason(at, window, created, fragment):
    assert fragment in m.refusal(at, T, window, created)


@pytest.mark.parametrize("at, window, created", [
    (T, 30, T - timedelta(days=1)),
    (T - timedelta(days=29, hours=23), 30, None),
    (T - timedelta(days=400), 0, T - timedelta(days=500)),
    (T - timedelta(days=1), 30, T - timedelta(days=1)),
])
def test_restorable_moments_are_accepted(at, window, created):
    assert m.refusal(at, T, window, created) is None
