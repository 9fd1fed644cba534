"""Unit tests of plugins/modules/nuagerie_nextcloud_spaces.py and filter_plugins/nuagerie_nextcloud_occ.py.

occ is a small fake (a Python script keeping each space's state in a JSON file) so that the
module's logic — install once, apps and app values by difference, stamps, partial failure,
secrets redacted — is tested without Nextcloud; the molecule scenario `platform` runs it
against the stand-in release in containers.
"""

import json
import os
import stat
import sys
import textwrap

import pytest
from ansible.errors import AnsibleFilterError

import nuagerie_names
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
    "collabora": {"url": "https://collabora.example.test/", "wopi_allowlist": ["10.0.0.0/8", "192.0.2.7"]},
    "onlyoffice": {"url": "https://onlyoffice.example.test", "internal_url": "", "jwt_header": "Authorization"},
}


def record(slug, state="active", office="collabora", quota=40, **extra):
    rec = {"slug": slug, "state": state, "office": office, "quota_gb": quota, "max_accounts": 50,
           "nextcloud_release": "33.0.8", "domains": [f"{slug}.lab.nuagerie.test"],
           "admin_email": f"admin@{slug}.example.org", "notes": "",
           "rotation": {"db_password": 0, "s3_secret_key": 0, "redis_password": 0, "admin_password": 0},
           "names": nuagerie_names.space_names(slug)}
    rec.update(extra)
    return rec


# ------------------------------------------------------------------ filter: desired state

def test_collabora_space_wires_richdocuments_and_removes_onlyoffice():
    want = occf.occ_space(record("a"), SETTINGS, KEY)
    assert want["apps_enabled"] == ["calendar", "deck", "richdocuments"]
    assert want["apps_disabled"] == ["onlyoffice"]
    assert want["app_values"]["richdocuments"] == {
        "wopi_url": "https://collabora.example.test", "wopi_allowlist": "10.0.0.0/8,192.0.2.7"}
    assert set(want["app_values"]["onlyoffice"].values()) == {None}
    assert want["app_values"]["files"] == {"default_quota": "40 GB"}
    assert want["install"]["db_name"] == record("a")["names"]["database"]
    assert want["install"]["db_host"] == "pg1" and want["install"]["db_port"] == "5432"
    assert want["install"]["admin_pass"] in want["secrets"]


def test_onlyoffice_space_gets_url_and_farm_jwt_secret():
    want = occf.occ_space(record("b", office="onlyoffice"), SETTINGS, KEY)
    values = want["app_values"]["onlyoffice"]
    assert values["DocumentServerUrl"] == "https://onlyoffice.example.test/"
    assert values["DocumentServerInternalUrl"] is None
    assert values["jwt_secret"] and values["jwt_secret"] in want["secrets"]
    # one document server, one secret: the same for every space, different per master key
    other = occf.occ_space(record("c", office="onlyoffice"), SETTINGS, KEY)["app_values"]["onlyoffice"]
    assert other["jwt_secret"] == values["jwt_secret"]
    assert occf.occ_space(record("c", office="onlyoffice"), SETTINGS, KEY + "x")["app_values"]["onlyoffice"][
        "jwt_secret"] != values["jwt_secret"]
    assert want["apps_disabled"] == ["richdocuments"]


def test_switching_office_changes_only_that_space():
    before = [occf.occ_space(record(s), SETTINGS, KEY) for s in ("a", "b")]
    after = [occf.occ_space(record("a", office="onlyoffice"), SETTINGS, KEY), occf.occ_space(record("b"), SETTINGS, KEY)]
    assert before[0]["desired_hash"] != after[0]["desired_hash"]
    assert before[1]["desired_hash"] == after[1]["desired_hash"]


def test_hashes_ignore_notes_but_see_edits():
    base = occf.occ_space(record("a"), SETTINGS, KEY)
    assert occf.occ_space(record("a", notes="x"), SETTINGS, KEY)["record_hash"] == base["record_hash"]
    alias = occf.occ_space(record("a", domains=["a.lab.nuagerie.test", "cloud.a.org"]), SETTINGS, KEY)
    assert alias["record_hash"] != base["record_hash"]
    assert alias["desired_hash"] == base["desired_hash"]      # no occ work for an alias
    assert occf.occ_space(record("a", quota=10), SETTINGS, KEY)["desired_hash"] != base["desired_hash"]


