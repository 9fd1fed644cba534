"""The Nextcloud contract (docs/nextcloud-contract.yml) cannot rot.

(a) Every occ command (and option on the same line), every `config:system:set` /
    `config:app:set` key, and every config key rendered into a `*.config.php` by the roles
    or the config filters must be listed in the contract. Scanned: roles/, playbooks/,
    plugins/, filter_plugins/, molecule/ (files mentioning `occ`, templates named
    `*config.php*`, and a `NEXTCLOUD_SYSTEM_KEYS` collection in a filter module).
    App config keys are also collected from the Python of plugins/ and filter_plugins/:
    literals `{<app id>: {key: …}}` / `{<app id>: ("key", …)}` and `x["<app id>"] = {key: …}`
    (app ids: the contract's `apps` and `core`).
(b) The stand-in (lab/nextcloud-standin/) implements every command and option of the contract,
    app commands included (registered only for their enabled app: read from its command table).
"""

import ast
import importlib
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
CONTRACT = yaml.safe_load((ROOT / "docs" / "nextcloud-contract.yml").read_text())
SCANNED = ["roles", "playbooks", "plugins", "filter_plugins", "molecule"]
TEXT_SUFFIXES = {".yml", ".yaml", ".j2", ".py", ".sh", ".php", ".cfg", ".conf", ".md", ".service", ".timer"}

# occ command namespaces (upstream core and the farm's apps); a namespaced command is
# recognised anywhere in a file that mentions occ, bare commands only after "occ".
NAMESPACES = ("maintenance", "config", "app", "user", "group", "background", "db", "files",
              "files_external", "integrity", "encryption", "log", "security", "sharing",
              "trashbin", "versions", "twofactorauth", "preview", "theming", "richdocuments",
              "onlyoffice", "notify_push", "setupchecks", "info", "dav", "text", "deck",
              "spreed", "talk", "circles", "collectives", "forms", "tables", "calendar")
NAMESPACED_RE = re.compile(r"(?<![\w./@-])((?:%s)(?::[a-z][a-z0-9_-]*)+)(?![\w:@])" % "|".join(NAMESPACES))
BARE_RE = re.compile(r"(?<![a-zA-Z])occ\b[^\n]*?[\s\"',\[](status|upgrade|list)(?=[\"'\s,\]]|$)")
OPTION_RE = re.compile(r"(?<![\w-])(--[a-z][a-z0-9-]*|-[a-zA-Z])(?=[=\s\"',\]]|$)")
OCC_RE = re.compile(r"(?<![a-zA-Z])occ\b")
TEMPLATE_KEY_RE = re.compile(r"^ {2}'([A-Za-z0-9_.]+)'\s*=>", re.M)


def occ_uses(text: str):
    """Yield (command, options on the same line, following tokens) for each occ use in a text."""
    for line in text.splitlines():
        found = [(m.group(1), m.end()) for m in NAMESPACED_RE.finditer(line)]
        found += [(m.group(1), m.end()) for m in BARE_RE.finditer(line)]
        for command, end in found:
            rest = line[end:]
            options = set(OPTION_RE.findall(rest.split(" occ ")[0]))
            tokens = re.findall(r"[\w.{}-]+", rest)
            yield command, options, tokens


def scanned_files():
    for top in SCANNED:
        for path in sorted((ROOT / top).rglob("*")):
            if path.is_file() and (path.suffix in TEXT_SUFFIXES or "config.php" in path.name) \
                    and "__pycache__" not in path.parts:
                yield path


