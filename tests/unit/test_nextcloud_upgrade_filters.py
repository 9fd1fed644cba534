"""Unit tests of filter_plugins/nuagerie_nextcloud_upgrade.py (release links, upgrade plans)."""

from __future__ import annotations

import importlib.util
import os

import pytest
from ansible.errors import AnsibleFilterError

_PATH = os.path.join(os.path.dirname(__file__), "..", "..", "filter_plugins", "nuagerie_nextcloud_upgrade.py")
_SPEC = importlib.util.spec_from_file_location("nuagerie_nextcloud_upgrade_under_test", _PATH)
up = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(up)

RELEASES = ["31.0.12", "32.0.6", "33.0.8"]


def space(slug, release="33.0.8", state="active"):
    return {"slug": slug, "nextcloud_release": release, "state": state}


def test_live_releases_prefers_the_first_read_and_ignores_foreign_links():
    reads = [{"stdout_lines": ["/srv/s/alpha /srv/r/31.0.12", "/srv/s/odd /elsewhere/33.0.8"]},
             {"stdout_lines": ["/srv/s/alpha /srv/r/33.0.8", "/srv/s/bravo /srv/r/32.0.6/"]}]
    assert up.live_releases(reads, "/srv/r") == {"alpha": "31.0.12", "bravo": "32.0.6"}


def test_spaces_at_releases_keeps_new_spaces_at_their_target():
    out = up.spaces_at_releases([space("alpha"), space("new")], {"alpha": "31.0.12"})
    assert [(s["slug"], s["nextcloud_release"]) for s in out] == [("alpha", "31.0.12"), ("new", "33.0.8")]
    # a space at its target hashes like the catalogue record (the plan and the stamps agree)
    assert up.spaces_at_releases([space("same")], {"same": "33.0.8"}) == [space("same")]


def test_chain_goes_one_major_at_a_time_through_the_newest_release():
    assert up.release_chain("31.0.12", "33.0.8", RELEASES + ["32.0.1"]) == (["32.0.6", "33.0.8"], None)
    assert up.release_chain("33.0.8", "33.0.8", RELEASES) == ([], None)


def test_chain_refuses_downgrades_and_missing_majors():
    chain, why = up.release_chain("33.0.8", "31.0.12", RELEASES)
    assert chain == [] and "downgrade" in why
    chain, why = up.release_chain("31.0.12", "33.0.8", ["31.0.12", "33.0.8"])
    assert chain == [] and "major 32" in why


def test_plan_puts_the_canary_alone_first_and_bounds_the_waves():
    spaces = [space(s) for s in ("a", "b", "c", "d", "e")] + [space("pinned", "31.0.12"), space("off", state="disabled"),
                                                              space("new"), space("stuck")]
    live = {s: "31.0.12" for s in ("a", "b", "c", "d", "e", "pinned", "off", "stuck")}
    plan = up.upgrade_plan(spaces, live, RELEASES, canary=1, wave_size=2, blocked={"stuck": "app polls"})
    names = [(w["name"], [s["slug"] for s in w["spaces"]]) for w in plan["waves"]]
    assert names == [("step 1/2 canary", ["a"]), ("step 1/2 wave 1", ["b", "c"]), ("step 1/2 wave 2", ["d", "e"]),
                     ("step 2/2 wave 1", ["a", "b"]), ("step 2/2 wave 2", ["c", "d"]), ("step 2/2 wave 3", ["e"])]
    assert plan["waves"][0]["spaces"][0] == {"slug": "a", "from": "31.0.12", "to": "32.0.6"}
    assert plan["waves"][3]["spaces"][0] == {"slug": "a", "from": "32.0.6", "to": "33.0.8"}
    status = {slug: row["status"] for slug, row in plan["spaces"].items()}
    assert status == {"a": "upgrade", "b": "upgrade", "c": "upgrade", "d": "upgrade", "e": "upgrade",
                      "pinned": "current", "off": "inactive", "new": "not-installed", "stuck": "blocked"}
    assert plan["spaces"]["stuck"]["why"] == "app polls"


def test_plan_canary_by_name_and_unknown_canary_refused():
    plan = up.upgrade_plan([space("a"), space("b")], {"a": "32.0.6", "b": "32.0.6"}, RELEASES, canary=["b"])
    assert [w["spaces"][0]["slug"] for w in plan["waves"]] == ["b", "a"]
    with pytest.raises(AnsibleFilterError, match="zz"):
        up.upgrade_plan([space("a")], {"a": "32.0.6"}, RELEASES, canary=["zz"])


def test_links_follow_the_record_phase():
    records = {"a": {"from": "31.0.12", "to": "32.0.6", "phase": "prepared"},
               "b": {"from": "31.0.12", "to": "32.0.6", "phase": "restored"},
               "c": {"from": "31.0.12", "to": "32.0.6", "phase": "done"}}
    assert up.upgrade_links(records) == {"a": "32.0.6", "b": "31.0.12", "c": "32.0.6"}


def test_resume_counts_in_flight_spaces_on_the_release_they_left():
    records = {"a": {"from": "31.0.12", "to": "32.0.6", "phase": "upgraded"},
               "c": {"from": "31.0.12", "to": "32.0.6", "phase": "done"}}
    assert up.upgrade_resume_live({"a": "32.0.6", "c": "32.0.6"}, records) == {"a": "31.0.12", "c": "32.0.6"}


def test_report_rows_and_wave_failures():
    plan = up.upgrade_plan([space("a"), space("b"), space("c")], {"a": "32.0.6", "b": "32.0.6", "c": "33.0.8"},
                           RELEASES, canary=0)
    records = {"a": {"from": "32.0.6", "to": "33.0.8", "phase": "done", "downtime_seconds": 4.2},
               "b": {"from": "32.0.6", "to": "33.0.8", "phase": "rolled_back", "error": "occ upgrade: exit 5"}}
    rows = {r["space"]: (r["release"], r["outcome"], r["error"]) for r in up.upgrade_report(plan, records)}
    assert rows == {"a": ("33.0.8", "upgraded", ""), "b": ("32.0.6", "rolled back", "occ upgrade: exit 5"),
                    "c": ("33.0.8", "current", "")}
    assert up.upgrade_wave_failures(records, plan["waves"][0]) == 1
    lines = up.upgrade_report_lines(up.upgrade_report(plan, records))
    assert lines[0].startswith("space") and "4.2 s" in lines[1]


def test_upgrade_wave_merges_from_and_to():
    wave = {"step": 2, "spaces": [{"slug": "a", "from": "32.0.6", "to": "33.0.8"}]}
    assert up.upgrade_wave([{"slug": "a", "install": {}}], wave) == [
        {"slug": "a", "install": {}, "from": "32.0.6", "to": "33.0.8", "step": 2}]
    with pytest.raises(AnsibleFilterError):
        up.upgrade_wave([], wave)


def test_a_space_in_flight_finishes_its_recorded_step_even_when_its_target_moved_back():
    records = {"a": {"from": "31.0.12", "to": "32.0.6", "phase": "prepared"}}
    live = up.upgrade_resume_live({"a": "32.0.6"}, records)
    plan = up.upgrade_plan([space("a", "31.0.12")], live, RELEASES, canary=0, blocked={"a": "app x"},
                           in_flight=records)
    assert plan["spaces"]["a"]["status"] == "upgrade"
    assert plan["waves"][0]["spaces"] == [{"slug": "a", "from": "31.0.12", "to": "32.0.6"}]
