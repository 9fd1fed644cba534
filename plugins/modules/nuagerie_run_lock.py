#!/usr/bin/python
"""Module ``nuagerie_run_lock``: one run at a time, guarded on the occ host.

Taken by ``roles/nextcloud/tasks/run-lock.yml`` (site.yml, spaces.yml, spaces-occ.yml,
spaces-drift.yml), so plain ansible-playbook, another controller, AWX and the ``nuagerie`` CLI
are all guarded by the same file.
"""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: nuagerie_run_lock
short_description: Take or give back the farm's run lock (a file holding the holder's record)
description:
  - O(state=present) creates O(path) atomically (a temporary file hard-linked to the name, which
    fails when it exists) holding O(holder) as JSON. When the file exists and holds another run,
    nothing changes and the result says C(acquired=false) with the record in C(held); the caller
    decides (the controller alone can tell whether that holder still runs). When it holds this
    run (same C(run_id)), C(acquired=true).
  - O(break_run) equal to the recorded C(run_id) removes that lock first (the operator's explicit
    decision after a run died half-way); any other value breaks nothing.
  - O(state=absent) removes O(path) only when it holds this run; another run's lock is left alone.
  - The lock is bookkeeping, also taken in check mode, so a plan does not read a farm a run is
    changing.
options:
  path:
    description: The lock file.
    type: path
    default: /var/lib/nuagerie/run.lock
  state:
    description: C(present) takes the lock, C(absent) gives it back.
    type: str
    choices: [present, absent]
    default: present
  holder:
    description: This run's record (lookup C(nuagerie_run_holder)); C(run_id) identifies it.
    type: dict
    required: true
  break_run:
    description: C(run_id) of a lock to remove before taking it ("" = none).
    type: str
    default: ""
attributes:
  check_mode:
    support: full
    details: Takes and gives back the lock in check mode too (bookkeeping, not a change of the farm).
  diff_mode:
    support: none
author: Nuagerie
"""

EXAMPLES = r"""
- name: run-lock | Take the run lock on the occ host
  nuagerie_run_lock:
    holder: "{{ query('nuagerie_run_holder') | first }}"
  delegate_to: web1
"""

RETURN = r"""
acquired:
  description: Whether this run holds the lock (O(state=present)).
  type: bool
  returned: always
held:
  description: The record of the run holding the lock, when it is another run.
  type: dict
  returned: when another run holds it
broken:
  description: The record removed by O(break_run).
  type: dict
  returned: when a lock was broken
released:
  description: Whether O(state=absent) removed this run's lock.
  type: bool
  returned: always
"""

import json
import os
import tempfile

from ansible.module_utils.basic import AnsibleModule


def read(path: str) -> dict | None:
    """The record in the lock file, ``None`` when there is none (unreadable: a placeholder)."""
    try:
        with open(path, encoding="utf-8") as handle:
            record = json.load(handle)
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        return {"run_id": "", "unreadable": str(exc)}
    return record if isinstance(record, dict) else {"run_id": "", "unreadable": "not a JSON object"}


def take(path: str, holder: dict) -> bool:
    """Create the lock atomically; false when it exists."""
    directory = os.path.dirname(path) or "."
    os.makedirs(directory, 0o755, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".run-lock-")
    try:
        os.write(fd, (json.dumps(holder, sort_keys=True) + "\n").encode("utf-8"))
        os.fchmod(fd, 0o644)
        os.close(fd)
        try:
            os.link(tmp, path)
        except FileExistsError:
            return False
        return True
    finally:
        os.unlink(tmp)


def run(params: dict) -> dict:
    """Take or give back the lock (see the documentation)."""
    path, holder = params["path"], params["holder"]
    mine = str(holder.get("run_id") or "")
    if not mine:
        raise ValueError("holder.run_id is empty")
    result: dict = {"changed": False, "acquired": False, "released": False}
    current = read(path)
    if params["state"] == "absent":
        if current is not None and current.get("run_id") == mine:
            os.unlink(path)
            result["released"] = True
        elif current is not None:
            result["held"] = current
        return result
    if current is not None and params["break_run"] and current.get("run_id") == params["break_run"]:
        os.unlink(path)
        result["broken"] = current
        current = None
    if current is not None and current.get("run_id") == mine:
        result["acquired"] = True
        return result
    if take(path, holder):
        result["acquired"] = True
        return result
    result["held"] = read(path) or {"run_id": "", "unreadable": "vanished"}
    return result


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "path": {"type": "path", "default": "/var/lib/nuagerie/run.lock"},
            "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
            "holder": {"type": "dict", "required": True},
            "break_run": {"type": "str", "default": ""},
        },
        supports_check_mode=True,
    )
    try:
        module.exit_json(**run(module.params))
    except (OSError, ValueError) as exc:
        module.fail_json(msg=f"nuagerie_run_lock: {exc}")


if __name__ == "__main__":
    main()
