"""Unit tests of plugins/modules/nuagerie_nextcloud_upgrade.py.

occ is a small fake (a Python script keeping each space's state in a JSON file). The phases that
need PostgreSQL and nginx (upgrade, rollback, reopen) run on the shared molecule platform
(molecule/platform/verify-upgrade.yml); here: app compatibility, the pre-flight on a release
tree, and the prepare phase's records and resume rules.
"""

import json
import os
import stat
import sys
import textwrap

import pytest

from modules import nuagerie_nextcloud_upgrade as m

FAKE_OCC = textwrap.dedent("""\
    #!{python}
    import json, os, sys
    slug, args = sys.argv[1], sys.argv[2:]
    path = os.path.join(os.environ.get("FAKE_OCC_DIR", "{state}"), slug + ".json")
    state = json.load(open(path))
    if args[0] == "config:list":
        print(json.dumps({{"system": {{}}, "apps": {{a: {{"enabled": v}} for a, v in state["apps"].items()}}}}))
    elif args[:2] == ["maintenance:mode", "--on"]:
        state["maintenance"] = True
    elif args[:2] == ["maintenance:mode", "--off"]:
        state["maintenance"] = False
    else:
        sys.exit(3)
    json.dump(state, open(path, "w"))
    """)


class FakeModule:
    def __init__(self, params, check_mode=False):
        self.params = params
        self.check_mode = check_mode


def write_info(root, app, low, high):
    os.makedirs(os.path.join(root, app, "appinfo"))
    with open(os.path.join(root, app, "appinfo", "info.xml"), "w", encoding="utf-8") as handle:
        handle.write(f'<info><id>{app}</id><dependencies><nextcloud min-version="{low}" max-version="{high}"/>'
                     '</dependencies></info>')


@pytest.fixture()
def farm(tmp_path):
    state, spaces, releases = tmp_path / "occ", tmp_path / "spaces", tmp_path / "releases"
    for path in (state, spaces, releases):
        path.mkdir()
    occ = tmp_path / "occ.py"
    occ.write_text(FAKE_OCC.format(python=sys.executable, state=state))
    occ.chmod(occ.stat().st_mode | stat.S_IXUSR)
    for version, pinned in (("31.0.12", {"deck": 31, "polls": 31}), ("32.0.6", {"deck": 32})):
        tree = releases / version
        (tree / "apps" / "files" / "appinfo").mkdir(parents=True)
        (tree / "apps" / "files" / "appinfo" / "info.xml").write_text("<info><id>files</id></info>")
        (tree / "version.php").write_text("<?php\n")
        for app, major in pinned.items():
            write_info(str(tree / "apps-pinned"), app, str(major), str(major))
    params = {"occ": str(occ), "spaces_root": str(spaces), "releases_dir": str(releases),
              "pinned_apps_dir": "apps-pinned", "state_dir": str(tmp_path / "stamps"),
              "dump_dir": str(tmp_path / "dumps"), "parallelism": 2, "timeout": 30, "retry_failed": False,
              "db_ssl_mode": "", "db_ssl_rootcert": "", "ca_file": "/ca.crt", "chains": {}}
    return {"params": params, "state": state, "spaces": spaces, "releases": releases}


def add_space(farm, slug, apps, release="31.0.12"):
    (farm["state"] / f"{slug}.json").write_text(json.dumps({"apps": apps, "maintenance": False}))
    (farm["spaces"] / slug).mkdir()
    os.symlink(str(farm["releases"] / release), str(farm["spaces"] / slug / "release"))
    return {"slug": slug, "from": release, "to": "32.0.6", "step": 1, "domain": f"{slug}.test",
            "install": {}, "secrets": []}


def test_app_compatibility_compares_on_the_bounds_parts(tmp_path):
    write_info(str(tmp_path), "deck", "32", "33")
    info = str(tmp_path / "deck" / "appinfo" / "info.xml")
    assert m.app_compatible(info, "32.0.6") is None and m.app_compatible(info, "33.0.8") is None
    assert "<= 33" in m.app_compatible(info, "34.0.0")
    assert ">= 32" in m.app_compatible(info, "31.0.12")


def test_enabled_apps_and_their_groups():
    listing = {"apps": {"deck": {"enabled": "yes"}, "forms": {"enabled": '["staff","board"]'},
                        "tables": {"enabled": "no"}, "core": {"vendor": "nextcloud"}}}
    assert m.enabled_apps(listing) == {"deck": "yes", "forms": '["staff","board"]'}
    assert m.groups_of('["staff","board"]') == ["staff", "board"] and m.groups_of("yes") == []


