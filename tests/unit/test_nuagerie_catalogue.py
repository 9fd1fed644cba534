"""Unit tests of the catalogue: pure validation (filter_plugins/nuagerie_catalogue.py) and the
directory loader of the action plugin (plugins/action/nuagerie_catalogue.py).

Data-driven cases live in tests/unit/data/catalogue/<case>/: ``spaces/`` is a bad catalogue and
``expected.yml`` lists every error it must produce (file, field, text of the message). The
errors must match exactly: no missing error and no extra one.
"""

import os
import pathlib
from unittest import mock

import pytest
import yaml
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
    assert doc("a: [1, 2.5, true, null, '3', 0x10]\n")["data"] == {"a": [1, 2.5, True, None, "3", 16]}
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
