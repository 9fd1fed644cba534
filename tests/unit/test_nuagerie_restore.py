"""Unit tests of filter_plugins/nuagerie_restore.py (the moment and the dump of a one-space restore)."""

import pytest
from ansible.errors import AnsibleFilterError

import nuagerie_restore as r

NOW = "2026-12-03T12:00:00Z"
DUMPS = [
    "/var/backups/postgresql/spaces/nc_alpha/nc_alpha-20261201T023100Z.dump",
    "/var/backups/postgresql/spaces/nc_alpha/nc_alpha-20261203T023107Z.dump",
    "/var/backups/postgresql/spaces/nc_alpha/nc_alpha-20261202T024512Z.dump",
    "/var/backups/postgresql/spaces/nc_alpha/nc_alpha-20261202T024512Z.dump.part",
]


@pytest.mark.parametrize("text, expected", [
    ("2026-12-03T02:30:00Z", "2026-12-03T02:30:00Z"),
    ("2026-12-03 02:30", "2026-12-03T02:30:00Z"),
    ("2026-12-03T03:30:00+01:00", "2026-12-03T02:30:00Z"),
    ("2026-12-02T21:30:59.9-05:00", "2026-12-03T02:30:59Z"),
    ("2026-12-03T12:00:00Z", "2026-12-03T12:00:00Z"),
])
def test_moment_is_utc(text, expected):
    assert r.restore_moment(text, NOW) == expected


@pytest.mark.parametrize("text", ["", None, "yesterday", "2026-12-03", "2026-13-03T02:30Z", "2026-02-30T02:30Z"])
def test_moment_refusal_names_at_and_the_format(text):
    with pytest.raises(AnsibleFilterError, match=r"^at: .*2026-12-03T02:30:00Z"):
        r.restore_moment(text, NOW)


def test_future_moment_is_refused():
    with pytest.raises(AnsibleFilterError, match="at: 2026-12-03T12:00:01Z is in the future"):
        r.restore_moment("2026-12-03T12:00:01Z", NOW)


def test_bad_now_is_refused():
    with pytest.raises(AnsibleFilterError, match="now"):
        r.restore_moment("2026-12-03T02:30:00Z", "noon")


def test_dump_moment_reads_the_name():
    assert r.dump_moment(DUMPS[1]) == "2026-12-03T02:31:07Z"
    with pytest.raises(AnsibleFilterError, match="does not end in"):
        r.dump_moment(DUMPS[3])


@pytest.mark.parametrize("at, expected", [
    ("2026-12-03T02:31:07Z", DUMPS[1]),          # exactly the dump's moment
    ("2026-12-03T02:31:06Z", DUMPS[2]),          # one second before: the previous night
    ("2026-12-03T12:00:00Z", DUMPS[1]),
    ("2026-12-01T02:31:00Z", DUMPS[0]),
])
def test_newest_dump_at_or_before(at, expected):
    chosen = r.restore_dump(DUMPS, at)
    assert chosen["path"] == expected
    assert chosen["moment"] == r.dump_moment(expected)
    assert chosen["files_moment"] == chosen["moment"][:-1] + ".999Z"


def test_no_dump_before_names_the_oldest():
    with pytest.raises(AnsibleFilterError, match="oldest kept is 2026-12-01T02:31:00Z .newest 2026-12-03T02:31:07Z"):
        r.restore_dump(DUMPS, "2026-11-30T00:00:00Z")


def test_no_dump_at_all():
    with pytest.raises(AnsibleFilterError, match="no dump of this space"):
        r.restore_dump([DUMPS[3]], "2026-12-03T00:00:00Z")
    with pytest.raises(AnsibleFilterError, match="not a moment"):
        r.restore_dump(DUMPS, "soon")


def test_registration():
    assert r.FilterModule().filters() == {
        "nuagerie_restore_moment": r.restore_moment,
        "nuagerie_restore_dump_moment": r.dump_moment,
        "nuagerie_restore_dump": r.restore_dump,
    }
