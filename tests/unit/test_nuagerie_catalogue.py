"""Unit tests of the catalogue: pure validation (filter_plugins/nuagerie_catalogue.py) and the
directory loader of the action plugin (plugins/action/nuagerie_catalogue.py).

Data-driven cases live in tests/unit/data/catalogue/<case>/: ``spaces/`` is a bad catalogue and
``expected.yml`` lists every error it must produce (file, field, text of the message). The
errors must match exactly: no missing error and no extra one.
"""

import importlib.util
import os
import pathlib
import random
import re
import signal
import time
from unittest import mock

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from ansible.errors import AnsibleActionFail, AnsibleFilterError

import nuagerie_catalogue as catalogue
from action import nuagerie_catalogue as action

DATA = pathlib.Path(__file__).parent / "data" / "catalogue"
CASES = sorted(path.name for path in DATA.iterdir() if path.is_dir())
FARM = {"domain": "farm.test", "default_release": "33.0.8", "releases": ["33.0.8"],
        "reserved": ["billing", "pg1"]}
LAB = pathlib.Path(__file__).parents[2] / "inventories"

GOOD = """---
slug: asso-velo
display_name: "Asso Vélo"
admin_email: admin@asso-velo.org
created: 2026-11-01
"""


def doc(text, file="spaces/asso-velo.yml"):
    return catalogue.parse_document(text, file)


def resolve(*documents, farm=None):
    return catalogue.resolve_catalogue(list(documents), farm or FARM)


@pytest.mark.parametrize("case", CASES)
def test_bad_catalogue_case(case):
    expected = yaml.safe_load((DATA / case / "expected.yml").read_text(encoding="utf-8"))["errors"]
    records, errors = action.load_catalogue(str(DATA / case / "spaces"), FARM)
    got = sorted((os.path.basename(error.file), error.field) for error in errors)
    want = sorted((item["file"], item["field"]) for item in expected)
    assert got == want, "\n".join(str(error) for error in errors)
    for item in expected:
        messages = [str(error) for error in errors if os.path.basename(error.file) == item["file"]
                    and error.field == item["field"]]
        assert any(item["contains"] in message for message in messages), messages
    for error in errors:
        assert error.fix and error.problem
        assert str(error).startswith(f"{error.file}: {error.field}: ")
        assert f"data/catalogue/{case}/spaces/" in error.file  # shown relative to the repo


def test_data_cases_cover_the_issue():
    assert len(CASES) >= 40


def test_good_record_shape_matches_the_contract():
    records, errors = resolve(doc(GOOD + "aliases: [cloud.asso-velo.org]\n"))
    assert errors == []
    [record] = records
    assert list(record) == [
        "slug", "display_name", "admin_email", "office", "quota_gb", "max_accounts", "state",
        "nextcloud_release", "nextcloud_release_pinned", "aliases", "domains", "created",
        "rotation", "notes", "source", "names"]
    assert record["office"] == "collabora"
    assert record["quota_gb"] == 40 and record["max_accounts"] == 50
    assert record["state"] == "active"
    assert record["nextcloud_release"] == "33.0.8" and not record["nextcloud_release_pinned"]
    assert record["domains"] == ["asso-velo.farm.test", "cloud.asso-velo.org"]
    assert record["created"] == "2026-11-01"
    assert record["rotation"] == {"db_password": 0, "s3_secret_key": 0, "redis_password": 0,
                                  "admin_password": 0}
    assert record["names"]["database"] == "nc_asso_velo"
    assert record["source"] == "spaces/asso-velo.yml"


def test_explicit_fields_and_farm_defaults():
    farm = dict(FARM, default_office="onlyoffice", default_quota_gb=20, default_max_accounts=10,
                spaces_root="/data/spaces")
    [record], errors = resolve(doc(GOOD), farm=farm)
    assert not errors
    assert (record["office"], record["quota_gb"], record["max_accounts"]) == ("onlyoffice", 20, 10)
    assert record["names"]["config_dir"] == "/data/spaces/asso-velo/config"
    text = GOOD + ("office: collabora\nquota_gb: 5\nmax_accounts: 3\nstate: disabled\n"
                   "nextcloud_release: \"33.0.8\"\nrotation: {admin_password: 2}\nnotes: hi\n")
    [record], errors = resolve(doc(text), farm=farm)
    assert not errors
    assert (record["office"], record["quota_gb"], record["max_accounts"], record["state"]) == \
        ("collabora", 5, 3, "disabled")
    assert record["nextcloud_release_pinned"] and record["rotation"]["admin_password"] == 2
    assert record["notes"] == "hi"


def test_records_are_sorted_and_deterministic():
    documents = [doc(GOOD.replace("asso-velo", slug), f"s/{slug}.yml") for slug in ("c", "a", "b")]
    first, _ = resolve(*documents)
    second, _ = resolve(*reversed(documents))
    assert [record["slug"] for record in first] == ["a", "b", "c"]
    assert first == second


def test_any_release_when_farm_lists_none():
    farm = dict(FARM, releases=[])
    _, errors = resolve(doc(GOOD + 'nextcloud_release: "30.0.1"\n'), farm=farm)
    assert errors == []


def test_missing_farm_release_is_reported_per_space():
    _, errors = resolve(doc(GOOD), farm=dict(FARM, default_release=None, releases=[]))
    assert [error.field for error in errors] == ["nextcloud_release"]


def test_date_objects_from_other_loaders_are_accepted():
    import datetime
    document = {"file": "s/asso-velo.yml", "error": None,
                "data": {**yaml.safe_load(GOOD), "created": datetime.date(2026, 11, 1)}}
    [record], errors = resolve(document)
    assert not errors and record["created"] == "2026-11-01"
    document["data"]["created"] = datetime.datetime(2026, 11, 1, 10, 0)
    _, errors = resolve(document)
    assert [error.field for error in errors] == ["created"]


def test_errors_of_other_files_do_not_hide_cross_file_checks():
    bad = doc("---\nslug: Asso-B\naliases: [cloud.asso.org]\n", "s/asso-b.yml")
    good = doc(GOOD + "aliases: [cloud.asso.org]\n")
    _, errors = resolve(good, bad)
    assert ("s/asso-b.yml", "aliases[0]") in {(error.file, error.field) for error in errors}


def test_derived_name_collision_is_reported():
    real = catalogue._names.space_names
    with mock.patch.object(catalogue._names, "space_names",
                           side_effect=lambda slug, root: {**real(slug, root), "bucket": "same"}):
        _, errors = resolve(doc(GOOD), doc(GOOD.replace("asso-velo", "asso-b"), "s/asso-b.yml"))
    assert [(error.file, error.field) for error in errors] == [("spaces/asso-velo.yml", "slug")]
    assert "derived bucket 'same' collides with s/asso-b.yml" in str(errors[0])


