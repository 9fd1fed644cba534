"""Tests of filter_plugins/nuagerie_nextcloud_releases.py: a release is the server archive and
the archives of the apps it pins; every app a space enables is pinned or shipped."""

from pathlib import Path

import pytest
import yaml
from ansible.errors import AnsibleFilterError

import nuagerie_nextcloud
import nuagerie_nextcloud_releases as rel

ROOT = Path(__file__).resolve().parents[2]
SHA = "a" * 64
SHIPPED = ["activity", "circles", "notifications", "text", "viewer"]
FARM_APPS = ["calendar", "circles", "text"]


def app(name: str, **extra) -> dict:
    return {"name": name, "version": "6.0.0", "sha256": SHA, "src": f"/cache/{name}.tar.gz", **extra}


def release(version: str = "33.0.8", apps: list | None = None) -> dict:
    return {"version": version, "sha256": SHA, "src": "/cache/nc.tar.bz2",
            "apps": [app("calendar"), app("richdocuments")] if apps is None else apps}


def space(slug: str, office: str = "collabora", state: str = "active", version: str = "33.0.8") -> dict:
    return {"slug": slug, "office": office, "state": state, "nextcloud_release": version}


def problems(releases, spaces=(space("asso-velo"),), farm_apps=FARM_APPS):
    return rel.release_problems(releases, SHIPPED, farm_apps, list(spaces))


def test_a_release_pinning_every_non_shipped_app_is_fine():
    assert problems([release()]) == []


def test_an_enabled_app_neither_pinned_nor_shipped_names_release_app_spaces_and_fix():
    [message] = problems([release(apps=[app("richdocuments")])],
                         spaces=[space(f"s{i}") for i in range(5)])
    assert message.startswith("release 33.0.8: app 'calendar' is not in the server archive")
    assert "occ app:enable calendar" in message and "s0, s1, s2 and 2 more" in message
    assert "Fix: add {name: calendar" in message and "apps of release 33.0.8" in message


def test_the_office_app_is_required_only_by_the_spaces_that_use_it():
    ok = release(apps=[app("calendar"), app("richdocuments")])
    assert problems([ok], spaces=[space("a", office="collabora")]) == []
    [message] = problems([ok], spaces=[space("a"), space("b", office="onlyoffice")])
    assert "'onlyoffice'" in message and "the office app of spaces b" in message


def test_absent_spaces_and_other_releases_need_nothing():
    old = release("32.0.5", apps=[app("calendar"), app("onlyoffice")])
    spaces = [space("a"), space("b", office="collabora", version="32.0.5", state="absent")]
    assert problems([release(), old], spaces=spaces) == []


@pytest.mark.parametrize("bad, expected", [
    (app("Calendar"), "name must be an app id"),
    (app("calendar", version="v6"), "version must be the app's version"),
    (app("calendar", sha256="TODO(operator): pin"), "still a placeholder"),
    (app("calendar", sha256="A" * 64), "64 lower-case hex digits"),
    (app("calendar", url="https://x.test/c.tar.gz"), "exactly one of url"),
    ({"name": "calendar", "version": "6.0.0", "sha256": SHA}, "exactly one of url"),
    (app("calendar", src=None, url="TODO(operator): pin") | {"src": None}, "exactly one of url"),
    ({"name": "calendar", "version": "6.0.0", "sha256": SHA, "url": "ftp://x"}, "url must be an http(s) URL"),
    (app("calendar", sha265=SHA), "unknown keys ['sha265']"),
    (app("text"), "shipped with the server"),
    ("calendar", "must be a mapping"),
])
def test_app_shapes_are_refused_with_the_field_named(bad, expected):
    found = problems([release(apps=[bad, app("richdocuments")])], spaces=[], farm_apps=[])
    assert any(expected in p for p in found), found


def test_an_app_listed_twice_and_a_release_listed_twice():
    found = problems([release(apps=[app("calendar"), app("calendar"), app("richdocuments")]), release()])
    assert any("app calendar: listed twice" in p for p in found)
    assert any("release 33.0.8: listed twice" in p for p in found)


def test_apps_must_be_a_list_and_releases_a_list_of_mappings():
    assert any("apps must be a list" in p for p in problems([release(apps={"calendar": 1})], spaces=[]))
    with pytest.raises(AnsibleFilterError, match="list of mappings"):
        rel.release_problems("33.0.8", SHIPPED, FARM_APPS, [])


def test_required_apps_per_release():
    needed = rel.required_apps([space("b"), space("a", office="onlyoffice"), space("c", state="absent")], ["calendar"])
    assert needed == {"33.0.8": {"calendar": ["a", "b"], "richdocuments": ["b"], "onlyoffice": ["a"]}}


def test_unpinned_paths_are_the_dropped_apps_and_stale_marks():
    found = [{"__nextcloud_item": release(), "files": [
        {"path": "/r/33.0.8/apps-pinned/calendar", "isdir": True},
        {"path": "/r/33.0.8/apps-pinned/deck", "isdir": True},
        {"path": "/r/33.0.8/apps-pinned/stray-file", "isdir": False},
        {"path": f"/r/.pinned/33.0.8/calendar.{SHA}", "isdir": False},
        {"path": "/r/.pinned/33.0.8/calendar.old", "isdir": False},
        {"path": f"/r/.pinned/33.0.8/deck.{SHA}", "isdir": False},
    ]}]
    assert rel.unpinned_paths(found, "/r/") == [
        "/r/.pinned/33.0.8/calendar.old", f"/r/.pinned/33.0.8/deck.{SHA}", "/r/33.0.8/apps-pinned/deck"]
    assert rel.unpinned_paths([{"__nextcloud_item": release(), "skipped": True}], "/r") == []


def test_filters_are_registered():
    table = rel.FilterModule().filters()
    assert table["nuagerie_nextcloud_release_problems"] is rel.release_problems
    assert table["nuagerie_nextcloud_unpinned_paths"] is rel.unpinned_paths


def test_the_role_and_the_config_filter_agree_on_the_pinned_dir():
    role_vars = yaml.safe_load((ROOT / "roles/nextcloud/vars/main.yml").read_text())
    assert role_vars["__nextcloud_pinned_apps_dir"] == nuagerie_nextcloud.PINNED_APPS_DIR


def test_apps_paths_are_the_release_trees_read_only_dirs():
    assert nuagerie_nextcloud.apps_paths("/srv/releases/33.0.8") == [
        {"path": "/srv/releases/33.0.8/apps", "url": "/apps", "writable": False},
        {"path": "/srv/releases/33.0.8/apps-pinned", "url": "/apps-pinned", "writable": False},
    ]


@pytest.mark.parametrize("env", ["staging", "production"])
def test_placeholder_pins_of_staging_and_production_are_refused(env):
    data = yaml.safe_load((ROOT / f"inventories/{env}/group_vars/web/nextcloud.yml").read_text())
    [entry] = data["nextcloud_releases"]
    entry = entry | {"version": "33.0.8"}
    found = rel.release_problems([entry], SHIPPED, FARM_APPS, [space("a")])
    assert any("calendar" in p and "placeholder" in p for p in found)
    assert any("url must be an http(s) URL" in p for p in found)