def repository_uses():
    commands, system_keys, app_keys = {}, {}, {}
    for path in scanned_files():
        text = path.read_text(errors="replace")
        where = str(path.relative_to(ROOT))
        if "config.php" in path.name:
            for key in TEMPLATE_KEY_RE.findall(text):
                system_keys.setdefault(key, where)
        if path.name == "test_nextcloud_contract.py" or not OCC_RE.search(text):
            continue
        for command, options, tokens in occ_uses(text):
            commands.setdefault(command, [set(), where])[0].update(options)
            args = [t for t in tokens if not t.startswith("-")]
            if command == "config:system:set" and args and "{" not in args[0]:
                system_keys.setdefault(args[0], where)
            if command == "config:app:set" and len(args) >= 2 and "{" not in args[0] + args[1]:
                app_keys.setdefault(f"{args[0]}/{args[1]}", where)
    for path in sorted((ROOT / "filter_plugins").glob("*.py")):
        module = importlib.import_module(path.stem)
        # The config filter's allow-list: every key the project may render.
        for key in getattr(module, "CONFIG_KEYS", ()) or getattr(module, "NEXTCLOUD_SYSTEM_KEYS", ()):
            system_keys.setdefault(key, str(path.relative_to(ROOT)))
    return commands, system_keys, app_keys


APP_IDS = frozenset(CONTRACT["apps"]["shipped"]) | frozenset(CONTRACT["apps"]["pinned"]) | {"core"}


def _str(node) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _keys_of(node) -> list[str]:
    """Keys named by a dict literal (string keys) or a tuple/list/set of strings."""
    if isinstance(node, ast.Dict):
        return [k for k in map(_str, node.keys) if k]
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)) and node.elts:
        names = [_str(e) for e in node.elts]
        return names if all(names) else []
    return []


def python_app_config_keys(source: str) -> set[str]:
    """`app/key` pairs a Python source names as app values (see the module docstring)."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values):
                if _str(key) in APP_IDS:
                    found |= {f"{_str(key)}/{k}" for k in _keys_of(value)}
        elif isinstance(node, ast.Assign) and isinstance(node.value, ast.Dict):
            for target in node.targets:
                if isinstance(target, ast.Subscript) and _str(target.slice) in APP_IDS:
                    found |= {f"{_str(target.slice)}/{k}" for k in _keys_of(node.value)}
    return found


def python_app_uses():
    found = {}
    for top in ("plugins", "filter_plugins"):
        for path in sorted((ROOT / top).rglob("*.py")):
            for key in python_app_config_keys(path.read_text()):
                found.setdefault(key, str(path.relative_to(ROOT)))
    return found


# ------------------------------------------------------------------ (a) the repository

def test_scanner_recognises_the_usual_forms():
    text = "\n".join([
        'cmd: "{{ web_occ }} {{ slug }} status --output=json"',
        'argv: ["nuagerie-occ", "asso", "config:system:set", "loglevel", "--value=2", "--type=integer"]',
        "php occ maintenance:mode --on",
        'ExecStart=/usr/local/bin/nuagerie-occ %i background:cron',
        "become_user: www-data   # user:password@host must not count",
        "register: occ_status",
    ])
    uses = [(c, sorted(o)) for c, o, _ in occ_uses(text)]
    assert uses == [("status", ["--output"]), ("config:system:set", ["--type", "--value"]),
                    ("maintenance:mode", ["--on"]), ("background:cron", [])]


def test_app_config_scanner_recognises_the_usual_forms():
    source = """