def test_preflight_blocks_a_space_whose_app_the_next_release_lacks(farm):
    ok = add_space(farm, "ok", {"files": "yes", "deck": "yes"})
    stuck = add_space(farm, "stuck", {"files": "yes", "deck": "yes", "polls": "yes"})
    farm["params"]["chains"] = {"ok": ["32.0.6"], "stuck": ["32.0.6"]}
    up = m.Upgrade(FakeModule(farm["params"]))
    assert up.preflight(ok) == ("ok", "")
    outcome, why = up.preflight(stuck)
    assert outcome == "blocked" and "app polls (enabled) is not in release 32.0.6" in why


def test_preflight_names_an_incompatible_pinned_app(farm):
    write_info(str(farm["releases"] / "32.0.6" / "apps-pinned"), "forms", "31", "31")
    space = add_space(farm, "old", {"forms": "yes"})
    farm["params"]["chains"] = {"old": ["32.0.6"]}
    outcome, why = m.Upgrade(FakeModule(farm["params"])).preflight(space)
    assert outcome == "blocked" and "app forms (enabled) of release 32.0.6 is not compatible" in why


def test_prepare_records_apps_turns_maintenance_on_and_is_not_repeated(farm):
    space = add_space(farm, "a", {"files": "yes", "forms": '["staff"]'})
    up = m.Upgrade(FakeModule(farm["params"]))
    assert up.one("prepare", space) == ("a", "done", "maintenance on")
    record = up.read("a")
    assert record["phase"] == "prepared" and record["apps_before"] == {"files": "yes", "forms": '["staff"]'}
    assert json.loads((farm["state"] / "a.json").read_text())["maintenance"] is True
    assert up.one("prepare", space) == ("a", "done", "prepared earlier (resumed)")
    assert oct(os.stat(up.record_path("a")).st_mode & 0o777) == "0o600"


def test_prepare_skips_done_rolled_back_and_spaces_behind(farm):
    space = add_space(farm, "a", {"files": "yes"})
    up = m.Upgrade(FakeModule(farm["params"]))
    up.write({"slug": "a", "from": "31.0.12", "to": "32.0.6", "phase": "done", "history": []})
    assert up.one("prepare", space)[1:] == ("done", "already upgraded to 32.0.6")
    up.write({"slug": "a", "from": "31.0.12", "to": "32.0.6", "phase": "rolled_back", "error": "x", "history": []})
    assert up.one("prepare", space)[1] == "skipped"
    later = dict(space, **{"from": "32.0.6", "to": "33.0.8", "step": 2})
    assert "did not reach 32.0.6" in up.one("prepare", later)[2]


def test_prepare_refuses_a_space_not_on_its_from_release(farm):
    space = dict(add_space(farm, "a", {"files": "yes"}, release="32.0.6"), **{"from": "31.0.12"})
    up = m.Upgrade(FakeModule(farm["params"]))
    slug, outcome, why = up.one("prepare", space)
    assert outcome == "failed" and "runs 32.0.6, not 31.0.12" in why
    assert json.loads((farm["state"] / "a.json").read_text())["maintenance"] is False


def test_check_mode_prepares_nothing(farm):
    space = add_space(farm, "a", {"files": "yes"})
    up = m.Upgrade(FakeModule(farm["params"], check_mode=True))
    assert up.one("prepare", space)[1:] == ("done", "would prepare")
    assert up.read("a") is None


def test_served_ends_the_downtime_when_every_frontend_has_the_file(farm, monkeypatch):
    space = add_space(farm, "a", {"files": "yes"})
    up = m.Upgrade(FakeModule(farm["params"]))
    up.write({"slug": "a", "from": "31.0.12", "to": "32.0.6", "phase": "done", "history": [],
              "maintenance_on": 100.0, "maintenance_off": 112.0, "downtime_seconds": 12.0})
    monkeypatch.setattr(m, "now", lambda: 115.5)
    assert up.one("served", space)[1:] == ("done", "served by every frontend")
    record = up.read("a")
    assert (record["served_at"], record["downtime_seconds"], record["occ_host_downtime_seconds"]) == (115.5, 15.5, 12.0)
    monkeypatch.setattr(m, "now", lambda: 130.0)
    assert up.one("served", space)[1:] == ("done", "already served")
    assert up.read("a")["downtime_seconds"] == 15.5


def test_served_skips_a_space_still_in_maintenance_or_on_another_step(farm):
    space = add_space(farm, "a", {"files": "yes"})
    up = m.Upgrade(FakeModule(farm["params"]))
    up.write({"slug": "a", "from": "31.0.12", "to": "32.0.6", "phase": "failed", "history": [], "maintenance_on": 1.0})
    assert up.one("served", space)[1] == "skipped"
    up.write({"slug": "a", "from": "30.0.1", "to": "31.0.12", "phase": "done", "history": [], "maintenance_on": 1.0,
              "maintenance_off": 2.0})
    assert up.one("served", space)[1] == "skipped" and "served_at" not in up.read("a")
