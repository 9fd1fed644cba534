"""Unit tests of filter_plugins/nuagerie_office.py: office server configuration from the catalogue."""

import json
import xml.etree.ElementTree as ET

import pytest
from ansible.errors import AnsibleFilterError

import nuagerie_office as office


def space(slug, suite="collabora", state="active", aliases=()):
    return {"slug": slug, "office": suite, "state": state,
            "domains": [f"{slug}.farm.test", *aliases], "source": f"spaces/{slug}.yml"}


CATALOGUE = [
    space("bravo", "onlyoffice", aliases=["docs.bravo.example.org"]),
    space("alpha", aliases=["cloud.alpha.example.org"]),
    space("charlie", state="disabled"),
    space("delta", state="absent"),
    space("echo"),
    space("foxtrot", "onlyoffice", state="disabled"),
]


def test_one_group_per_active_collabora_space_with_its_aliases():
    groups = office.collabora_alias_groups(CATALOGUE)
    assert groups == [
        {"slug": "alpha", "host": "https://alpha.farm.test:443", "aliases": ["https://cloud.alpha.example.org:443"]},
        {"slug": "echo", "host": "https://echo.farm.test:443", "aliases": []},
    ]


def test_other_suite_disabled_and_absent_spaces_are_in_no_group():
    hosts = {h for g in office.collabora_alias_groups(CATALOGUE) for h in [g["host"], *g["aliases"]]}
    for slug in ("bravo", "charlie", "delta", "foxtrot"):
        assert not any(slug in h for h in hosts), slug


def test_xml_fragment_parses_into_the_same_groups():
    fragment = office.coolwsd_alias_groups_xml(CATALOGUE)
    root = ET.fromstring(f'<alias_groups mode="groups">{fragment}</alias_groups>')
    parsed = [{"host": g.find("host").text, "allow": g.find("host").get("allow"),
               "aliases": [a.text for a in g.findall("alias")]} for g in root.findall("group")]
    assert parsed == [{"host": g["host"], "allow": "true", "aliases": g["aliases"]}
                      for g in office.collabora_alias_groups(CATALOGUE)]


def test_remote_config_has_the_shape_coolwsd_reads():
    doc = office.collabora_remote_config(CATALOGUE)
    json.dumps(doc)  # serialisable
    assert doc["kind"] == "configuration"
    alias_groups = doc["storage"]["wopi"]["alias_groups"]
    assert alias_groups["mode"] == "groups"
    assert [g["host"] for g in alias_groups["groups"]] == ["https://alpha.farm.test:443", "https://echo.farm.test:443"]
    assert all(g["allow"] is True for g in alias_groups["groups"])


def test_remote_config_without_collabora_space_denies_instead_of_emptying():
    """coolwsd ignores an empty groups array (it would keep the old groups): one denied entry."""
    doc = office.collabora_remote_config([space("bravo", "onlyoffice")])
    groups = doc["storage"]["wopi"]["alias_groups"]["groups"]
    assert groups == [{"host": "https://no-space.invalid:443", "allow": False, "aliases": []}]
    assert office.coolwsd_alias_groups_xml([]) == ""


def test_onlyoffice_allow_list_is_its_spaces_origins_with_a_slash():
    assert office.onlyoffice_allow_list(CATALOGUE) == ["https://bravo.farm.test/", "https://docs.bravo.example.org/"]
    runtime = office.onlyoffice_runtime_config(CATALOGUE)
    assert runtime["externalRequest"]["directIfIn"] == {
        "allowList": ["https://bravo.farm.test/", "https://docs.bravo.example.org/"], "jwtToken": False}
    assert runtime["externalRequest"]["action"]["blockPrivateIP"] is True


def test_onlyoffice_runtime_config_without_space_allows_nothing():
    runtime = office.onlyoffice_runtime_config([space("alpha")])
    assert runtime["externalRequest"]["directIfIn"]["allowList"] == ["https://no-space.invalid/"]


SETTINGS = {"db_host": "pg1", "db_port": 5432, "db_name": "onlyoffice", "db_user": "onlyoffice",
            "db_password": "Pw", "rabbitmq_url": "amqp://onlyoffice:x@localhost:5672/onlyoffice",
            "jwt_secret": "S3cret", "jwt_header": "Authorization",
            "runtime_config_path": "/var/lib/onlyoffice/runtime.json"}


def test_local_json_turns_jwt_on_everywhere_with_one_secret():
    doc = office.onlyoffice_local_json(SETTINGS)
    co = doc["services"]["CoAuthoring"]
    assert co["token"]["enable"] == {"browser": True, "request": {"inbox": True, "outbox": True}}
    assert {k: v["string"] for k, v in co["secret"].items()} == {
        "browser": "S3cret", "inbox": "S3cret", "outbox": "S3cret", "session": "S3cret"}
    assert co["sql"] == {"type": "postgres", "dbHost": "pg1", "dbPort": 5432, "dbName": "onlyoffice",
                         "dbUser": "onlyoffice", "dbPass": "Pw"}
    assert co["request-filtering-agent"] == {"allowPrivateIPAddress": False, "allowMetaIPAddress": False}
    assert doc["rabbitmq"]["url"].startswith("amqp://")
    assert doc["runtimeConfig"]["filePath"] == "/var/lib/onlyoffice/runtime.json"


def test_local_json_checks_the_database_certificate_when_given_a_ca():
    assert "pgPoolExtraOptions" not in office.onlyoffice_local_json(SETTINGS)["services"]["CoAuthoring"]["sql"]
    sql = office.onlyoffice_local_json({**SETTINGS, "db_ca": "-----BEGIN CERTIFICATE-----"})["services"]["CoAuthoring"]["sql"]
    assert sql["pgPoolExtraOptions"] == {"ssl": {"rejectUnauthorized": True, "ca": "-----BEGIN CERTIFICATE-----"}}