def test_unix_uid_collision_is_refused_naming_both_files_and_the_fix():
    real = catalogue._names.space_names
    with mock.patch.object(catalogue._names, "space_names",
                           side_effect=lambda slug, root: {**real(slug, root), "unix_uid": "1073741824"}):
        records, errors = resolve(doc(GOOD), doc(GOOD.replace("asso-velo", "asso-b"), "s/asso-b.yml"))
    assert [(error.file, error.field) for error in errors] == [("spaces/asso-velo.yml", "slug")]
    assert "derived unix_uid '1073741824' collides with s/asso-b.yml" in str(errors[0])
    assert "choose another slug for the newer of the two spaces" in str(errors[0])
    assert [record["slug"] for record in records] == ["asso-b"]


def test_format_errors_lists_everything():
    _, errors = resolve(doc("slug: X\n", "s/x.yml"), doc("", "s/y.yml"))
    message = catalogue.format_errors(errors, "inventories/lab/spaces")
    assert message.startswith(f"{len(errors)} error(s) in 2 file(s) of inventories/lab/spaces")
    assert message.count("\n  - ") == len(errors)
    assert "nothing was changed" in message


def test_error_dict():
    error = catalogue.CatalogueError("f", "slug", "bad", "fix it")
    assert error.as_dict() == {"file": "f", "field": "slug", "problem": "bad", "fix": "fix it"}
    assert str(error) == "f: slug: bad. Fix: fix it."
    assert str(catalogue.CatalogueError("f", "x", "p", "did you mean 'y'?")).endswith("'y'?")


@pytest.mark.parametrize(("farm", "message"), [
    ({}, "farm domain"),
    ({"domain": "bad domain"}, "farm domain"),
    ({"domain": "farm.test", "colour": "x"}, "unknown farm setting"),
    ({"domain": "farm.test", "max_quota_gb": 0}, "positive integer"),
    ({"domain": "farm.test", "max_accounts": True}, "positive integer"),
    ({"domain": "farm.test", "default_quota_gb": 50}, "default_quota_gb is above"),
    ({"domain": "farm.test", "default_max_accounts": 60}, "default_max_accounts is above"),
    ({"domain": "farm.test", "default_office": "word"}, "default office"),
    ({"domain": "farm.test", "default_release": "33"}, "MAJOR.MINOR.PATCH"),
    ({"domain": "farm.test", "default_release": "33.0.1", "releases": ["33.0.8"]}, "not in"),
    ({"domain": "farm.test", "spaces_root": "relative"}, "absolute"),
])
def test_bad_farm_settings(farm, message):
    with pytest.raises(AnsibleFilterError, match=message):
        catalogue.resolve_catalogue([], farm)


def test_catalogue_records_filter():
    assert catalogue.catalogue_records([doc(GOOD)], FARM)[0]["slug"] == "asso-velo"
    with pytest.raises(AnsibleFilterError, match="1 error"):
        catalogue.catalogue_records([doc("", "s/x.yml")], FARM)


@pytest.mark.parametrize(("only", "expected"), [
    (None, ["a", "b", "c"]), ("", ["a", "b", "c"]), ([], ["a", "b", "c"]),
    ("c,a", ["a", "c"]), ("b", ["b"]), (" a , b ,", ["a", "b"]), ("a b", ["a", "b"]),
    (["c"], ["c"]), ("a,a", ["a"]),
])
def test_select_spaces(only, expected):
    records = [{"slug": slug} for slug in ("a", "b", "c")]
    assert [r["slug"] for r in catalogue.select_spaces(records, only)] == expected


@pytest.mark.parametrize(("only", "message"), [
    ("a,asso-vel", "unknown slug(s) 'asso-vel' (did you mean 'asso-velo'?)"),
    ("zzz", "unknown slug(s) 'zzz'"),
    (5, "comma separated string or a list"),
    ([1], "comma separated string or a list"),
])
def test_select_spaces_errors(only, message):
    records = [{"slug": "a"}, {"slug": "asso-velo"}]
    with pytest.raises(AnsibleFilterError) as raised:
        catalogue.select_spaces(records, only)
    assert message in str(raised.value)


def test_parse_document_keeps_dates_as_text_and_reports_lines():
    assert doc(GOOD)["data"]["created"] == "2026-11-01"
    broken = doc("a: 1\nb: [\n")
    assert broken["data"] is None and "line 3" in broken["error"]
    assert "duplicate key 'a'" in doc("a: 1\na: 2\n")["error"]
    assert doc("base: &b {x: 1}\nother:\n  <<: *b\n  y: 2\n")["data"]["other"] == {"x": 1, "y": 2}
    assert doc(b"slug: a\n")["data"] == {"slug": "a"}
    # Numbers only in plain decimal: YAML 1.1's hexadecimal 0x10 stays the text written.
    assert doc("a: [1, 2.5, true, null, '3', 0x10]\n")["data"] == \
        {"a": [1, 2.5, True, None, "3", "0x10"]}
    assert doc("")["data"] is None and doc("# only a comment\n")["data"] is None


@pytest.mark.parametrize(("text", "message"), [
    ("a: !!binary aGVsbG8=\n", "unsupported YAML tag"),
    ("a: !!set {x}\n", "unsupported YAML tag"),
    ("a: !custom 1\n", "unsupported YAML tag"),
    ("? [1, 2]\n: x\n", "plain value"),
    ("a: &x [*x]\n", "nested too deep"),
    ("a: 1\n---\nb: 2\n", "single document"),
    ("a: *nope\n", "undefined alias"),
    ("<<: 3\n", "expected a mapping"),
])
def test_parse_document_refuses_non_data_yaml(text, message):
    result = doc(text)
    assert result["data"] is None and message in result["error"], result["error"]
    assert "not UTF-8" in doc(b"\xff")["error"]


@pytest.mark.parametrize(("name", "message"), [
    ("cloud.example.org", None), ("xn--vlo-bma.fr", None), ("a.b", None),
    ("192.168.1.10", "IP address"), ("localhost", "not a valid host name"),
    ("-a.example.org", "not a valid host name"), ("a..org", "not a valid host name"),
    ("a_b.org", "not a valid host name"), ("x" * 64 + ".org", "not a valid host name"),
    ("example.org.", "ends with '.'"), ("Example.org", "uppercase"), ("vélo.fr", "punycode"),
    ("", "domain name"), (None, "domain name"),
])
def test_hostname_problems(name, message):
    problems = catalogue.hostname_problems(name, "alias")
    if message is None:
        assert problems == []
    else:
        assert problems and message in problems[0][0] + problems[0][1]


def test_builtin_reserved_names_from_the_issue():
    for name in ("www", "admin", "api", "mail", "office", "minio", "s3", "collabora",
                 "onlyoffice", "imaginary", "logs"):
        assert name in catalogue.BUILTIN_RESERVED


