"""Unit tests of drift detection (issue 17): the module's mode ``drift``
(plugins/modules/nuagerie_nextcloud_spaces.py) against a fake occ that prints a recorded
``config:list``, and the pure filters that turn the readings into per-space lines
(filter_plugins/nuagerie_nextcloud_occ.py)."""

import copy
import json
import stat
import sys
import textwrap

import pytest

import nuagerie_names
import nuagerie_nextcloud
import nuagerie_nextcloud_occ as occf
from modules import nuagerie_nextcloud_spaces as m

KEY = "unit-test-master-key-0123456789abcdef"
SETTINGS = {
    "farm_name": "nuagerie-occ", "spaces_root": "/srv/nextcloud/spaces", "releases_dir": "/srv/nextcloud/releases",
    "farm_config_file": "/etc/nextcloud/farm.config.php", "web_user": "www-data", "web_group": "www-data",
    "db": {"host": "pg1", "port": 5432, "ssl_mode": "verify-full", "ssl_rootcert": "/ca.crt"},
    "redis": {"host": "redis1", "port": 6379, "tls": True, "cafile": "/ca.crt"},
    "s3": {"hostname": "s3", "port": 9000, "use_ssl": True, "region": "us-east-1"},
    "trusted_proxies": [], "overwriteprotocol": "https", "maintenance_hours": [1, 2], "mail": {},
    "apps": ["calendar", "deck"], "admin_user": "admin",
    "collabora": {"url": "https://collabora.example.test/", "wopi_allowlist": ["10.0.0.0/8"]},
    "onlyoffice": {"url": "https://onlyoffice.example.test", "internal_url": "", "jwt_header": "Authorization"},
}


def record(slug, state="active", office="collabora", quota=40):
    return {"slug": slug, "state": state, "office": office, "quota_gb": quota, "max_accounts": 50,
            "nextcloud_release": "33.0.8", "domains": [f"{slug}.lab.nuagerie.test"],
            "admin_email": f"admin@{slug}.example.org", "notes": "",
            "rotation": {"db_password": 0, "s3_secret_key": 0, "redis_password": 0, "admin_password": 0},
            "names": nuagerie_names.space_names(slug)}


def converged(want):
    """What ``occ config:list --private --output=json`` prints for a space converged to ``want``:
    the merged system config plus keys only config.php holds, every app value, `enabled` keys."""
    apps = {app: {"enabled": "yes", "installed_version": "1.0"} for app in want["apps_enabled"]}
    apps.update({app: {"enabled": "no"} for app in want["apps_disabled"]})
    for app, values in want["app_values"].items():
        for key, value in values.items():
            if value is not None:
                apps.setdefault(app, {})[key] = value
    system = json.loads(json.dumps(want["system"]))  # as PHP's JSON gives it back
    system.update({"installed": True, "version": "33.0.8.0", "instanceid": system.get("instanceid", "x")})
    return {"system": system, "apps": apps}


# ------------------------------------------------------------------ the comparison of one space

def test_a_converged_space_shows_no_drift():
    want = occf.drift_space(record("a"), SETTINGS, KEY)
    assert m.space_drift(want, converged(want)) == []


def test_every_kind_of_hand_edit_is_named_and_secrets_never_shown():
    want = occf.drift_space(record("b", office="onlyoffice"), SETTINGS, KEY)
    live = converged(want)
    live["apps"]["deck"]["enabled"] = "no"                                   # app disabled by hand
    live["apps"]["richdocuments"]["enabled"] = "yes"                         # the other suite enabled
    live["apps"]["files"]["default_quota"] = "100 GB"                        # quota edited
    live["apps"]["onlyoffice"]["jwt_secret"] = "leaked-by-hand"              # a secret edited
    live["apps"]["richdocuments"]["wopi_url"] = "https://old.example"        # other suite's wiring left
    live["system"]["loglevel"] = 0                                           # a farm key
    live["system"]["dbpassword"] = "typed-by-hand"                           # a secret key
    del live["system"]["mail_domain"]                                        # a key removed
    lines = m.space_drift(want, live)
    assert lines == [
        "system dbpassword: differs",
        "system loglevel: differs 0 (catalogue: 2)",
        "system mail_domain: missing",
        "app deck: disabled (catalogue: enabled)",
        "app richdocuments: enabled (catalogue: disabled)",
        "app value files.default_quota: \"100 GB\" (catalogue: \"40 GB\")",
        "app value onlyoffice.jwt_secret: differs",
        "app value richdocuments.wopi_url: set (catalogue: unset)",
    ]
    text = "\n".join(lines)
    assert "typed-by-hand" not in text and "leaked-by-hand" not in text
    assert not any(secret in text for secret in want["secrets"])