def test_absent_space_carries_no_secrets():
    assert set(occf.occ_space(record("a", state="absent"), SETTINGS, KEY)) == {
        "slug", "state", "release", "domain", "record_hash"}


@pytest.mark.parametrize("change,match", [
    ({"apps": ["calendar", "richdocuments"]}, "must not list office apps"),
    ({"apps": "calendar"}, "list of app ids"),
    ({"collabora": {"url": "collabora.example"}}, "nextcloud_collabora_url"),
])
def test_bad_settings_are_refused(change, match):
    with pytest.raises(AnsibleFilterError, match=match):
        occf.occ_space(record("a"), {**SETTINGS, **change}, KEY)


def test_unknown_office_is_refused():
    with pytest.raises(AnsibleFilterError, match="office must be one of"):
        occf.occ_space(record("a", office="word"), SETTINGS, KEY)


def test_plan_and_outcome_lines():
    lines = occf.plan_lines({"create": ["a", "b"], "delete": ["z"], "unchanged": ["c"]}, True)
    assert lines[0].startswith("Plan (check mode")
    assert any(line.startswith("create (2): a, b") for line in lines)
    assert any(line.startswith("delete (1): z") for line in lines)
    assert lines[-1] == "unchanged: 1"
    out = occf.outcome_lines({"outcomes": {"created": ["a"], "failed": ["b"]}, "steps": {"a": ["install"]},
                              "failed_spaces": {"b": "install: refused"}, "seconds": 1.5})
    assert "created 1" in out[0] and "failed 1" in out[0]
    assert "a: created (install)" in out and "b: FAILED at install: refused" in out


# ------------------------------------------------------------------ module: pure helpers

def test_app_value_diff():
    current = {"files": {"default_quota": "40 GB"}, "onlyoffice": {"jwt_secret": "old"}}
    desired = {"files": {"default_quota": "10 GB"}, "onlyoffice": {"jwt_secret": None, "jwt_header": None},
               "richdocuments": {"wopi_url": "https://c"}}
    assert m.app_value_diff(current, desired) == {
        "files": {"default_quota": "10 GB"}, "onlyoffice": {"jwt_secret": None},
        "richdocuments": {"wopi_url": "https://c"}}
    assert m.app_value_diff({"files": {"default_quota": "10 GB"}}, {"files": {"default_quota": "10 GB"}}) == {}


def test_parse_json_skips_notices():
    assert m.parse_json('Nextcloud is in maintenance mode\n{"installed": true}\n') == {"installed": True}
    with pytest.raises(ValueError):
        m.parse_json("no json here")


def test_redact():
    assert m.redact("password s3cr3t refused", ["s3cr3t", ""]) == "password ******** refused"


@pytest.mark.parametrize("state,stamp,expected", [
    ("active", None, "create"),
    ("active", {"installed": False}, "create"),
    ("active", {"installed": True, "state": "disabled"}, "enable"),
    ("active", {"installed": True, "state": "active", "record_hash": "r", "desired_hash": "d"}, "unchanged"),
    ("active", {"installed": True, "state": "active", "record_hash": "x", "desired_hash": "d"}, "change"),
    ("disabled", None, "pending"),
    ("disabled", {"installed": True, "state": "active"}, "disable"),
    ("disabled", {"installed": True, "state": "disabled", "record_hash": "r"}, "unchanged"),
    ("absent", None, "unchanged"),
    ("absent", {"installed": True, "state": "active"}, "delete"),
])
def test_classify(state, stamp, expected):
    assert m.classify({"state": state, "record_hash": "r", "desired_hash": "d"}, stamp) == expected


# ------------------------------------------------------------------ module: against a fake occ

