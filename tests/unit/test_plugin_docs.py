"""Every module documents itself (issue 11, item 4).

For every ``plugins/modules/*.py`` (found by glob, so a new module is covered without editing
this file), ``ansible-doc --json`` must render the module with no warning or error, and:

* the documented options are exactly the arguments a task may pass, with the same ``type``,
  ``default``, ``required``, ``choices``, ``elements``, ``aliases`` and suboptions. The arguments
  come from the module's ``AnsibleModule(argument_spec=...)`` call (recorded by a stand-in
  class, ``main()`` is stopped before it does anything). When an action plugin of the same name
  exists (``plugins/action/<name>.py``, ``action_plugins`` in ansible.cfg), the task talks to the
  action, so the action's arguments are what must be documented: the spec it passes to
  ``validate_argument_spec``, or else its ``_VALID_ARGS`` (options it forwards to the module keep
  the module's spec; options the action only consumes must have the ``required`` the action
  enforces; module options the action fills in itself, like a bundle path, are not documented);
* ``attributes.check_mode`` says whether check mode is supported, as the code does;
* EXAMPLES is a YAML list of tasks that each call the module with documented options only and
  every required one;
* RETURN entries are well formed (``description``, ``returned``, a known ``type``, ``elements``
  for lists, no unknown key: a comma in a flow mapping like ``{description: a, b}`` shows up as
  an unknown key).

The checks live in :func:`doc_problems`, which the negative controls at the end run on broken
modules written to a temporary directory, so these tests can fail.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from unittest import mock

import pytest
import yaml

from ansible.errors import AnsibleActionFail
from ansible.module_utils import basic
from ansible.plugins.action import ActionBase

ROOT = Path(__file__).resolve().parents[2]
MODULE_DIR = ROOT / "plugins" / "modules"
ACTION_DIR = ROOT / "plugins" / "action"
ANSIBLE_DOC = Path(sys.executable).parent / "ansible-doc"
MODULES = sorted(path.stem for path in MODULE_DIR.glob("*.py") if path.stem != "__init__")

OPTION_KEYS = {"description", "type", "required", "default", "choices", "elements", "aliases",
               "suboptions", "version_added", "version_added_collection"}
RETURN_KEYS = {"description", "returned", "type", "elements", "contains", "sample",
               "version_added", "version_added_collection"}
TYPES = {"str", "list", "dict", "bool", "int", "float", "path", "raw", "jsonarg", "json", "bytes",
         "bits"}
#: What an option defaults to when its spec (or doc) does not say.
IMPLICIT = {"type": "str", "required": False, "default": None, "choices": None, "elements": None,
            "aliases": None}


class _Recorded(Exception):
    """Raised by the stand-ins once they have recorded what the plugin declared."""


def _load(path: Path, kind: str):
    """Import a plugin file under a private name (never the module name Ansible would use)."""
    spec = importlib.util.spec_from_file_location(f"nuagerie_doc_check_{kind}_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def module_interface(path: Path) -> dict | None:
    """The keyword arguments the module's ``main()`` gives ``AnsibleModule``, or None (no main).

    ``AnsibleModule`` is replaced by a recorder that raises before the module does any work.
    """
    module = _load(path, "module")
    main = getattr(module, "main", None)
    if main is None:
        return None
    recorded: dict = {}

    class Recorder:  # pylint: disable=too-few-public-methods
        def __init__(self, argument_spec=None, **kwargs):
            recorded.update(kwargs, argument_spec=argument_spec or {})
            raise _Recorded

    with mock.patch.object(basic, "AnsibleModule", Recorder), \
            mock.patch.object(module, "AnsibleModule", Recorder, create=True):
        try:
            main()
        except _Recorded:
            return recorded
    raise AssertionError(f"{path.name}: main() returned without creating an AnsibleModule")


def action_interface(path: Path) -> dict:
    """What a task may pass to an action plugin.

    :returns: ``{"spec": argument_spec}`` when ``run()`` calls ``validate_argument_spec``, else
        ``{"args": _VALID_ARGS, "required": {...}}``: the required ones are found by running the
        action with no argument, adding each one it reports as ``'<name>' is required`` (with a
        placeholder value) until it fails for another reason. Nothing reaches a host: the
        action has no connection, ``ActionBase.run`` is stubbed.
    """
    module = _load(path, "action")
    cls = module.ActionModule
    recorded: dict = {}

    def record_spec(self, argument_spec=None, **kwargs):
        del self, kwargs
        recorded["spec"] = argument_spec or {}
        raise _Recorded

    def run(args: dict) -> Exception | None:
        action = cls.__new__(cls)
        action._task = SimpleNamespace(args=args, action=path.stem, check_mode=False)
        try:
            action.run(task_vars={"inventory_hostname": "doc-check"})
        except Exception as exc:  # noqa: BLE001 - any failure ends the probe
            return exc
        return None

    with mock.patch.object(ActionBase, "run", lambda self, tmp=None, task_vars=None: {}), \
            mock.patch.object(ActionBase, "validate_argument_spec", record_spec):
        error = run({})
        if "spec" in recorded:
            return {"spec": recorded["spec"], "check_mode": cls._supports_check_mode}
        valid = getattr(cls, "_VALID_ARGS", None)
        if not valid:
            raise AssertionError(f"{path}: the action neither calls validate_argument_spec nor "
                                 "sets _VALID_ARGS; cannot tell which arguments it accepts")
        args: dict = {}
        while isinstance(error, AnsibleActionFail):
            found = re.search(r"'(\w+)' is required", str(error))
            if not found or found.group(1) in args:
                break
            args[found.group(1)] = "doc-check placeholder"
            error = run(dict(args))
    return {"args": set(valid), "required": set(args), "check_mode": cls._supports_check_mode}


def ansible_doc(name: str, module_dir: Path) -> tuple[int, dict | None, str]:
    """Run ``ansible-doc -M <module_dir> --json <name>`` with the repository's ansible.cfg.

    :returns: ``(exit code, the module's entry of the JSON or None, stderr)``.
    """
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    proc = subprocess.run([str(ANSIBLE_DOC), "-M", str(module_dir), "--json", name], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=120, check=False)
    try:
        entry = json.loads(proc.stdout).get(name) if proc.returncode == 0 else None
    except json.JSONDecodeError:
        entry = None
    return proc.returncode, entry, proc.stderr


def _same(left, right) -> bool:
    """Equal and of the same type (so ``False`` is not ``0`` and ``"1"`` is not ``1``)."""
    return type(left) is type(right) and left == right


def _description_ok(value) -> bool:
    if isinstance(value, str):
        return bool(value.strip())
    return isinstance(value, list) and bool(value) and all(
        isinstance(line, str) and line.strip() for line in value)


def option_problems(documented: dict, spec: dict, where: str, consumed: set = frozenset(),
                    required: set = frozenset()) -> list:
    """Compare documented options with an argument spec.

    :param documented: ``options`` (or ``suboptions``) as ansible-doc parsed them.
    :param spec: the argument spec (``options`` for suboptions).
    :param where: prefix of the messages.
    :param consumed: names the action takes itself and that are not in ``spec``: for those only
        presence, a type and ``required`` (from ``required``) are checked.
    :param required: the action's required names among ``consumed``.
    :returns: one message per difference.
    """
    problems = []
    documented = documented or {}
    for name in sorted(set(documented) | set(spec) | set(consumed)):
        doc = documented.get(name)
        label = f"{where}{name}"
        if doc is None:
            problems.append(f"{label}: accepted by the code but not documented")
            continue
        if not isinstance(doc, dict):
            problems.append(f"{label}: documented as {doc!r}, not a mapping")
            continue
        if unknown := set(doc) - OPTION_KEYS:
            problems.append(f"{label}: unknown documentation key(s) {sorted(unknown)}")
        if not _description_ok(doc.get("description")):
            problems.append(f"{label}: no description")
        if doc.get("type", "str") not in TYPES:
            problems.append(f"{label}: unknown type {doc.get('type')!r}")
        if name in consumed:
            if "type" not in doc:
                problems.append(f"{label}: no type")
            if bool(doc.get("required", False)) != (name in required):
                problems.append(f"{label}: documented required={doc.get('required', False)}, "
                                f"the action {'requires' if name in required else 'does not require'} it")
            continue
        if name not in spec:
            problems.append(f"{label}: documented but not in the argument spec")
            continue
        want = spec[name]
        for key, implicit in IMPLICIT.items():
            got_value, want_value = doc.get(key, implicit), want.get(key, implicit)
            if key == "aliases" and got_value is not None and want_value is not None:
                got_value, want_value = sorted(got_value), sorted(want_value)
            if not _same(got_value, want_value):
                problems.append(f"{label}: documented {key}={got_value!r}, "
                                f"argument spec {key}={want_value!r}")
        if want.get("options") or doc.get("suboptions"):
            problems += option_problems(doc.get("suboptions") or {}, want.get("options") or {},
                                        f"{label}.")
    return problems


def return_problems(entries, where: str = "RETURN ") -> list:
    """Check RETURN (or a ``contains``) as ansible-doc parsed it."""
    if not isinstance(entries, dict):
        return [f"{where}is {type(entries).__name__}, not a mapping"]
    problems = []
    for name, entry in sorted(entries.items()):
        label = f"{where}{name}"
        if not isinstance(entry, dict):
            problems.append(f"{label}: {entry!r} is not a mapping")
            continue
        if unknown := set(entry) - RETURN_KEYS:
            problems.append(f"{label}: unknown key(s) {sorted(unknown)} (a comma in a flow mapping?)")
        if not _description_ok(entry.get("description")):
            problems.append(f"{label}: no description")
        if not entry.get("returned"):
            problems.append(f"{label}: no 'returned'")
        if entry.get("type") not in TYPES | {"complex", "any"}:
            problems.append(f"{label}: type {entry.get('type')!r} is not a return type")
        if entry.get("type") == "list" and "elements" not in entry:
            problems.append(f"{label}: a list without 'elements'")
        if "contains" in entry:
            problems += return_problems(entry["contains"], f"{label}.")
    return problems


def example_problems(name: str, text: str, options: dict) -> list:
    """EXAMPLES: a YAML list of tasks calling the module with documented options only."""
    try:
        tasks = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        return [f"EXAMPLES is not valid YAML: {exc}"]
    if not isinstance(tasks, list) or not tasks:
        return ["EXAMPLES is not a non-empty list of tasks"]
    problems = []
    required = {key for key, value in options.items() if value.get("required")}
    for index, task in enumerate(tasks, 1):
        calls = [key for key in (task if isinstance(task, dict) else {})
                 if key == name or key.endswith(f".{name}")]
        if not calls:
            problems.append(f"EXAMPLES task {index} does not use {name}")
            continue
        args = task[calls[0]]
        if not isinstance(args, dict):
            problems.append(f"EXAMPLES task {index}: arguments are not a mapping")
            continue
        if unknown := set(args) - set(options):
            problems.append(f"EXAMPLES task {index}: undocumented option(s) {sorted(unknown)}")
        if missing := required - set(args):
            problems.append(f"EXAMPLES task {index}: required option(s) {sorted(missing)} missing")
    return problems


def doc_problems(name: str, module_dir: Path = MODULE_DIR, action_dir: Path = ACTION_DIR) -> list:
    """Everything wrong with a module's documentation (empty when it documents itself).

    :param name: module name (``<module_dir>/<name>.py``).
    :param module_dir: where the module is.
    :param action_dir: where an action plugin of the same name would be.
    :returns: human-readable problems.
    """
    code, entry, stderr = ansible_doc(name, module_dir)
    problems = []
    if code != 0:
        problems.append(f"ansible-doc exited {code}")
    for line in stderr.splitlines():
        if "WARNING" in line or "ERROR" in line:
            problems.append(f"ansible-doc: {line.strip()}")
    if entry is None:
        return problems + ["ansible-doc returned no documentation"]
    doc = entry.get("doc") or {}
    options = doc.get("options") or {}

    action_path = action_dir / f"{name}.py"
    interface = module_interface(module_dir / f"{name}.py")
    module_spec = (interface or {}).get("argument_spec", {})
    check_mode = bool((interface or {}).get("supports_check_mode", False))
    if action_path.is_file():
        action = action_interface(action_path)
        check_mode = check_mode if interface else bool(action["check_mode"])
        if "spec" in action:
            problems += option_problems(options, action["spec"], "option ")
        else:
            forwarded = {key: value for key, value in module_spec.items() if key in action["args"]}
            consumed = action["args"] - set(forwarded)
            problems += option_problems(options, forwarded, "option ", consumed,
                                        action["required"] & consumed)
    elif interface is None:
        problems.append(f"{name}.py has no main() and no action plugin: nothing to compare with")
    else:
        problems += option_problems(options, module_spec, "option ")

    support = ((doc.get("attributes") or {}).get("check_mode") or {}).get("support")
    if support is None:
        problems.append("attributes.check_mode is not documented")
    elif (support != "none") != check_mode:
        problems.append(f"attributes.check_mode.support is {support!r} but the code "
                        f"{'supports' if check_mode else 'does not support'} check mode")

    problems += example_problems(name, entry.get("examples") or "", options)
    if entry.get("return") is None:
        problems.append("RETURN is missing")
    else:
        problems += return_problems(entry["return"])
    return problems


@pytest.mark.parametrize("name", MODULES)
def test_module_documents_itself(name):
    problems = doc_problems(name)
    assert not problems, f"{name}:\n  " + "\n  ".join(problems)


def test_every_module_is_covered():
    assert ANSIBLE_DOC.is_file(), f"{ANSIBLE_DOC} is missing (scripts/bootstrap installs it)"
    assert "nuagerie_nextcloud_spaces" in MODULES and len(MODULES) >= 6


# --- negative controls: the checks above do fail -------------------------------------------------

GOOD_MODULE = '''
DOCUMENTATION = r"""
---
module: {name}
short_description: A module for the documentation check
description: Only for tests.
options:
  path:
    description: A path.
    type: path
    required: true
  count:
    description: How many.
    type: int
    default: 1
attributes:
  check_mode:
    support: full
author: Nuagerie
"""

EXAMPLES = r"""
- name: Use it
  {name}:
    path: /tmp
"""

RETURN = r"""
items: {{description: The items., type: list, elements: str, returned: always}}
"""

from ansible.module_utils.basic import AnsibleModule


def main():
    module = AnsibleModule(argument_spec={{"path": {{"type": "path", "required": True}},
                                          {extra_option}
                                          "count": {{"type": "int", "default": 1}}}},
                           supports_check_mode=True)
    module.exit_json(items=[])
'''


def _write_module(tmp_path: Path, name: str, text: str) -> Path:
    directory = tmp_path / "modules"
    directory.mkdir(exist_ok=True)
    (directory / f"{name}.py").write_text(text, encoding="utf-8")
    return directory


def test_control_good_module_passes(tmp_path):
    name = "nuagerie_doc_check_good"
    directory = _write_module(tmp_path, name, GOOD_MODULE.format(name=name, extra_option=""))
    assert doc_problems(name, directory, tmp_path / "no-actions") == []


def test_control_broken_documentation_yaml_is_reported(tmp_path):
    name = "nuagerie_doc_check_broken_yaml"
    text = GOOD_MODULE.format(name=name, extra_option="").replace(
        "description: Only for tests.", "description: Only: for tests: [broken")
    directory = _write_module(tmp_path, name, text)
    problems = doc_problems(name, directory, tmp_path / "no-actions")
    assert any(problem.startswith("ansible-doc exited") for problem in problems), problems
    assert any("ERROR" in problem for problem in problems), problems


def test_control_broken_return_yaml_is_reported(tmp_path):
    name = "nuagerie_doc_check_broken_return"
    text = GOOD_MODULE.format(name=name, extra_option="").replace(
        "{description: The items., type: list",
        'description: slug -> "step (exit code): output"\n  type: list\nx: {a: b')
    directory = _write_module(tmp_path, name, text)
    assert doc_problems(name, directory, tmp_path / "no-actions")


def test_control_undocumented_option_and_comma_are_reported(tmp_path):
    name = "nuagerie_doc_check_mismatch"
    text = GOOD_MODULE.format(name=name, extra_option='"mode": {"type": "str", "default": "a"},')
    text = text.replace("default: 1\n", "default: 2\n").replace("The items.", "The items, all.")
    directory = _write_module(tmp_path, name, text)
    problems = doc_problems(name, directory, tmp_path / "no-actions")
    assert "option mode: accepted by the code but not documented" in problems, problems
    assert "option count: documented default=2, argument spec default=1" in problems, problems
    assert any(problem.startswith("RETURN items: unknown key(s)") for problem in problems), problems


def test_control_action_arguments_are_checked(tmp_path):
    """An action that accepts an option its module's DOCUMENTATION does not list is reported."""
    name = "nuagerie_doc_check_action"
    directory = _write_module(tmp_path, name, GOOD_MODULE.format(name=name, extra_option=""))
    actions = tmp_path / "actions"
    actions.mkdir()
    (actions / f"{name}.py").write_text(
        "from ansible.errors import AnsibleActionFail\n"
        "from ansible.plugins.action import ActionBase\n\n\n"
        "class ActionModule(ActionBase):\n"
        "    _VALID_ARGS = frozenset(('kind', 'path', 'count'))\n\n"
        "    def run(self, tmp=None, task_vars=None):\n"
        "        result = super().run(tmp, task_vars)\n"
        "        for required in ('kind', 'path'):\n"
        "            if required not in self._task.args:\n"
        "                raise AnsibleActionFail(f'{required!r} is required')\n"
        "        raise AnsibleActionFail('stop')\n",
        encoding="utf-8")
    problems = doc_problems(name, directory, actions)
    assert problems == ["option kind: accepted by the code but not documented"], problems
