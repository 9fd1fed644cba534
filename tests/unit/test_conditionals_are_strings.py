"""Every conditional in the repository's tasks is a string once YAML has parsed it.

A plain YAML scalar holding ``: `` is a mapping, not an expression: ``- x == 'a: b'`` in an
assert's ``that`` list parses as ``{"x == 'a": "b'"}``, and Ansible refuses it only when the
task runs ("Conditional expressions must be strings"), after a long converge. ansible-lint does
not see it. This finds it in every task file, playbook and molecule file at once.
"""
from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
CONDITION_KEYS = ("when", "until", "changed_when", "failed_when")
TASK_LIST_KEYS = ("tasks", "pre_tasks", "post_tasks", "handlers", "block", "rescue", "always")
ASSERT_MODULES = ("ansible.builtin.assert", "assert")


def non_string_conditions(tasks: object, where: str) -> list[str]:
    """Return ``where: task name: condition`` for each condition of ``tasks`` that is not a string.

    ``tasks`` is a parsed YAML document: a list of plays or tasks, walked through every nested
    task list (blocks, play sections). Booleans are allowed (``changed_when: false``).
    """
    found: list[str] = []
    for task in tasks if isinstance(tasks, list) else []:
        if not isinstance(task, dict):
            continue
        for key in TASK_LIST_KEYS:
            found += non_string_conditions(task.get(key), where)
        conditions: list[object] = []
        for key in CONDITION_KEYS:
            value = task.get(key)
            conditions += value if isinstance(value, list) else [] if value is None else [value]
        for module in ASSERT_MODULES:
            if isinstance(task.get(module), dict):
                that = task[module].get("that")
                conditions += that if isinstance(that, list) else [that]
        found += [f"{where}: {task.get('name', '?')}: {condition!r}"
                  for condition in conditions if not isinstance(condition, (str, bool))]
    return found


def yaml_files() -> list[Path]:
    """The project's own YAML: playbooks, roles, molecule scenarios, benchmarks, drills."""
    return sorted(path for top in ("playbooks", "roles", "molecule", "benchmarks", "lab")
                  for path in (ROOT / top).rglob("*.yml") if ".venv" not in path.parts)


def test_yaml_files_are_found() -> None:
    names = {path.name for path in yaml_files()}
    assert {"site.yml", "verify-s3-failover.yml", "main.yml"} <= names


def test_every_conditional_is_a_string() -> None:
    found: list[str] = []
    for path in yaml_files():
        document = yaml.safe_load(path.read_text())
        found += non_string_conditions(document, str(path.relative_to(ROOT)))
    assert found == []


def test_a_condition_with_an_unquoted_colon_is_found() -> None:
    document = yaml.safe_load("""
- name: a play
  hosts: all
  tasks:
    - name: broken
      ansible.builtin.assert:
        that:
          - result.stdout == 'uploads: 200'
          - "result.stdout == 'uploads: 200'"
    - name: in a block
      block:
        - name: broken when
          ansible.builtin.command: "true"
          when:
            - x == 'a: b'
          changed_when: false
""")
    assert non_string_conditions(document, "f.yml") == [
        "f.yml: broken: {\"result.stdout == 'uploads\": \"200'\"}",
        "f.yml: broken when: {\"x == 'a\": \"b'\"}",
    ]