def test_filters_registration():
    filters = catalogue.FilterModule().filters()
    assert filters == {"nuagerie_catalogue_resolve": catalogue.catalogue_records,
                       "nuagerie_spaces_select": catalogue.select_spaces}


# ------------------------------------------------------------------------------------------
# The directory loader of the action plugin


@pytest.mark.parametrize("env", ["lab", "staging", "production"])
def test_committed_catalogues_are_valid(env):
    farm_vars = yaml.safe_load((LAB / env / "group_vars/all/farm.yml").read_text())
    farm = {"domain": farm_vars["nuagerie_farm_domain"],
            "default_release": farm_vars["nuagerie_nextcloud_release"],
            "releases": farm_vars["nuagerie_nextcloud_releases"],
            "reserved": farm_vars["nuagerie_space_reserved_names"],
            "max_quota_gb": farm_vars["nuagerie_space_max_quota_gb"],
            "max_accounts": farm_vars["nuagerie_space_max_accounts"],
            "spaces_root": farm_vars["nuagerie_spaces_root"]}
    records, errors = action.load_catalogue(str(LAB / env / "spaces"), farm)
    assert errors == [], "\n".join(map(str, errors))
    if env == "lab":
        assert {r["office"] for r in records} == {"collabora", "onlyoffice"}
        assert "disabled" in {r["state"] for r in records}
        assert records[0]["source"] == "inventories/lab/spaces/asso-velo.yml"


def test_loader_ignores_readme_and_hidden_files(tmp_path):
    (tmp_path / "README.md").write_text("# spaces\n")
    (tmp_path / ".gitkeep").write_text("")
    (tmp_path / "asso-velo.yml").write_text(GOOD)
    (tmp_path / "sub").mkdir()
    records, errors = action.load_catalogue(str(tmp_path), FARM)
    assert [(e.field, e.problem) for e in errors] == [("(file name)", "is a directory")]
    assert records[0]["source"] == str(tmp_path / "asso-velo.yml")  # outside the repo: absolute


def test_loader_empty_directory(tmp_path):
    assert action.load_catalogue(str(tmp_path), FARM) == ([], [])


def test_loader_missing_directory(tmp_path):
    with pytest.raises(AnsibleActionFail, match="does not exist"):
        action.load_catalogue(str(tmp_path / "nope"), FARM)


def test_loader_unreadable_file(tmp_path):
    path = tmp_path / "asso-velo.yml"
    path.write_text(GOOD)
    with mock.patch("builtins.open", side_effect=PermissionError(13, "Permission denied")):
        _, errors = action.load_catalogue(str(tmp_path), FARM)
    assert [e.problem for e in errors] == ["cannot be read (Permission denied)"]


def test_action_uses_the_filter_module_file():
    lib = action.catalogue_library()
    assert os.path.samefile(lib.__file__, pathlib.Path(catalogue.__file__))
    assert action.catalogue_library() is lib


def _action(args, check_mode=False):
    task = mock.MagicMock()
    task.args = args
    task.async_val = 0
    task.check_mode = check_mode
    task.action = "nuagerie_catalogue"
    return action.ActionModule(task, mock.MagicMock(), mock.MagicMock(), loader=None,
                               templar=mock.MagicMock(), shared_loader_obj=None)


def test_action_run_success(tmp_path):
    (tmp_path / "asso-velo.yml").write_text(GOOD)
    (tmp_path / "asso-b.yml").write_text(GOOD.replace("asso-velo", "asso-b"))
    result = _action({"path": str(tmp_path), "farm": FARM, "only": "asso-velo"},
                     check_mode=True).run(task_vars={})
    assert not result.get("failed") and result["changed"] is False
    # Issue 11: the whole catalogue and the selection, under two names.
    assert [r["slug"] for r in result["spaces"]] == ["asso-b", "asso-velo"]
    assert [r["slug"] for r in result["selected_spaces"]] == ["asso-velo"]
    assert result["selection"] is True
    assert (result["total"], result["selected"]) == (2, 1)


def test_action_run_without_selection_acts_on_every_space(tmp_path):
    (tmp_path / "asso-velo.yml").write_text(GOOD)
    (tmp_path / "asso-b.yml").write_text(GOOD.replace("asso-velo", "asso-b"))
    for only in ("", "asso-b,asso-velo"):
        result = _action({"path": str(tmp_path), "farm": FARM, "only": only}).run(task_vars={})
        assert [r["slug"] for r in result["selected_spaces"]] == ["asso-b", "asso-velo"]
        assert result["selected_spaces"] == result["spaces"] and result["selection"] is False


def test_action_run_reports_all_errors(tmp_path):
    (tmp_path / "a.yml").write_text("")
    (tmp_path / "b.yml").write_text("slug: B\n")
    result = _action({"path": str(tmp_path), "farm": FARM}).run(task_vars={})
    assert result["failed"] and result["changed"] is False
    assert len(result["errors"]) == 5
    assert result["msg"].startswith("5 error(s) in 2 file(s)")


def test_action_run_unknown_subset_and_bad_farm(tmp_path):
    (tmp_path / "asso-velo.yml").write_text(GOOD)
    with pytest.raises(AnsibleActionFail, match="unknown slug"):
        _action({"path": str(tmp_path), "farm": FARM, "only": "nope"}).run(task_vars={})
    with pytest.raises(AnsibleActionFail, match="farm domain"):
        _action({"path": str(tmp_path), "farm": {}}).run(task_vars={})


def test_record_matches_docs_space_record():
    """The YAML example of docs/space-record.md (the contract) has exactly the record's keys."""
    text = (pathlib.Path(__file__).parents[2] / "docs" / "space-record.md").read_text()
    block = text.split("```yaml\n", 1)[1].split("```", 1)[0]
    [example] = yaml.safe_load(block)
    [record], errors = resolve(doc(GOOD))
    assert not errors
    assert list(record) == list(example)
    assert list(record["names"]) == list(example["names"])
    assert list(record["rotation"]) == list(example["rotation"])


