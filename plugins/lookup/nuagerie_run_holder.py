"""Lookup ``nuagerie_run_holder``: who this run is, and whether a recorded run still runs.

The occ host's run lock (``plugins/modules/nuagerie_run_lock.py``, ``roles/nextcloud/tasks/run-lock.yml``)
records the run holding it. Only the controller knows its own processes, so naming this run and
telling whether a recorded holder is still alive are done here, on the controller.
"""

from __future__ import annotations

DOCUMENTATION = r"""
---
name: nuagerie_run_holder
short_description: This run's holder record, or whether a recorded holder still runs
description:
  - Without terms, returns this run's holder record - C(run_id) (C(<controller>:<pid>:<start>)),
    C(user), C(controller) (host name), C(pid) and C(pid_start) of the ansible-playbook process
    (the topmost ancestor with the same command line, as workers are forks of it), C(started_at)
    (that process's start, UTC), C(command) (C($NUAGERIE_RUN_COMMAND) when the C(nuagerie) CLI
    runs the playbook, else the ansible-playbook command line, at most 300 characters).
  - With the term C(alive) and O(record), returns whether that holder still runs - C(true),
    C(false) (its pid is gone, or was reused by a process started later), or C(none) when it was
    recorded on another controller (nobody here can tell).
options:
  _terms:
    description: Nothing, or C(alive).
    required: false
  record:
    description: A holder record (with C(alive)).
    type: dict
"""

EXAMPLES = r"""
- name: Name this run
  ansible.builtin.set_fact:
    holder: "{{ query('nuagerie_run_holder') | first }}"

- name: Whether the recorded holder still runs
  ansible.builtin.debug:
    msg: "{{ query('nuagerie_run_holder', 'alive', record=held) | first }}"
"""

RETURN = r"""
_raw:
  description: One element - the holder record, or true/false/none.
  type: list
"""

import datetime
import getpass
import os
import socket

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase

PROC = "/proc"


def _cmdline(pid: int) -> str:
    try:
        with open(f"{PROC}/{pid}/cmdline", "rb") as handle:
            return handle.read().replace(b"\0", b" ").decode("utf-8", "replace").strip()
    except OSError:
        return ""


def _stat(pid: int) -> list:
    try:
        with open(f"{PROC}/{pid}/stat", encoding="utf-8") as handle:
            return handle.read().rpartition(")")[2].split()
    except OSError:
        return []


def process_start(pid: int) -> int | None:
    """Start of a process in clock ticks since boot (field 22 of ``/proc/<pid>/stat``)."""
    fields = _stat(pid)
    return int(fields[19]) if len(fields) > 19 and fields[19].isdigit() else None


def _parent(pid: int) -> int:
    fields = _stat(pid)
    return int(fields[1]) if len(fields) > 1 and fields[1].isdigit() else 0


def playbook_process(pid: int | None = None) -> int:
    """The ansible-playbook process: the topmost ancestor (or self) with the same command line."""
    pid = pid or os.getpid()
    own = _cmdline(pid)
    while True:
        parent = _parent(pid)
        if parent <= 1 or _cmdline(parent) != own:
            return pid
        pid = parent


def _boot_time() -> float:
    try:
        with open(f"{PROC}/stat", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("btime "):
                    return float(line.split()[1])
    except OSError:
        pass
    return 0.0


def holder(environ: dict | None = None) -> dict:
    """This run's holder record (see the documentation)."""
    environ = os.environ if environ is None else environ
    pid = playbook_process()
    start = process_start(pid)
    started = _boot_time() + (start or 0) / os.sysconf("SC_CLK_TCK")
    controller = socket.gethostname()
    command = environ.get("NUAGERIE_RUN_COMMAND") or _cmdline(pid)
    return {
        "run_id": f"{controller}:{pid}:{start}",
        "user": getpass.getuser(),
        "controller": controller,
        "pid": pid,
        "pid_start": start,
        "started_at": datetime.datetime.fromtimestamp(started, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "command": command[:300],
    }


def alive(record: dict, this_controller: str | None = None) -> bool | None:
    """Whether a recorded holder still runs (``None``: recorded on another controller)."""
    if record.get("controller") != (this_controller or socket.gethostname()):
        return None
    pid = int(record.get("pid") or 0)
    if pid <= 0 or not os.path.exists(f"{PROC}/{pid}"):
        return False
    recorded = record.get("pid_start")
    return recorded is None or process_start(pid) == int(recorded)


class LookupModule(LookupBase):
    """See DOCUMENTATION."""

    def run(self, terms, variables=None, **kwargs):
        if not terms:
            return [holder()]
        if list(terms) == ["alive"]:
            record = kwargs.get("record")
            if not isinstance(record, dict):
                raise AnsibleLookupError("nuagerie_run_holder alive: record= must be a holder record")
            return [alive(record)]
        raise AnsibleLookupError(f"nuagerie_run_holder: unknown terms {terms!r} (none, or 'alive')")