def test_empty_php_arrays_and_groups_restricted_apps_are_read_as_upstream_writes_them():
    want = occf.drift_space(record("a"), SETTINGS, KEY)
    live = converged(want)
    live["system"]["trusted_proxies"] = []            # PHP's empty array
    live["apps"]["calendar"]["enabled"] = '["staff"]'  # enabled for groups: still enabled
    assert m.space_drift(want, live) == []
    live["system"]["trusted_proxies"] = ["10.0.0.1"]
    assert m.space_drift(want, live) == ['system trusted_proxies: differs ["10.0.0.1"] (catalogue: [])']
    # an empty `apps` part is a JSON list upstream: every app reads as disabled
    assert "app calendar: disabled (catalogue: enabled)" in m.space_drift(want, {"system": live["system"], "apps": []})


def test_expected_system_config_is_the_farm_file_under_the_space_file():
    want = occf.drift_space(record("a"), SETTINGS, KEY)
    farm = nuagerie_nextcloud.farm_config(SETTINGS)
    space = nuagerie_nextcloud.space_config(record("a"), SETTINGS, KEY)
    assert want["system"] == {**farm, **space}
    assert "system" not in occf.drift_space(record("z", state="absent"), SETTINGS, KEY)
    # drift adds `system` only: the desired state the converging run uses is unchanged
    plain = occf.occ_space(record("a"), SETTINGS, KEY)
    assert {k: v for k, v in want.items() if k != "system"} == plain


# ------------------------------------------------------------------ the module: one occ call per space

FAKE_OCC = textwrap.dedent("""\
    #!{python}
    import json, os, sys
    slug, cmd = sys.argv[1], sys.argv[2]
    base = os.environ["FAKE_OCC_DIR"]
    with open(os.path.join(base, "calls.log"), "a") as log:
        log.write(" ".join(sys.argv[1:]) + "\\n")
    if cmd != "config:list" or sys.argv[3:] != ["--private", "--output=json"]:
        sys.exit(64)
    path = os.path.join(base, slug + ".json")
    if not os.path.exists(path):
        print("Nextcloud is not installed", file=sys.stderr)
        sys.exit(1)
    print("Notice: a deprecation\\n" + open(path).read())
""")


@pytest.fixture()
def farm(tmp_path, monkeypatch):
    occ = tmp_path / "occ"
    occ.write_text(FAKE_OCC.format(python=sys.executable))
    occ.chmod(occ.stat().st_mode | stat.S_IEXEC)
    (tmp_path / "state").mkdir()
    monkeypatch.setenv("FAKE_OCC_DIR", str(tmp_path / "state"))
    params = {"occ": str(occ), "spaces_root": str(tmp_path / "spaces"), "state_dir": str(tmp_path / "stamps"),
              "handover_dir": str(tmp_path / "handover"), "parallelism": 3, "timeout": 30, "verify": False,
              "db_ssl_mode": "", "db_ssl_rootcert": "", "db_table_prefix": "oc_", "mode": "drift",
              "selection": False}
    return m.Farm(params), tmp_path


def test_drift_reads_each_active_space_once_and_reports_only_what_differs(farm):
    f, tmp = farm
    records = [record(s) for s in ("a", "b", "c", "d")] + [record("e", state="disabled")]
    want = occf.drift_spaces(records, SETTINGS, KEY)
    for space in want[:3]:
        live = converged(space)
        if space["slug"] == "b":
            live["apps"]["deck"]["enabled"] = "no"
        (tmp / "state" / f"{space['slug']}.json").write_text(json.dumps(live))
    # d has no reading: occ fails for it; e is disabled: never read
    result = m.run_drift(f, want)
    assert result["drift"] == {"b": ["app deck: disabled (catalogue: enabled)"]}
    assert list(result["failed_spaces"]) == ["d"] and "not installed" in result["failed_spaces"]["d"]
    assert result["checked"] == 4 and result["occ_calls"] == 4 and result["changed"] is False
    log = (tmp / "state" / "calls.log").read_text().splitlines()
    assert sorted(log) == [f"{s} config:list --private --output=json" for s in "abcd"]