FAKE_OCC = textwrap.dedent("""\
    #!{python}
    import json, os, sys
    slug, cmd, args = sys.argv[1], sys.argv[2], sys.argv[3:]
    base = os.environ["FAKE_OCC_DIR"]
    with open(os.path.join(base, "calls.log"), "a") as log:
        log.write(slug + " " + cmd + "\\n")
    path = os.path.join(base, slug + ".json")
    state = json.load(open(path)) if os.path.exists(path) else {{"installed": False, "apps": ["files"], "values": {{}}}}
    def save():
        json.dump(state, open(path, "w"))
    if cmd == "status":
        print(json.dumps({{"installed": state["installed"], "needsDbUpgrade": False}}))
    elif cmd == "maintenance:install":
        if slug in os.environ.get("FAKE_OCC_FAIL", "").split(","):
            opts = dict(a[2:].split("=", 1) for a in args)
            print("Error while trying to connect as " + opts["database-user"] + " with " + opts["database-pass"])
            sys.exit(1)
        state["installed"] = True
        save()
    elif cmd == "app:list":
        print(json.dumps({{"enabled": {{a: "1.0" for a in state["apps"]}}, "disabled": {{}}}}))
    elif cmd == "app:enable":
        state["apps"] += args
        save()
    elif cmd == "app:disable":
        state["apps"] = [a for a in state["apps"] if a not in args]
        save()
    elif cmd == "config:list":
        print(json.dumps({{"system": {{}}, "apps": state["values"]}}))
    elif cmd == "config:import":
        for app, values in json.load(open(args[0]))["apps"].items():
            for key, value in values.items():
                if value is None:
                    state["values"].get(app, {{}}).pop(key, None)
                else:
                    state["values"].setdefault(app, {{}})[key] = value
        save()
    else:
        sys.exit(64)
""")


@pytest.fixture()
def farm(tmp_path, monkeypatch):
    occ = tmp_path / "occ"
    occ.write_text(FAKE_OCC.format(python=sys.executable))
    occ.chmod(occ.stat().st_mode | stat.S_IEXEC)
    (tmp_path / "state").mkdir()
    for slug in "abc":
        (tmp_path / "spaces" / slug / "tmp").mkdir(parents=True)
    monkeypatch.setenv("FAKE_OCC_DIR", str(tmp_path / "state"))
    monkeypatch.setattr(m.Farm, "database_installed", lambda self, space: False)
    params = {"occ": str(occ), "spaces_root": str(tmp_path / "spaces"), "state_dir": str(tmp_path / "stamps"),
              "handover_dir": str(tmp_path / "handover"), "parallelism": 3, "timeout": 30, "verify": False,
              "db_ssl_mode": "", "db_ssl_rootcert": "", "db_table_prefix": "oc_", "mode": "apply",
              "selection": False}
    return m.Farm(params), tmp_path


def calls(tmp_path):
    log = tmp_path / "state" / "calls.log"
    return log.read_text().splitlines() if log.exists() else []


def desired(*records):
    return occf.occ_spaces(list(records), SETTINGS, KEY)


def test_create_then_nothing_then_switch_office(farm):
    f, tmp = farm
    want = desired(record("a"), record("b", office="onlyoffice"))
    result = m.run(f, want, check=False)
    assert result["outcomes"]["created"] == ["a", "b"] and not result["failed_spaces"]
    state_a = json.loads((tmp / "state" / "a.json").read_text())
    assert "richdocuments" in state_a["apps"] and "calendar" in state_a["apps"]
    assert state_a["values"]["richdocuments"]["wopi_allowlist"] == "10.0.0.0/8,192.0.2.7"
    assert state_a["values"]["files"]["default_quota"] == "40 GB"
    assert "Initial password" in (tmp / "handover" / "a.txt").read_text()
    assert oct(os.stat(tmp / "handover" / "a.txt").st_mode & 0o777) == "0o600"

    before = len(calls(tmp))
    again = m.run(f, want, check=False)
    assert again["outcomes"]["unchanged"] == ["a", "b"]
    assert len(calls(tmp)) == before, "a matching stamp must cost no occ run"

    switched = desired(record("a", office="onlyoffice"), record("b", office="onlyoffice"))
    result = m.run(f, switched, check=False)
    assert result["outcomes"]["changed"] == ["a"] and result["outcomes"]["unchanged"] == ["b"]
    assert result["steps"]["a"] == ["apps", "app values"]
    state_a = json.loads((tmp / "state" / "a.json").read_text())
    assert "onlyoffice" in state_a["apps"] and "richdocuments" not in state_a["apps"]
    assert "richdocuments" not in state_a["values"] or not state_a["values"]["richdocuments"]
    assert {line.split()[0] for line in calls(tmp)[before:]} == {"a"}