@pytest.mark.parametrize(("extra", "field", "message"), [
    ("quota_gb: 20.0\n", "quota_gb", "write 20"),
    ("quota_gb: null\n", "quota_gb", "is empty"),
    ("max_accounts: [5]\n", "max_accounts", "whole number, not list"),
    ("admin_email: 42\n", "admin_email", "must be an email address"),
    ("admin_email: .a@example.org\n", "admin_email", "part before '@'"),
    ("admin_email: a..b@example.org\n", "admin_email", "part before '@'"),
    ("admin_email: a b@example.org\n", "admin_email", "part before '@'"),
    ("created: 20261101\n", "created", "YYYY-MM-DD date"),
    ("nextcloud_release: 33\n", "nextcloud_release", "quoted release"),
    ("nextcloud_release: true\n", "nextcloud_release", "boolean"),
    ("rotation: [db_password]\n", "rotation", "a mapping purpose: counter"),
    ("aliases: {a: b}\n", "aliases", "a list of domains"),
    ("aliases: [cloud.example.org, 3]\n", "aliases[1]", "domain name"),
    ("notes: [a]\n", "notes", "must be text"),
    ("display_name: ''\n", "display_name", "non-empty name"),
    ("display_name: 12\n", "display_name", "non-empty name"),
    ("display_name: " + "x" * 121 + "\n", "display_name", "121 characters"),
    ("office: 3\n", "office", "use one of collabora, onlyoffice"),
    ("state: 1\n", "state", "one of active, disabled, absent"),
    ("state: zzz\n", "state", "use one of active"),
])
def test_field_type_errors(extra, field, message):
    base = {line.split(":")[0]: line for line in GOOD.splitlines()[1:]}
    key = extra.split(":")[0]
    base[key] = extra.rstrip("\n")
    _, errors = resolve(doc("---\n" + "\n".join(base.values()) + "\n"))
    assert [error.field for error in errors] == [field], errors
    assert message in str(errors[0])


def test_file_name_must_be_yml():
    _, errors = resolve(doc(GOOD, "s/asso-velo.txt"))
    assert [(error.field, error.problem) for error in errors] == [
        ("(file name)", "'asso-velo.txt' is not a .yml file")]


def test_action_hides_large_successful_results(tmp_path):
    for index in range(action.QUIET_ABOVE + 1):
        (tmp_path / f"sp{index}.yml").write_text(GOOD.replace("asso-velo", f"sp{index}"))
    result = _action({"path": str(tmp_path), "farm": FARM}).run(task_vars={})
    assert result.get("_ansible_no_log") is True, result.get("msg")
    assert result["selected"] == action.QUIET_ABOVE + 1
    # A selection still carries the whole catalogue (spaces), so it is hidden too.
    result = _action({"path": str(tmp_path), "farm": FARM, "only": "sp1,sp2"}).run(task_vars={})
    assert result.get("_ansible_no_log") is True and result["selected"] == 2
    (tmp_path / "sp0.yml").unlink()
    for index in range(2, action.QUIET_ABOVE + 1):
        (tmp_path / f"sp{index}.yml").unlink()
    result = _action({"path": str(tmp_path), "farm": FARM}).run(task_vars={})
    assert "_ansible_no_log" not in result and result["total"] == 1


# ------------------------------------------------------------------------------------------
# Hostile and accidental files (issue 11 item 3): limits, YAML 1.1 surprises, links, FIFOs

BENCHMARK = pathlib.Path(__file__).parents[2] / "benchmarks" / "catalogue.py"


def _bomb(levels=9, width=9):
    """A "billion laughs": ``width ** levels`` strings once the aliases are expanded."""
    lines = ["lol: &a [" + ", ".join(['"lol"'] * width) + "]"]
    previous = "a"
    for index in range(1, levels):
        name = f"l{index}"
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{previous}"] * width) + "]")
        previous = name
    return GOOD + "\n".join(lines) + "\n"


@pytest.mark.parametrize(("levels", "width"), [(9, 9), (30, 10), (2, 11)])
def test_yaml_bomb_is_refused_in_well_under_a_second(tmp_path, levels, width):
    (tmp_path / "asso-velo.yml").write_text(_bomb(levels, width))
    start = time.perf_counter()
    records, errors = action.load_catalogue(str(tmp_path), FARM)
    elapsed = time.perf_counter() - start
    assert elapsed < 1.0, elapsed
    assert records == []
    [error] = errors
    assert (error.file, error.field) == (str(tmp_path / "asso-velo.yml"), "(file)")
    assert str(error).startswith(f"{tmp_path / 'asso-velo.yml'}: (file): uses more than "
                                 f"{catalogue.MAX_YAML_ALIASES} YAML aliases")
    assert "MAX_YAML_ALIASES" in error.problem and "anchors" in error.fix


def test_aliases_below_the_limit_still_expand_within_a_value_budget():
    # 10 aliases of a 200-item list: 2,000 values, over MAX_VALUES though under MAX_YAML_ALIASES.
    text = GOOD + "notes: &n [" + ", ".join(["x"] * 200) + "]\n"
    text += "more: [" + ", ".join(["*n"] * 10) + "]\n"
    start = time.perf_counter()
    result = doc(text)
    assert time.perf_counter() - start < 1.0
    assert result["data"] is None and "more than 1000 values" in result["error"]
    assert "MAX_VALUES" in result["error"]


def test_merge_bomb_is_refused():
    lines = ["m0: &m0 {a: 1, b: 2}"]
    for index in range(1, 12):
        lines.append(f"m{index}: &m{index}\n  <<: [" + ", ".join([f"*m{index - 1}"] * 4) + "]")
    result = doc("\n".join(lines) + "\n")
    assert result["data"] is None and "YAML aliases" in result["error"]


def test_a_small_alias_and_merge_still_load():
    """Positive control: aliases and merge keys within the limits keep working."""
    text = GOOD.replace("admin_email: admin@", "admin_email: &mail admin@") + \
        "notes: *mail\naliases: [cloud.asso-velo.org]\n"
    [record], errors = resolve(doc(text))
    assert errors == [] and record["admin_email"] == record["notes"] == "admin@asso-velo.org"
    merged = doc("base: &b {x: 1, y: 1}\nother: {<<: [*b, {y: 2, z: 2}], z: 3}\n")["data"]
    assert merged["other"] == {"x": 1, "y": 1, "z": 3}  # first mapping wins, own keys win
    assert list(merged["other"]) == ["x", "y", "z"]
    long_keys = doc("a: &a {office: a}\nb: &b {office: b}\nother: {<<: [*a, *b]}\n")["data"]
    assert long_keys["other"] == {"office": "a"}  # the YAML merge type, whatever the key length
    assert "duplicate key '<<'" in doc("a: &a {x: 1}\nother: {<<: *a, <<: *a}\n")["error"]
    limit = "\n".join(f"k{i}: *a" for i in range(catalogue.MAX_YAML_ALIASES))
    assert doc(f"a: &a 1\n{limit}\n")["error"] is None
    assert "more than 10" in doc(f"a: &a 1\n{limit}\nlast: *a\n")["error"]


