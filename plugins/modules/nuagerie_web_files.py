#!/usr/bin/python
"""Module ``nuagerie_web_files``: converge a whole set of files, directories and links at once.

The host side of the ``nuagerie_web_files`` action (``plugins/action/nuagerie_web_files.py``),
which renders the entries on the controller and ships them as one gzipped JSON bundle.
"""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: nuagerie_web_files
short_description: Render and converge one kind of per-space web file for every space at once (set-based)
description:
  - Used as a task, this runs the C(nuagerie_web_files) action plugin (C(plugins/action/)). On the
    controller, the action consumes O(kind), O(spaces), O(settings), O(master_key), O(hosts) and
    O(extra) - it renders every entry of O(kind) for all O(spaces) (filter
    C(filter_plugins/nuagerie_nextcloud.py), C(web_bundle)), appends O(extra) and ships them as one
    gzipped JSON bundle. On the host, this module converges the bundle under O(root) with O(prune)
    and O(validate); the bundle's path is set by the action, not by the task. 10,000 spaces are one
    transfer and one module run, never a loop.
  - An entry has C(path), C(type) (C(file), C(directory), C(link) or C(absent)), C(content) or
    C(src), C(mode), C(owner), C(group). The host is made to match, touching only what differs.
  - An entry of C(type) absent removes that path, a whole tree if it is a directory (moved
    aside first, deleted only once validation passed, so a rollback restores it).
  - Files are replaced atomically (temporary file + rename). Entries matching O(prune) under
    O(root) that are not in the bundle are removed.
  - When something changed and O(validate) is given, the command runs; if it fails, every change
    is rolled back and the task fails with the command's output.
  - File contents (they carry secrets) are never part of the result.
options:
  kind:
    description:
      - What to render for every space (consumed by the action on the controller) -
        C(config) (each space's directory tree, C(config/*.config.php), C(data/.ncdata) and
        release link; an absent space's whole directory is removed), C(pools) (one php-fpm pool
        per served space), C(nginx) (one C(spaces.map)), C(timers) (the C(nc-cron@<slug>.timer)
        links of the active spaces whose cron runs on this host).
    type: str
    required: true
    choices: [config, pools, nginx, timers]
  spaces:
    description: The space records (consumed by the action on the controller).
    type: list
    elements: dict
    required: true
  settings:
    description:
      - The web settings of the role (web user and group, paths, PHP and nginx settings;
        consumed by the action on the controller).
    type: dict
    required: true
  master_key:
    description:
      - The farm master key, from which each space's secrets derive (consumed by the action on
        the controller; needed by O(kind=config) only).
    type: str
  hosts:
    description:
      - Inventory names of every web host (consumed by the action on the controller; needed by
        O(kind=timers) only). Each space's cron runs on one of them; this host is
        C(inventory_hostname).
    type: list
    elements: str
  extra:
    description:
      - More entries (same format as the rendered ones, e.g. a role template), converged and
        validated together with them (consumed by the action on the controller).
    type: list
    elements: dict
  root:
    description: Base of relative entry paths, and where O(prune) looks (passed to the module).
    type: path
    required: true
  prune:
    description:
      - Glob (relative to O(root)) of managed names; matches not in the bundle are removed
        (passed to the module).
    type: str
    default: ""
  validate:
    description:
      - Command (argv list) run after changes; a failure rolls every change back (passed to the
        module).
    type: list
    elements: str
    default: []
attributes:
  check_mode:
    support: full
    details: Reports what would change, changes nothing.
  diff_mode:
    support: none
author: Nuagerie
"""

EXAMPLES = r"""
- name: pools | Converge every space's pool
  nuagerie_web_files:
    kind: pools
    spaces: "{{ nuagerie_spaces }}"
    settings: "{{ __php_fpm_settings }}"
    root: /etc/php/8.2/fpm/pool.d
    prune: "nc-*.conf"
    validate: [php-fpm8.2, -t]

- name: configure | Converge every space's directories and config files
  nuagerie_web_files:
    kind: config
    spaces: "{{ nuagerie_spaces }}"
    settings: "{{ __nextcloud_settings }}"
    master_key: "{{ nextcloud_master_key }}"
    root: "{{ nextcloud_spaces_root }}"