values = {"files": {"default_quota": "1 GB"}, "slug": {"x": 1}}
keys = {"richdocuments": ("wopi_url", "public_wopi_url"), "onlyoffice": "a description"}
values["onlyoffice"] = {"DocumentServerUrl": url, "jwt_header": h}
other = {"files": [{"path": "/x"}], "apps": {"spreed": {"x": 1}}}
"""
    assert python_app_config_keys(source) == {
        "files/default_quota", "richdocuments/wopi_url", "richdocuments/public_wopi_url",
        "onlyoffice/DocumentServerUrl", "onlyoffice/jwt_header", "spreed/x"}


def test_every_app_config_key_found_in_code_is_in_the_contract():
    """Keys of app values the Python code sets (e.g. for occ config:import) are in the contract."""
    problems = [f"{where}: app config {key!r} is not in docs/nextcloud-contract.yml (config.app)"
                for key, where in sorted(python_app_uses().items()) if key not in CONTRACT["config"]["app"]]
    assert not problems, "\n".join(problems)


def test_every_occ_command_and_option_used_is_in_the_contract():
    commands, _, _ = repository_uses()
    known = CONTRACT["occ"]
    globals_ = set(CONTRACT["occ_global_options"])
    problems = []
    for command, (options, where) in sorted(commands.items()):
        if command not in known:
            problems.append(f"{where}: occ {command} is not in docs/nextcloud-contract.yml")
            continue
        unknown = options - set(known[command]["options"]) - globals_
        if unknown:
            problems.append(f"{where}: occ {command} {sorted(unknown)} not in the contract")
    assert not problems, "\n".join(problems)


def test_every_config_key_rendered_or_set_is_in_the_contract():
    _, system_keys, app_keys = repository_uses()
    owned = CONTRACT["config"]["owned_by_nextcloud"]
    known = set(CONTRACT["config"]["system"]) | set(owned["identity"]) | set(owned["state"])
    problems = [f"{where}: system config key {key!r} is not in docs/nextcloud-contract.yml"
                for key, where in sorted(system_keys.items()) if key not in known]
    problems += [f"{where}: app config {key!r} is not in docs/nextcloud-contract.yml"
                 for key, where in sorted(app_keys.items()) if key not in CONTRACT["config"]["app"]]
    assert not problems, "\n".join(problems)


def test_no_template_renders_nextclouds_state_keys():
    """`installed`, `version`, `maintenance` in a *.config.php would override config.php forever."""
    state = set(CONTRACT["config"]["owned_by_nextcloud"]["state"])
    problems = []
    for path in scanned_files():
        if "config.php" in path.name:
            problems += [f"{path.relative_to(ROOT)}: renders {key!r}"
                         for key in TEMPLATE_KEY_RE.findall(path.read_text()) if key in state]
    assert not problems, "\n".join(problems)


def test_contract_entries_name_their_upstream_source():
    for name, entry in CONTRACT["occ"].items():
        assert entry.get("upstream") and entry.get("checked") in ("source", "recalled"), name
        assert isinstance(entry["options"], list), name
    for entry in CONTRACT["http"]:
        assert entry.get("upstream") and entry.get("checked") in ("source", "recalled"), entry["path"]
    for key, entry in CONTRACT["config"]["system"].items():
        assert entry.get("upstream") and entry.get("standin") in ("used", "accepted"), key
    for key, entry in CONTRACT["config"]["app"].items():
        assert key.count("/") == 1 and key.split("/")[0] in APP_IDS, key
        assert entry.get("upstream") and entry.get("standin") in ("used", "accepted"), key
        assert entry.get("checked") in ("source", "recalled"), key
    for name, entry in CONTRACT["occ"].items():
        if "app" in entry:
            assert entry["app"] in APP_IDS and name.startswith(entry["app"] + ":"), name
    owned = CONTRACT["config"]["owned_by_nextcloud"]
    assert not set(CONTRACT["config"]["system"]) & (set(owned["identity"]) | set(owned["state"]))


def test_the_process_owner_rule_is_the_standins():
    rule = CONTRACT["process_owner"]
    assert rule["upstream"] and rule["checked"] in ("source", "recalled") and rule["exit_code"] == 1
    tree = ROOT / "lab/nextcloud-standin/nextcloud"
    for entry in ("occ", "cron.php"):
        text = (tree / entry).read_text()
        assert rule["message"] in text and "fileowner(" in text and "posix_getuid()" in text, entry
        assert "is_file(" not in text, entry   # strict: no "only when config.php exists"
    assert "@touch(" in (tree / "lib/base.php").read_text()


def test_the_apps_of_the_contract_are_in_the_standin_release():
    standin = ROOT / "lab/nextcloud-standin"
    shipped = sorted(p.name for p in (standin / "nextcloud/apps").iterdir())
    assert shipped == sorted(CONTRACT["apps"]["shipped"])
    # the apps upstream does not ship are separate archives, never in the server tree
    assert sorted(p.name for p in (standin / "apps").iterdir()) == sorted(CONTRACT["apps"]["pinned"])
    listed = json.loads((standin / "nextcloud/core/shipped.json").read_text())["shippedApps"]
    assert set(CONTRACT["apps"]["shipped"]) <= set(listed)
    assert not set(CONTRACT["apps"]["pinned"]) & set(listed)
    # the role's view of the shipped apps is the same upstream list
    defaults = yaml.safe_load((ROOT / "roles/nextcloud/defaults/main.yml").read_text())
    assert sorted(defaults["nextcloud_shipped_apps"]) == sorted(listed)


# ------------------------------------------------------------------ (b) the stand-in

PHP = shutil.which("php")


@pytest.fixture(name="standin_commands")
def fixture_standin_commands(tmp_path):
    if PHP is None:
        if os.environ.get("CI") == "true":
            pytest.fail("php-cli is missing on CI (scripts/bootstrap installs it)")
        pytest.skip("php-cli is not installed")
    occ = ROOT / "lab/nextcloud-standin/nextcloud/occ"
    listed = {}
    for state, config in (("new", None), ("installed", "<?php $CONFIG = ['installed' => true, 'version' => '33.0.8.0'];\n")):
        confdir = tmp_path / state
        confdir.mkdir()
        if config:
            (confdir / "config.php").write_text(config)
        out = subprocess.run([PHP, str(occ), "list", "--format=json"], capture_output=True, text=True,
                             check=True, env={"PATH": os.environ["PATH"], "NEXTCLOUD_CONFIG_DIR": str(confdir)})
        for command in json.loads(out.stdout)["commands"]:
            options = command["definition"]["options"]
            names = {o["name"] for o in options.values()} | {o["shortcut"] for o in options.values() if o["shortcut"]}
            listed[command["name"]] = names
    # App commands are registered only for enabled apps (that needs the database): take them
    # from the stand-in's command table, with the upstream class its app's info.xml must list.
    dump = ("require '%s/lib/base.php'; echo json_encode(array_map(fn ($c) => [$c[4], $c[5] ?? null,"
            " array_merge(...array_map(fn ($n, $o) => array_filter(['--' . $n, $o[0] ? '-' . $o[0] : null]),"
            " array_keys($c[2]), $c[2]))], \\Standin\\Console::commands()));" % (ROOT / "lab/nextcloud-standin/nextcloud"))
    out = subprocess.run([PHP, "-r", dump], capture_output=True, text=True, check=True,
                         env={"PATH": os.environ["PATH"], "NEXTCLOUD_CONFIG_DIR": str(tmp_path / "new")})
    for name, (when, cls, options) in json.loads(out.stdout).items():
        if when == "app":
            app = name.split(":")[0]
            info = (ROOT / f"lab/nextcloud-standin/apps/{app}/appinfo/info.xml").read_text()
            assert f"<command>{cls}</command>" in info, f"{app}/appinfo/info.xml does not register {cls}"
            listed[name] = set(options)
    return listed


def test_standin_implements_every_contract_command_and_option(standin_commands):
    problems = []
    for command, entry in CONTRACT["occ"].items():
        if command not in standin_commands:
            problems.append(f"stand-in lacks occ {command}")
            continue
        missing = set(entry["options"]) - standin_commands[command]
        if missing:
            problems.append(f"stand-in occ {command} lacks {sorted(missing)}")
    assert not problems, "\n".join(problems)


def test_standin_has_no_command_outside_the_contract(standin_commands):
    assert set(standin_commands) <= set(CONTRACT["occ"])