# YAML 1.1 number forms: never read as the number 1.1 would make of them.
@pytest.mark.parametrize(("text", "value", "message", "fix"), [
    ("020", "020", "octal number 16", "write 20"),
    ("0x1F", "0x1F", "hexadecimal number 31", "write 31"),
    ("1:20", "1:20", "base-60 number 80", "write a whole number from 1 to 40"),
    ("0o17", "0o17", "YAML 1.2 reads it as the octal number 15", "write 15"),
    ("0b101", "0b101", "binary number 5", "write 5"),
    ("1_000", "1_000", "grouped with '_'", "write a whole number from 1 to 40"),
    ("1_0", "1_0", "the number 10", "write 10"),
    ("+5", "+5", "a '+' sign", "write 5"),
    ("09", "09", "leading zero", "write 9"),
    ("-05", "-05", "octal number -5", "write a whole number from 1 to 40"),
    (".inf", ".inf", "infinity", "write a whole number from 1 to 40"),
    ("-.Inf", "-.Inf", "infinity", "write a whole number from 1 to 40"),
    (".nan", ".nan", "not-a-number", "write a whole number from 1 to 40"),
    ("1e3", "1e3", "must be a whole number, not str '1e3'", "write a whole number from 1 to 40"),
    ("20.0", 20.0, "is the float 20.0", "write 20"),
    ("50.0", 50.0, "is the float 50.0", "write a whole number from 1 to 40"),
    ('"50"', "50", "is the string '50'", "write a whole number from 1 to 40, unquoted"),
    ('"020"', "020", "octal number 16", "write 20"),
    ("-3", -3, "is -3; it must be at least 1", "set 1..40"),
    ("41", 41, "above the farm maximum of 40", "set at most 40"),
])
def test_yaml11_numbers_stay_text_and_the_fix_stays_in_range(text, value, message, fix):
    data = doc(GOOD + f"quota_gb: {text}\n")["data"]
    assert data["quota_gb"] == value and type(data["quota_gb"]) is type(value)
    _, [error] = resolve(doc(GOOD + f"quota_gb: {text}\n"))
    assert error.field == "quota_gb" and message in error.problem and error.fix == fix, error


@pytest.mark.parametrize("field", ["quota_gb", "max_accounts"])
@pytest.mark.parametrize("text", [
    "0", "-1", "-100", "41", "51", "1000", "9999999999", "0100", "077", "0x40", "0x10", "1:00",
    "2:30", "0o100", "1_00", "+100", "+0", "100.0", "0.0", "-2.0", ".inf", '"0"', '"100"', "yes",
    "off", "~", "[1]", "{a: 1}", "x", "1e9",
])
def test_a_fix_never_suggests_a_value_outside_the_range(field, text):
    maximum = {"quota_gb": 40, "max_accounts": 50}[field]
    _, errors = resolve(doc(GOOD + f"{field}: {text}\n"))
    assert [error.field for error in errors] == ([] if text == "41" and field == "max_accounts"
                                                 else [field])
    for error in errors:
        numbers = [int(number) for number in re.findall(r"-?[0-9]+", error.fix)]
        assert all(1 <= number <= maximum for number in numbers), error


@pytest.mark.parametrize(("line", "field", "fix"), [
    ("office: no", "office", "use one of collabora, onlyoffice"),
    ("office: on", "office", "use one of collabora, onlyoffice"),
    ("state: off", "state", "use one of active, disabled, absent"),
    ("state: yes", "state", "use one of active, disabled, absent"),
    ("display_name: yes", "display_name", "quote the value"),
    ("notes: off", "notes", "quote the notes"),
    ("quota_gb: no", "quota_gb", "write a whole number from 1 to 40"),
    ("rotation: {db_password: on}", "rotation.db_password", "write a whole number of at least 0"),
])
def test_yaml_booleans_are_named_as_such(line, field, fix):
    base = {entry.split(":")[0]: entry for entry in GOOD.splitlines()[1:]}
    base[line.split(":")[0]] = line
    _, [error] = resolve(doc("---\n" + "\n".join(base.values()) + "\n"))
    assert error.field == field and "YAML read" in error.problem and error.fix.startswith(fix)


def test_boolean_slug_says_yaml_read_a_boolean(tmp_path):
    (tmp_path / "no.yml").write_text(GOOD.replace("slug: asso-velo", "slug: no"))
    _, [error] = action.load_catalogue(str(tmp_path), FARM)
    assert "YAML read" in error.problem and "quote the slug" == error.fix


@pytest.mark.parametrize(("text", "message"), [
    ("slug: a\nrotation:\n\tdb_password: 1\n", "uses a tab for indentation at line 3"),
    ("\tslug: a\n", "uses a tab for indentation at line 1"),
    ("slug: a\n\tnotes: b\n", "uses a tab for indentation at line 2"),
    ("aliases:\n  - a.org\n\t- b.org\n", "uses a tab for indentation at line 3"),
    ("rotation:\n  \tdb_password: 1\n", "uses a tab for indentation at line 2"),
    ("aliases:\n  -\ta.org\n", "has a tab at line 2, column 4"),
])
def test_tabs_are_named(text, message):
    result = doc(text)
    assert result["data"] is None and message in result["error"], result["error"]
    assert "space" in result["fix"]
    assert doc("slug:\tasso-velo\n")["data"] == {"slug": "asso-velo"}  # a tab YAML allows


def test_other_scanner_errors_are_not_called_tabs():
    result = doc("slug: a\nnotes: @x\n")
    assert "tab" not in result["error"] and "line 2" in result["error"]


def test_limits_are_named_and_documented():
    text = (pathlib.Path(__file__).parents[2] / "docs" / "catalogue.md").read_text()
    for name in ("MAX_FILE_BYTES", "MAX_YAML_ALIASES", "MAX_VALUES", "MAX_DEPTH",
                 "MAX_DOMAIN_ALIASES", "DISPLAY_NAME_MAX", "NOTES_MAX", "MAX_NAMED_UNKNOWN"):
        value = getattr(catalogue, name)
        assert f"`{name}`" in text and f"{value:,}" in text, name


def test_aliases_and_notes_limits():
    many = ", ".join(f"a{index}.example.org" for index in range(catalogue.MAX_DOMAIN_ALIASES))
    [record], errors = resolve(doc(GOOD + f"aliases: [{many}]\n"))
    assert errors == [] and len(record["aliases"]) == catalogue.MAX_DOMAIN_ALIASES
    _, errors = resolve(doc(GOOD + f"aliases: [{many}, one-more.example.org]\n"))
    assert [(error.field, "MAX_DOMAIN_ALIASES" in error.problem) for error in errors] == \
        [("aliases", True)]
    [record], errors = resolve(doc(GOOD + f"notes: {'n' * catalogue.NOTES_MAX}\n"))
    assert errors == []
    _, [error] = resolve(doc(GOOD + f"notes: {'n' * (catalogue.NOTES_MAX + 1)}\n"))
    assert error.field == "notes" and "NOTES_MAX" in error.problem