# ------------------------------------------------------------------ the report lines

MAP = nuagerie_nextcloud.nginx_spaces_map


def test_route_drift_names_the_host_names_that_differ():
    spaces = [record("a"), record("b"), record("c", state="disabled")]
    expected = MAP(spaces, {})
    assert occf.route_drift(expected, expected) == {}
    live = expected.replace("b.lab.nuagerie.test b;", "b.lab.nuagerie.test a;").replace(
        "    c.lab.nuagerie.test 1;\n", "")
    assert occf.route_drift(live, expected) == {
        "b.lab.nuagerie.test": ["route b.lab.nuagerie.test: a (catalogue: b)"],
        "c.lab.nuagerie.test": ["maintenance route c.lab.nuagerie.test: missing (catalogue: 1)"],
    }
    assert occf.route_drift("", expected)["a.lab.nuagerie.test"] == [
        "route a.lab.nuagerie.test: missing (catalogue: a)"]


def test_drift_lines_attribute_every_reading_to_its_space():
    spaces = [record("a"), record("b"), record("c")]
    names_b = spaces[1]["names"]
    occ_result = {"drift": {"a": ["app deck: disabled (catalogue: enabled)"]},
                  "failed_spaces": {"c": "drift: occ config:list exited 1: not installed"},
                  "occ_calls": 3, "seconds": 0.4}
    web = {
        "web2": {"files": [f"{names_b['fpm_pool']}.conf", f"{names_b['timer']}.timer",
                           "/srv/nextcloud/spaces/a/config/50-space.config.php", "www.conf"],
                 "routes": {"b.lab.nuagerie.test": ["route b.lab.nuagerie.test: missing (catalogue: b)"]},
                 "config_php": ["b"]},
        "web1": {"files": [], "routes": {}, "config_php": []},
    }
    lines = occf.drift_lines(occ_result, web, spaces)
    assert lines == [
        "drift: 2 of 3 space(s) differ from the catalogue, 1 unreadable; 3 occ call(s) on the occ host in 0.4 s",
        "(farm): DRIFT: web2: www.conf differs",
        "a: DRIFT: app deck: disabled (catalogue: enabled); web2: /srv/nextcloud/spaces/a/config/50-space.config.php differs",
        f"b: DRIFT: web2: {names_b['fpm_pool']}.conf differs; web2: {names_b['timer']}.timer differs; "
        "web2: route b.lab.nuagerie.test: missing (catalogue: b); web2: config.php differs from the occ host's",
        "c: FAILED at drift: drift: occ config:list exited 1: not installed",
    ]
    assert occf.drifted_slugs(lines) == ["a", "b", "c"]
    clean = occf.drift_lines({"drift": {}, "failed_spaces": {}, "occ_calls": 3, "seconds": 0.1},
                             {"web1": {"files": [], "routes": {}, "config_php": []}}, spaces)
    assert clean == ["drift: 0 of 3 space(s) differ from the catalogue, 0 unreadable; 3 occ call(s) on the occ host in 0.1 s"]
    assert occf.drifted_slugs(clean) == []


def test_a_selection_reports_its_spaces_only():
    spaces = [record("a")]
    occ_result = {"drift": {}, "failed_spaces": {}, "occ_calls": 1, "seconds": 0.1}
    web = {"web1": {"files": ["/srv/nextcloud/spaces/zz/config/50-space.config.php"], "routes": {}, "config_php": []}}
    assert occf.drift_lines(copy.deepcopy(occ_result), web, spaces)[1:] == [
        "(farm): DRIFT: web1: /srv/nextcloud/spaces/zz/config/50-space.config.php differs"]