def test_one_failure_does_not_stop_the_others_and_rerun_finishes_it(farm, monkeypatch):
    f, tmp = farm
    want = desired(record("a"), record("b"), record("c"))
    monkeypatch.setenv("FAKE_OCC_FAIL", "b")
    result = m.run(f, want, check=False)
    assert result["outcomes"]["created"] == ["a", "c"]
    assert result["outcomes"]["failed"] == ["b"]
    reason = result["failed_spaces"]["b"]
    assert reason.startswith("install: occ maintenance:install exited 1")
    assert want[1]["install"]["db_pass"] not in reason and "********" in reason
    monkeypatch.setenv("FAKE_OCC_FAIL", "")
    before = len(calls(tmp))
    result = m.run(f, want, check=False)
    assert result["outcomes"]["created"] == ["b"] and result["outcomes"]["unchanged"] == ["a", "c"]
    assert {line.split()[0] for line in calls(tmp)[before:]} == {"b"}


def test_refuses_to_install_over_an_existing_database(farm, monkeypatch):
    f, _ = farm
    monkeypatch.setattr(m.Farm, "database_installed", lambda self, space: True)
    result = m.run(f, desired(record("a")), check=False)
    assert "already holds a Nextcloud installation" in result["failed_spaces"]["a"]


def test_disable_enable_delete_and_check_mode(farm):
    f, tmp = farm
    m.run(f, desired(record("a"), record("b")), check=False)
    planned = m.run(f, desired(record("a", state="disabled"), record("b")), check=True)
    assert planned["plan"]["disable"] == ["a"]
    assert json.loads((tmp / "stamps" / "a.json").read_text())["state"] == "active", "check mode wrote"
    result = m.run(f, desired(record("a", state="disabled"), record("b")), check=False)
    assert result["outcomes"]["disabled"] == ["a"]
    result = m.run(f, desired(record("a"), record("b")), check=False)
    assert result["outcomes"]["enabled"] == ["a"]
    assert m.run(f, desired(record("a", state="absent"), record("b")), check=True)["plan"]["delete"] == ["a"]
    result = m.run(f, desired(record("a", state="absent"), record("b")), check=False)
    assert result["outcomes"]["deleted"] == ["a"]
    assert not (tmp / "stamps" / "a.json").exists() and not (tmp / "handover" / "a.txt").exists()
    assert m.run(f, desired(record("b")), check=True)["plan"]["unknown"] == []


def test_unknown_stamps_are_reported_unless_selection(farm):
    f, _ = farm
    m.run(f, desired(record("a"), record("b")), check=False)
    assert m.run(f, desired(record("b")), check=True)["plan"]["unknown"] == ["a"]
    f.p["selection"] = True
    assert m.run(f, desired(record("b")), check=True)["plan"]["unknown"] == []


def test_office_check_runs_each_suites_own_check(farm, monkeypatch):
    f, tmp = farm
    want = desired(record("a"), record("b", office="onlyoffice"), record("c", state="disabled"))
    f.p["mode"] = "office_check"
    result = m.run(f, want, check=True)
    # the fake occ knows neither command (exit 64): both active spaces fail, the disabled one is skipped
    assert sorted(result["failed_spaces"]) == ["a", "b"]
    assert "occ richdocuments:activate-config exited 64" in result["failed_spaces"]["a"]
    assert "occ onlyoffice:documentserver exited 64" in result["failed_spaces"]["b"]
    assert result["changed"] is False