def test_depth_limit():
    text = "notes: " + "[" * (catalogue.MAX_DEPTH + 2) + "]" * (catalogue.MAX_DEPTH + 2) + "\n"
    assert "nested too deep (more than 32 levels" in doc(text)["error"]
    assert "maximum nesting depth" in doc("notes: " + "[" * 5000 + "\n")["error"]  # libyaml


def test_file_size_limit(tmp_path):
    exact = GOOD + "#" * (catalogue.MAX_FILE_BYTES - len(GOOD.encode()) - 1) + "\n"
    assert len(exact.encode()) == catalogue.MAX_FILE_BYTES
    (tmp_path / "asso-velo.yml").write_text(exact)
    records, errors = action.load_catalogue(str(tmp_path), FARM)
    assert errors == [] and len(records) == 1
    (tmp_path / "asso-velo.yml").write_text(exact + "\n")
    _, [error] = action.load_catalogue(str(tmp_path), FARM)
    assert error.problem == ("is 65,537 bytes, over the limit of 65,536 bytes for a space file "
                             "(MAX_FILE_BYTES)")
    assert doc(exact + "\n")["error"] == error.problem  # the pure function checks it too
    assert "65,537 bytes" in doc(exact[:-1] + "é")["error"]  # counted in UTF-8 bytes


def test_a_huge_file_is_refused_without_being_read(tmp_path):
    with open(tmp_path / "asso-velo.yml", "wb") as handle:
        handle.truncate(2 ** 40)  # sparse: one TiB that nothing could hold in memory
    start = time.perf_counter()
    _, [error] = action.load_catalogue(str(tmp_path), FARM)
    assert time.perf_counter() - start < 1.0
    assert "is 1,099,511,627,776 bytes, over the limit" in error.problem


def test_a_file_growing_after_fstat_is_cut_at_the_limit(tmp_path):
    (tmp_path / "asso-velo.yml").write_text(GOOD)
    real_fstat = os.fstat

    def small_fstat(fd):  # the file looks small when checked, is large when read
        result = real_fstat(fd)
        return os.stat_result((result.st_mode, *result[1:6], 10, *result[7:]))

    (tmp_path / "asso-velo.yml").write_text(GOOD + "#" * (2 * catalogue.MAX_FILE_BYTES))
    with mock.patch.object(action.os, "fstat", small_fstat):
        _, [error] = action.load_catalogue(str(tmp_path), FARM)
    assert f"is {catalogue.MAX_FILE_BYTES + 1:,} bytes, over the limit" in error.problem


def _with_alarm(seconds):
    def handler(signum, frame):
        raise TimeoutError("the catalogue loader hung")
    previous = signal.signal(signal.SIGALRM, handler)
    signal.alarm(seconds)
    return previous


def test_a_fifo_is_refused_without_being_opened(tmp_path):
    (tmp_path / "asso-velo.yml").write_text(GOOD)
    os.mkfifo(tmp_path / "asso-b.yml")
    previous = _with_alarm(5)
    try:
        records, errors = action.load_catalogue(str(tmp_path), FARM)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    assert [(os.path.basename(e.file), e.field, e.problem) for e in errors] == [
        ("asso-b.yml", "(file)", "is a FIFO (named pipe), not a regular file")]
    assert [record["slug"] for record in records] == ["asso-velo"]


def test_a_fifo_swapped_in_after_listing_does_not_hang(tmp_path):
    """The entry looked like a regular file when listed; opening never blocks (O_NONBLOCK)."""
    os.mkfifo(tmp_path / "asso-velo.yml")
    previous = _with_alarm(5)
    try:
        with mock.patch.object(os.DirEntry, "is_file", lambda self, **kw: True):
            _, errors = action.load_catalogue(str(tmp_path), FARM)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    assert [e.problem for e in errors] == ["is not a regular file"]


def test_symlinks_are_never_followed(tmp_path):
    spaces = tmp_path / "spaces"
    spaces.mkdir()
    (tmp_path / "secret.yml").write_text("slug: root:x:0:0\n")
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "asso-d.yml").write_text(GOOD.replace("asso-velo", "asso-d"))
    (spaces / "asso-velo.yml").write_text(GOOD)
    (spaces / "asso-a.yml").symlink_to(tmp_path / "secret.yml")
    (spaces / "asso-b.yml").symlink_to("asso-velo.yml")
    (spaces / "asso-c.yml").symlink_to(tmp_path / "missing.yml")
    (spaces / "more").symlink_to(tmp_path / "elsewhere")
    (spaces / "same").symlink_to(".")
    records, errors = action.load_catalogue(str(spaces), FARM)
    assert [record["slug"] for record in records] == ["asso-velo"]
    got = {os.path.basename(error.file): error.problem for error in errors}
    assert got == {
        "asso-a.yml": f"is a symlink to {tmp_path / 'secret.yml'}, outside the catalogue",
        "asso-b.yml": "is a symlink (to asso-velo.yml in the catalogue)",
        "asso-c.yml": f"is a symlink to {tmp_path / 'missing.yml'}, outside the catalogue",
        "more": f"is a symlink to {tmp_path / 'elsewhere'}, outside the catalogue",
        "same": "is a symlink (to . in the catalogue)",
    }
    assert all("root:x" not in str(error) for error in errors)


def test_a_symlink_swapped_in_after_listing_is_not_followed(tmp_path):
    (tmp_path / "secret").write_text("slug: topsecret\n")
    (tmp_path / "spaces").mkdir()
    (tmp_path / "spaces" / "asso-velo.yml").symlink_to(tmp_path / "secret")
    with mock.patch.object(os.DirEntry, "is_symlink", lambda self: False), \
            mock.patch.object(os.DirEntry, "is_file", lambda self, **kw: True):
        _, [error] = action.load_catalogue(str(tmp_path / "spaces"), FARM)
    assert error.problem == "is a symlink" and "topsecret" not in str(error)


def test_catalogue_reached_through_a_symlinked_directory(tmp_path):
    (tmp_path / "real").mkdir()
    (tmp_path / "real" / "asso-velo.yml").write_text(GOOD)
    (tmp_path / "link").symlink_to(tmp_path / "real")
    records, errors = action.load_catalogue(str(tmp_path / "link"), FARM)
    assert errors == [] and records[0]["slug"] == "asso-velo"


# Suggestions: never a taken file name or slug, never a slug that drops letters.

def test_reserved_slug_suggestion_is_valid_free_and_short(tmp_path):
    long_name = "b" * 63
    farm = dict(FARM, reserved=[long_name, "asso-www", "www-asso"])
    _, errors = resolve(doc(GOOD.replace("asso-velo", long_name), f"s/{long_name}.yml"),
                        doc(GOOD.replace("asso-velo", "www"), "s/www.yml"), farm=farm)
    fixes = {os.path.basename(error.file): error.fix for error in errors}
    suggested = {name: re.search(r"'([^']*)'", fix).group(1) for name, fix in fixes.items()}
    assert suggested == {f"{long_name}.yml": "asso-" + "b" * 58, "www.yml": "www-2"}
    for slug in suggested.values():
        assert catalogue._names.is_valid_slug(slug) and slug not in farm["reserved"]