- name: service | Link the cron timers of the spaces this host runs
  nuagerie_web_files:
    kind: timers
    spaces: "{{ nuagerie_spaces }}"
    settings: "{{ __nextcloud_settings }}"
    hosts: "{{ groups['web'] }}"
    root: /etc/systemd/system/timers.target.wants
    prune: nc-cron@*.timer
"""

RETURN = r"""
entries:
  description: Number of entries in the bundle (rendered plus O(extra)).
  type: int
  returned: when the module ran
changed_count:
  description: Number of entries created, changed or removed.
  type: int
  returned: success
changed_paths:
  description: The first 100 changed paths.
  type: list
  elements: str
  returned: success, and when O(validate) failed (the changes rolled back)
added:
  description: Paths (as given in the bundle) created or changed.
  type: list
  elements: str
  returned: success
removed:
  description: Pruned paths, relative to O(root), and the paths of absent entries removed.
  type: list
  elements: str
  returned: success
"""

import glob
import grp
import gzip
import json
import os
import pwd
import shutil
import subprocess
import tempfile

from ansible.module_utils.basic import AnsibleModule


class Converger:
    """Applies entries, remembering how to undo each change."""

    def __init__(self, root: str, check: bool):
        self.root = root
        self.check = check
        self.undo: list = []
        self.changed: list = []
        self.added: list = []
        self.removed: list = []
        self.trash: list = []
        self._uids: dict = {}
        self._gids: dict = {}

    def path(self, entry_path: str) -> str:
        return entry_path if entry_path.startswith("/") else os.path.join(self.root, entry_path)

    # An owner or group is a name, or a number (the spaces' own users: numbers need no lookup,
    # which would scan /etc/passwd once per space, and work in check mode before they exist).
    def uid(self, name: str | int) -> int:
        if isinstance(name, int) or name.isdigit():
            return int(name)
        if name not in self._uids:
            self._uids[name] = pwd.getpwnam(name).pw_uid
        return self._uids[name]

    def gid(self, name: str | int) -> int:
        if isinstance(name, int) or name.isdigit():
            return int(name)
        if name not in self._gids:
            self._gids[name] = grp.getgrnam(name).gr_gid
        return self._gids[name]

    def _note(self, entry_path: str) -> None:
        self.changed.append(entry_path)
        self.added.append(entry_path)

    def directory(self, entry: dict) -> None:
        path = self.path(entry["path"])
        mode = int(entry.get("mode", "0755"), 8)
        uid, gid = self.uid(entry.get("owner", "root")), self.gid(entry.get("group", "root"))
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            st = None
        if st is not None and (st.st_mode & 0o7777) == mode and st.st_uid == uid and st.st_gid == gid:
            return
        self._note(entry["path"])
        if self.check:
            return
        if st is None:
            os.mkdir(path, mode)
            self.undo.append(("rmdir", path))
        else:
            self.undo.append(("attrs", path, st.st_mode & 0o7777, st.st_uid, st.st_gid))
        os.chown(path, uid, gid)
        os.chmod(path, mode)

    def link(self, entry: dict) -> None:
        path = self.path(entry["path"])
        try:
            current = os.readlink(path)
        except FileNotFoundError:
            current = None
        except OSError:  # exists, not a link
            current = False
        if current == entry["src"]:
            return
        self._note(entry["path"])
        if self.check:
            return
        self._save(path)
        tmp = f"{path}.nuagerie-tmp"
        if os.path.lexists(tmp):
            os.unlink(tmp)
        os.symlink(entry["src"], tmp)
        os.replace(tmp, path)

    def file(self, entry: dict) -> None:
        path = self.path(entry["path"])
        data = entry["content"].encode("utf-8")
        mode = int(entry.get("mode", "0644"), 8)
        uid, gid = self.uid(entry.get("owner", "root")), self.gid(entry.get("group", "root"))
        try:
            st = os.lstat(path)
            same = (not os.path.islink(path) and st.st_size == len(data)
                    and (st.st_mode & 0o7777) == mode and st.st_uid == uid and st.st_gid == gid)
            if same:
                with open(path, "rb") as handle:
                    same = handle.read() == data
        except FileNotFoundError:
            same = False
        if same:
            return
        self._note(entry["path"])
        if self.check:
            return
        self._save(path)
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".nuagerie-")
        try:
            os.write(fd, data)
            os.fchown(fd, uid, gid)
            os.fchmod(fd, mode)
        finally:
            os.close(fd)
        os.replace(tmp, path)

    def absent(self, entry: dict) -> None:
        path = self.path(entry["path"])
        if not os.path.lexists(path):
            return
        self.changed.append(entry["path"])
        self.removed.append(entry["path"])
        if self.check:
            return
        aside = f"{path}.nuagerie-removing"
        if os.path.lexists(aside):
            shutil.rmtree(aside) if os.path.isdir(aside) and not os.path.islink(aside) else os.unlink(aside)
        os.rename(path, aside)
        self.undo.append(("moved", aside, path))
        self.trash.append(aside)

    def empty_trash(self) -> None:
        """Delete what absent entries moved aside (after validation passed)."""
        for aside in self.trash:
            if os.path.isdir(aside) and not os.path.islink(aside):
                shutil.rmtree(aside)
            elif os.path.lexists(aside):
                os.unlink(aside)
        self.trash = []

    def _save(self, path: str) -> None:
        """Remember what ``path`` was (file bytes + attributes, link target, or nothing)."""
        if os.path.islink(path):
            self.undo.append(("link", path, os.readlink(path)))
        elif os.path.isfile(path):
            st = os.stat(path)
            with open(path, "rb") as handle:
                self.undo.append(("file", path, handle.read(), st.st_mode & 0o7777, st.st_uid, st.st_gid))
        else:
            self.undo.append(("absent", path))

    def prune(self, pattern: str, keep: set) -> None:
        for path in sorted(glob.glob(os.path.join(self.root, pattern))):
            if path in keep or os.path.isdir(path) and not os.path.islink(path):
                continue
            relative = os.path.relpath(path, self.root)
            self.changed.append(relative)
            self.removed.append(relative)
            if not self.check:
                self._save(path)
                os.unlink(path)

    def rollback(self) -> None:
        for step in reversed(self.undo):
            kind, path = step[0], step[1]
            if kind == "rmdir":
                os.rmdir(path)
            elif kind == "moved":
                os.rename(path, step[2])
            elif kind == "attrs":
                os.chown(path, step[3], step[4])
                os.chmod(path, step[2])
            elif kind == "absent":
                if os.path.lexists(path):
                    os.unlink(path)
            elif kind == "link":
                if os.path.lexists(path):
                    os.unlink(path)
                os.symlink(step[2], path)
            elif kind == "file":
                if os.path.lexists(path):
                    os.unlink(path)
                with open(path, "wb") as handle:
                    handle.write(step[2])
                os.chown(path, step[4], step[5])
                os.chmod(path, step[3])


def converge(entries: list, root: str, prune: str, check: bool) -> Converger:
    """Apply ``entries`` under ``root`` (see the module documentation).

    :returns: the converger, with the changes and the undo log.
    """
    work = Converger(root, check)
    handlers = {"directory": work.directory, "link": work.link, "file": work.file,
                "absent": work.absent}
    for entry in entries:
        handlers[entry["type"]](entry)
    if prune:
        work.prune(prune, {work.path(entry["path"]) for entry in entries})
    return work


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "bundle": {"type": "path", "required": True},
            "root": {"type": "path", "required": True},
            "prune": {"type": "str", "default": ""},
            "validate": {"type": "list", "elements": "str", "default": []},
        },
        supports_check_mode=True,
    )
    params = module.params
    with gzip.open(params["bundle"], "rt", encoding="utf-8") as handle:
        entries = json.load(handle)
    if not os.path.isdir(params["root"]):
        if module.check_mode:
            module.exit_json(changed=True, changed_count=len(entries), added=[e["path"] for e in entries],
                             removed=[], changed_paths=[params["root"]])
        os.makedirs(params["root"], 0o755)
    try:
        work = converge(entries, params["root"], params["prune"], module.check_mode)
    except (OSError, KeyError) as exc:
        module.fail_json(msg=f"nuagerie_web_files: {exc}")
    if work.changed and params["validate"] and not module.check_mode:
        proc = subprocess.run(params["validate"], capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            work.rollback()
            module.fail_json(msg=f"validation {' '.join(params['validate'])} failed; every change "
                                 f"was rolled back: {proc.stderr.strip() or proc.stdout.strip()}",
                             changed_paths=work.changed[:100])
    work.empty_trash()
    module.exit_json(changed=bool(work.changed), changed_count=len(work.changed),
                     changed_paths=work.changed[:100], added=work.added, removed=work.removed)


if __name__ == "__main__":
    main()