def test_local_json_names_missing_settings():
    with pytest.raises(AnsibleFilterError, match=r"missing settings \['db_password', 'jwt_secret'\]"):
        office.onlyoffice_local_json({**SETTINGS, "jwt_secret": "", "db_password": None})


@pytest.mark.parametrize("domains", [[], "a.test", ["A.test"], ["a..test"], ["a.test/x"], ["x"], [".a.test"]])
def test_bad_domains_are_refused_naming_the_space(domains):
    with pytest.raises(AnsibleFilterError, match="space bad"):
        office.collabora_alias_groups([{"slug": "bad", "office": "collabora", "state": "active", "domains": domains}])


def test_a_domain_of_two_spaces_is_refused():
    twice = [space("alpha", aliases=["shared.example.org"]), space("bravo", "onlyoffice", aliases=["shared.example.org"])]
    with pytest.raises(AnsibleFilterError, match="shared.example.org belongs to spaces alpha and bravo"):
        office.collabora_alias_groups(twice)


def test_input_must_be_the_list_of_records():
    with pytest.raises(AnsibleFilterError):
        office.collabora_alias_groups({"slug": "alpha"})
    with pytest.raises(AnsibleFilterError):
        office.onlyoffice_allow_list(["alpha"])


def test_filters_are_registered():
    table = office.FilterModule().filters()
    assert set(table) == {"nuagerie_collabora_alias_groups", "nuagerie_coolwsd_alias_groups_xml",
                          "nuagerie_collabora_remote_config", "nuagerie_onlyoffice_allow_list",
                          "nuagerie_onlyoffice_runtime_config", "nuagerie_onlyoffice_local_json"}


# ------------------------------------------------------------------ rendered files vs contract

import re  # noqa: E402
from pathlib import Path  # noqa: E402

import jinja2  # noqa: E402
import yaml  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
CONTRACT = yaml.safe_load((ROOT / "docs" / "nextcloud-contract.yml").read_text())["office_servers"]


def _contract_text(suite):
    return " ".join(CONTRACT[suite]["keys"])


def _leaves(doc, prefix=""):
    for key, value in doc.items():
        path = f"{prefix}.{key}" if prefix else key
        if isinstance(value, dict):
            yield from _leaves(value, path)
        else:
            yield path


def render_coolwsd_xml(spaces):
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(ROOT / "roles/collabora/templates")),
                             undefined=jinja2.StrictUndefined, trim_blocks=True)
    env.filters["comment"] = lambda text, style="plain": f"<!-- {text} -->"
    env.filters.update(office.FilterModule().filters())
    variables = {"ansible_managed": "managed", "collabora_spaces": spaces, "collabora_server_name": "collabora.farm.test",
                 "collabora_num_prespawn_children": 1, "collabora_max_concurrency": 4, "collabora_idle_timeout_secs": 3600,
                 "collabora_log_level": "warning", "__collabora_post_allow": [r"127\.0\.0\.1", r"10\.0\.0\.5"],
                 "collabora_frame_ancestors": "https://*.farm.test", "collabora_tls_dir": "/etc/nuagerie/tls",
                 "__collabora_remote_url": "https://office1:443/nuagerie/coolwsd-remote-config.json"}
    return env.get_template("etc/coolwsd/coolwsd.xml.j2").render(**variables)


def test_rendered_coolwsd_xml_is_valid_and_every_key_is_in_the_contract():
    root = ET.fromstring(render_coolwsd_xml(CATALOGUE))
    groups = root.find("storage/wopi/alias_groups")
    assert groups.get("mode") == "groups" and root.find("storage/wopi").get("allow") == "true"
    assert [g.find("host").text for g in groups.findall("group")] == ["https://alpha.farm.test:443", "https://echo.farm.test:443"]
    assert root.find("remote_config/remote_url").text.startswith("https://")
    assert [h.text for h in root.findall("net/post_allow/host")] == [r"127\.0\.0\.1", r"10\.0\.0\.5"]
    text = _contract_text("collabora")
    paths = {".".join(p) for p in _element_paths(root) if "alias_groups" not in p}
    missing = sorted(p for p in paths if p.split(".")[-1] not in text)
    assert not missing, f"coolwsd.xml keys rendered but not in docs/nextcloud-contract.yml office_servers.collabora: {missing}"


def _element_paths(node, prefix=()):
    for child in node:
        if not isinstance(child.tag, str):
            continue
        path = (*prefix, child.tag)
        if len(child):
            yield from _element_paths(child, path)
        else:
            yield path


def test_rendered_local_json_keys_are_in_the_contract():
    text = _contract_text("onlyoffice")
    leaves = list(_leaves(office.onlyoffice_local_json({**SETTINGS, "db_ca": "PEM"}))) + \
        list(_leaves(office.onlyoffice_runtime_config(CATALOGUE)))
    missing = [p for p in leaves if not any(all(part in key for part in re.split(r"[.]", p)[-2:]) for key in CONTRACT["onlyoffice"]["keys"])
               and p.split(".")[-1] not in text]
    assert not missing, f"local.json keys rendered but not in the contract: {missing}"


def test_office_contract_entries_name_their_upstream_source():
    for suite in ("collabora", "onlyoffice"):
        for key, entry in CONTRACT[suite]["keys"].items():
            assert entry.get("upstream") and entry.get("checked") in ("source", "recalled"), key