@pytest.mark.parametrize(("slug", "suggestion"), [
    ("Asso_Vélo", "asso-velo"), ("Straße", "strasse"), ("Bœuf", "boeuf"), ("Øre", "ore"),
    ("Łódź", "lodz"), ("Asso Ve\u0301lo", "asso-velo"), ("Café—Théâtre", "cafe-theatre"),
    ("Ωμέγα", None), ("asso-Ωx", None), ("xn--asso-vlo-g1a", "asso-velo"),
])
def test_slug_suggestions_keep_every_letter(slug, suggestion):
    assert catalogue._names.suggest_slug(slug) == (suggestion or "")
    _, errors = resolve(doc(GOOD.replace("slug: asso-velo", f'slug: "{slug}"')))
    fixes = {error.fix for error in errors if error.field == "slug"}
    assert fixes == ({f"use '{suggestion}'"} if suggestion else {"choose a slug of [a-z0-9-]"})


def test_slug_suggestion_that_is_reserved_or_taken_is_replaced():
    _, errors = resolve(doc(GOOD.replace("slug: asso-velo", "slug: Asso-B"), "s/x.yml"),
                        doc(GOOD.replace("asso-velo", "asso-b"), "s/asso-b.yml"))
    assert {error.fix for error in errors if error.file == "s/x.yml" and
            "uppercase" in error.problem} == {"use 'asso-asso-b'"}


def test_mismatch_fix_names_only_free_files_and_slugs():
    files = [("s/a.yml", "b"), ("s/b.yml", "c"), ("s/c.yaml", "a")]
    _, errors = resolve(*[doc(GOOD.replace("asso-velo", slug), file) for file, slug in files])
    fixes = {error.file: error.fix for error in errors if "file name" in error.problem}
    assert fixes == {
        "s/a.yml": "give the space a free slug and name the file after it (b.yml already exists)",
        "s/b.yml": "give the space a free slug and name the file after it (c.yaml already exists)",
        "s/c.yaml": "give the space a free slug and name the file after it (a.yml already exists)",
    }
    _, errors = resolve(doc(GOOD.replace("asso-velo", "b"), "s/a.yml"),
                        doc(GOOD.replace("asso-velo", "z"), "s/x.yml"), farm=FARM)
    assert {error.file: error.fix for error in errors} == {
        "s/a.yml": "rename the file to b.yml or set slug: a",
        "s/x.yml": "rename the file to z.yml or set slug: x"}


# ------------------------------------------------------------------------------------------
# The fast line reader and libyaml read every file the same way (issue 15 item 3)


def _typed(value):
    """A value with its types spelled out (``1 == True == 1.0`` in Python), order kept."""
    if isinstance(value, dict):
        return ("dict", [(_typed(key), _typed(item)) for key, item in value.items()])
    if isinstance(value, list):
        return ("list", [_typed(item) for item in value])
    return (type(value).__name__, value)


def _libyaml(text):
    loader = catalogue._CatalogueLoader(text)
    try:
        node = loader.get_single_node()
        return _typed(None if node is None else catalogue._to_python(node, catalogue._Budget()))
    except (yaml.YAMLError, catalogue._Refused) as exc:
        return ("error", type(exc).__name__)
    finally:
        loader.dispose()


def _same_as_libyaml(text):
    """Assert the fast reader either gives up or reads ``text`` exactly as libyaml does."""
    fast = catalogue._fast_parse(text)
    if fast is catalogue._SLOW:
        return False
    assert _typed(fast) == _libyaml(text), repr(text)
    return True


TRICKY_LINES = [
    "---", "--- # start", "---x", "...", "", "   ", "# comment", "  # indented comment", "#",
    "slug: asso-velo", "slug: asso-velo # c", "slug: asso-velo#c", "slug: asso-velo  ", "slug:",
    "slug:  ", "slug: # nothing", "slug:#x", "slug :x", "slug:x", "Slug: x", "slug: 'q'",
    'slug: "q"', "slug: ''", 'slug: ""', "slug: 'it''s'", 'slug: "a\\tb"', 'slug: "a # b"',
    "slug: 'a # b'", "slug: a: b", "slug: a:b", "slug: a :b", "slug: a #b: c", "slug: -5",
    "slug: - 5", "slug: -", "slug: ?x", "slug: :x", "slug: x?", "slug: &a x", "slug: *a",
    "slug: !!str 5", "slug: |", "slug: >", "slug: %x", "slug: @x", "slug: `x", "slug: a, b",
    "slug: a]b", "slug: a}", "slug: [a, b]", "slug: [a,b]", "slug: [ a , 'b', \"c\" ]",
    "slug: []", "slug: [ ]", "slug: [a, ]", "slug: [a b, c]", "slug: [a: b]", "slug: [a#b]",
    "slug: [a #b]", "slug: [[a]]", "slug: [-a, -5, .5]", "slug: {}", "slug: {a: 1, b: x}",
    "slug: {a: 1, a: 2}", "slug: {a: }", "slug: {a:1}", "slug: {yes: 1, true: 2}", "slug: ~",
    "slug: null", "slug: Null", "slug: NULL", "slug: nULL", "slug: yes", "slug: No", "slug: ON",
    "slug: oFF", "slug: y", "slug: n", "slug: true", "slug: True", "slug: 020", "slug: 0",
    "slug: -0", "slug: 12", "slug: +12", "slug: 1_2", "slug: 0x1F", "slug: 0o7", "slug: 1:20",
    "slug: 1.5", "slug: -1.5", "slug: 1.", "slug: .5", "slug: 1e3", "slug: 1.0e3", "slug: 1.0E-3",
    "slug: .inf", "slug: .NaN", "slug: 2026-11-01", "slug: 2026-11-01 10:00:00", "slug: =",
    "slug: <<", "<<: {a: 1}", "yes: 1", "null: 1", "on: x", "1: x", "slug: Asso Vélo",
    "slug: a  b", "slug: é", "slug: \u00a0x", "slug: x\u00a0", "slug: \u2028", "slug: \x85",
    "slug: \ufeffx", "slug: \x7f", "slug: a\tb", "slug:\tx", "slug: x\r", "slug: 'x",
    'slug: "x', "aliases:", "  - a.org", "  - 'a.org'", "  - a.org # c", "- a.org", "    - b.org",
    "  -a.org", "  - ", "  -", "  - - x", "  - a: b", "  - [a]", "  - {a: 1}", "  - &x a",
    "rotation:", "  db_password: 1", "  db_password: 2", "    admin_password: 1",
    "  db_password:", "  db_password: [1]", "  yes: 1", "  <<: *a", "\tslug: x",
]


def test_fast_reader_agrees_with_libyaml_on_tricky_lines():
    rng = random.Random(15)
    texts = [line + end for line in TRICKY_LINES for end in ("", "\n")]
    for _ in range(6000):
        texts.append("\n".join(rng.choice(TRICKY_LINES) for _ in range(rng.randint(1, 6))) +
                     rng.choice(["", "\n", "\n\n"]))
    fast = sum(_same_as_libyaml(text) for text in texts)
    assert fast > len(texts) // 10  # the comparison is not vacuous


def test_fast_reader_agrees_with_libyaml_on_every_committed_file():
    files = [path for path in list(DATA.glob("*/spaces/*")) + list(LAB.glob("*/spaces/*.yml"))
             if path.is_file() and not path.is_symlink()]
    assert len(files) > 80
    for path in files:
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        _same_as_libyaml(text)


def test_fast_reader_reads_the_usual_space_files(tmp_path):
    """The benchmark's files and the committed catalogues never need libyaml (speed)."""
    spec = importlib.util.spec_from_file_location("nuagerie_benchmark", BENCHMARK)
    benchmark = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(benchmark)
    benchmark.generate(str(tmp_path), 300)
    for path in sorted(tmp_path.iterdir()) + sorted(LAB.glob("*/spaces/*.yml")):
        assert _same_as_libyaml(path.read_text(encoding="utf-8")), path
    block = GOOD + "aliases:\n  - cloud.asso-velo.org\n  - nc.asso-velo.org\nrotation:\n" \
        "  db_password: 1\n  admin_password: 2\n"
    assert _same_as_libyaml(block)


_KEYS = st.sampled_from(["slug", "notes", "a", "yes", "null", "x_1", "rotation", "aliases"])
_VALUES = st.text(alphabet=list("ab09 -:#'\"[]{},&*!|>%@`?~._+/\\=<éx\t\xa0\u2028\x85\r"),
                  max_size=12)
_LINES = st.one_of(
    st.builds("{}: {}".format, _KEYS, _VALUES),
    st.builds("{}:".format, _KEYS),
    st.builds(lambda indent, value: " " * indent + "- " + value, st.integers(0, 3), _VALUES),
    st.builds(lambda indent, key, value: " " * indent + f"{key}: {value}",
              st.integers(1, 3), _KEYS, _VALUES),
    st.sampled_from(["---", "", "# c", "  # c", "...", "--- # x", "rotation:", "aliases:"]),
    _VALUES,
)


@settings(max_examples=400, deadline=None)
@given(st.lists(_LINES, max_size=7), st.sampled_from(["", "\n"]))
def test_fast_reader_agrees_with_libyaml_on_random_files(lines, end):
    _same_as_libyaml("\n".join(lines) + end)


def test_space_names_spells_out_the_readable_forms_of_bounded():
    """space_names inlines _bounded's readable branch (speed): same names at every length."""
    names = catalogue._names
    specs = {"database": names._PG, "bucket": names._BUCKET, "s3_access_key": names._ACCESS_KEY,
             "syslog_tag": names._SYSLOG, "syslog_tag_audit": names._SYSLOG_AUDIT}
    for size in range(1, names.SLUG_MAX_LENGTH + 1):
        hyphens = ("a-" * 32)[:size]
        for slug in ("a" * size, hyphens[:-1] + "b" if hyphens.endswith("-") else hyphens):
            derived = names.space_names(slug)
            for key, spec in specs.items():
                assert derived[key] == names._bounded(slug, spec), (slug, key)


@pytest.mark.parametrize("text", [
    "aliases:\n  - a.org\n    - b.org\n",          # items at two indentations
    "aliases:\n  - a.org\n  x: 1\n",                # a pair after items
    "rotation:\n  a: 1\n    b: 2\n",                # pairs at two indentations
    "rotation:\n  a: 1\n  a: 2\n",                  # a duplicate nested key
    "rotation:\n  a: 1\n  - x\n",                   # an item after pairs
    "slug: a\n---\n",                               # a second document
    "slug: a\n  - x\n",                             # an item under a key with a value
    "slug: {a: 1, a: 2}\n",                         # a duplicate flow key
])
def test_fast_reader_hands_odd_shapes_to_libyaml(text):
    assert catalogue._fast_parse(text) is catalogue._SLOW
    result = doc(text)  # libyaml's answer
    assert (_typed(result["data"]) if result["error"] is None else ("error", "YAML")) == \
        (_libyaml(text) if _libyaml(text)[0] != "error" else ("error", "YAML"))


@pytest.mark.parametrize("extra", [
    "quota_gb: " + "1" * 5000, "quota_gb: '" + "1" * 5000 + "'", "quota_gb: 0" + "1" * 5000,
    "max_accounts: 1:" + "1" * 5000, "quota_gb: 0x" + "1" * 5000, "quota_gb: " + "9" * 5000 + ".5",
    "rotation: {db_password: " + "1" * 5000 + "}", "aliases: [" + "X" * 60000 + "]",
    "office: " + "X" * 60000, "state: " + "X" * 60000, "nextcloud_release: " + "X" * 60000,
    "admin_email: " + "X" * 60000, "slug: " + "É" * 30000,
])
def test_huge_values_neither_crash_nor_flood_the_messages(extra):
    """Python refuses int() of 4,300+ digits; a 60 KB value must not become a 60 KB message."""
    text = GOOD.replace(extra.split(":")[0] + ":", "# " + extra.split(":")[0] + ":") + extra + "\n"
    start = time.perf_counter()
    _, errors = resolve(doc(text))
    assert time.perf_counter() - start < 0.5
    assert errors and all(len(str(error)) < 400 for error in errors), errors


def test_many_unknown_fields_are_counted_not_all_named():
    text = GOOD + "".join(f"k{index}: 1\n" for index in range(400))
    text += "rotation: {" + ", ".join(f"p{index}: 1" for index in range(50)) + "}\n"
    _, errors = resolve(doc(text))
    limit = catalogue.MAX_NAMED_UNKNOWN
    assert len(errors) == 2 * limit + 2
    assert "has 390 more unknown fields" in str(errors[0]) and errors[0].field == "(file)"
    assert "has 40 more unknown purposes" in str([e for e in errors if e.field == "rotation"][0])


def test_a_key_libyaml_refuses_is_not_read_by_the_fast_reader():
    text = GOOD + "a" * 2000 + ": 1\n"  # YAML implicit keys: 1,024 characters at most
    assert catalogue._fast_parse(text) is catalogue._SLOW
    assert "could not find expected ':'" in doc(text)["error"]
    assert catalogue._fast_parse(GOOD + "a" * 128 + ": 1\n")["a" * 128] == 1
