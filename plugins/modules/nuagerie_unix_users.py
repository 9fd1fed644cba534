#!/usr/bin/python
"""Module ``nuagerie_unix_users``: every space's Unix user and group on a frontend, in one task.

Issue 18: one Unix user per space (its pool, occ and background jobs run as it). 10,000 users
are converged by rewriting the account files once (``/etc/passwd``, ``/etc/group``,
``/etc/shadow``, ``/etc/gshadow``, atomically, under the account files' lock), never by one
``useradd`` per space: each ``useradd`` rewrites the whole file, which is quadratic at that scale.
"""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: nuagerie_unix_users
short_description: Converge the spaces' Unix users and groups, and the ownership of their dirs
description:
  - Makes the entries of O(users) exist with exactly their name, UID = GID, home and no login
    (shell C(/usr/sbin/nologin), locked password), each with its own group of the same name and
    number, all members of O(shared_group) (created as a system group when missing), which
    reads the farm-wide config file.
  - Entries whose UID (or GID) lies in the managed range O(uid_min) .. O(uid_min) + O(uid_count)
    - 1 belong to this module. One that no space wants any more is removed only with O(prune)
    and only once its home (the space's dir) is gone, so a removed space loses its user after its
    files; one whose home is still there is kept and listed in C(kept).
  - A wanted name that exists outside the range (a user that is not a space's) fails the task,
    naming it; nothing is written.
  - O(owned_dirs) names the dirs under each user's home that the user must own (config, data,
    tmp, sessions). A dir owned by anyone else (a farm whose pools ran as www-data) gets
    everything below it, then itself, given to the space's user and group; a dir already owned
    right (by owner) is not walked; a missing one is skipped (the caller creates it and sets
    each dir's own group and mode).
  - The account files are rewritten only when they differ, each atomically, under C(lckpwdf()).
options:
  users:
    description: The wanted users, each C({name, uid, home}).
    type: list
    elements: dict
    required: true
  shared_group:
    description: Supplementary group of every space user ("" = none).
    type: str
    default: ""
  uid_min:
    description: First UID of the managed range.
    type: int
    required: true
  uid_count:
    description: Size of the managed range.
    type: int
    required: true
  prune:
    description: Remove managed users (and groups) no entry of O(users) wants, once their home is gone.
    type: bool
    default: false
  owned_dirs:
    description: Dirs under each user's home it owns, with everything below them.
    type: list
    elements: str
    default: []
  files_dir:
    description: Where the account files are (tests only).
    type: path
    default: /etc
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
author: Nuagerie
"""

EXAMPLES = r"""
- name: unix-users | Converge every space's Unix user
  nuagerie_unix_users:
    users: [{name: nc-asso-velo, uid: 1234567890, home: /srv/nextcloud/spaces/asso-velo}]
    shared_group: nc-spaces
    uid_min: 1073741824
    uid_count: 805306368
    owned_dirs: [config, data, tmp, sessions]
"""

RETURN = r"""
added:
  description: Users created.
  type: list
  elements: str
  returned: always
removed:
  description: Users removed (prune).
  type: list
  elements: str
  returned: always
changed_users:
  description: Users whose entry was rewritten (home, group, shell…).
  type: list
  elements: str
  returned: always
kept:
  description: Users no space wants whose home still exists (removed on a later run).
  type: list
  elements: str
  returned: always
chowned:
  description: Dirs whose ownership was given back to their space (with everything below).
  type: list
  elements: str
  returned: always
"""

import ctypes
import ctypes.util
import os
import tempfile
import time
from collections.abc import Callable

from ansible.module_utils.basic import AnsibleModule

NOLOGIN = "/usr/sbin/nologin"


def _read(path: str) -> list[str]:
    try:
        with open(path, encoding="utf-8") as handle:
            return [line for line in handle.read().splitlines() if line.strip()]
    except FileNotFoundError:
        return []


def _name(line: str) -> str:
    return line.split(":", 1)[0]


def _number(line: str) -> int:
    try:
        return int(line.split(":")[2])
    except (IndexError, ValueError):
        return -1


def plan(accounts: dict, users: list, shared_group: str, uid_min: int, uid_count: int,
         prune: bool, home_exists: Callable[[str], bool], today: int) -> dict:
    """The account files as they must be, and what changes (pure but for ``home_exists``).

    :param accounts: current lines of ``passwd``, ``group``, ``shadow``, ``gshadow``.
    :param users: wanted ``{name, uid, home}``.
    :param shared_group: supplementary group of every wanted user ("" = none); must exist.
    :param uid_min: first managed UID; ``uid_count``: size of the range.
    :param prune: drop managed users nobody wants once their home is gone.
    :param home_exists: tells whether a path exists.
    :param today: days since the epoch (last change field of new shadow entries).
    :returns: ``{accounts, added, removed, changed_users, kept}``.
    :raises ValueError: a wanted name or UID held outside the range, a UID outside the range,
        two wanted users with one name or UID, a missing shared group.
    """
    managed = range(uid_min, uid_min + uid_count)
    wanted = {}
    uids: dict = {}
    for user in users:
        name, uid, home = str(user["name"]), int(user["uid"]), str(user["home"])
        if uid not in managed:
            raise ValueError(f"user {name}: UID {uid} is outside the spaces' range "
                             f"{uid_min}..{uid_min + uid_count - 1}")
        if name in wanted or uid in uids:
            raise ValueError(f"user {name} (UID {uid}) is wanted twice (name or UID): "
                             f"{uids.get(uid, name)}")
        wanted[name] = (uid, home)
        uids[uid] = name

    passwd = accounts["passwd"]
    current = {_name(line): line for line in passwd if _number(line) in managed}
    for line in passwd:
        if _number(line) not in managed and _name(line) in wanted:
            raise ValueError(f"user {_name(line)} exists with UID {_number(line)}, outside the "
                             "spaces' range: it is not a space's user; rename or remove it first")
    for line in accounts["group"]:
        if _number(line) not in managed and _name(line) in wanted:
            raise ValueError(f"group {_name(line)} exists with GID {_number(line)}, outside the "
                             "spaces' range: it is not a space's group; rename or remove it first")

    added, changed, removed, kept = [], [], [], []
    keep_stale = {}
    for name, line in current.items():
        if name in wanted:
            continue
        home = line.split(":")[5] if line.count(":") >= 6 else ""
        clash = _number(line) in uids
        if (prune or clash) and not (home and home_exists(home)):
            removed.append(name)
        elif clash:
            raise ValueError(f"UID {_number(line)} of space user {uids[_number(line)]} is still "
                             f"held by {name}, whose home {home} exists: remove that space's "
                             "files first (state: absent), then run again")
        else:
            keep_stale[name] = line
            if prune:
                kept.append(name)

    managed_lines = {}
    for name, (uid, home) in wanted.items():
        slug = os.path.basename(home.rstrip("/"))
        line = f"{name}:x:{uid}:{uid}:Nuagerie space {slug}:{home}:{NOLOGIN}"
        managed_lines[name] = line
        if name not in current:
            added.append(name)
        elif current[name] != line:
            changed.append(name)
    managed_lines.update(keep_stale)
    # Unmanaged lines stay where they are; managed ones follow, by UID (stable output).
    order = sorted(managed_lines, key=lambda n: (_number(managed_lines[n]), n))
    users_touched = set(current) | set(managed_lines)

    def rebuild(lines: list, touched: set, render: Callable[[str], str]) -> list:
        wanted_lines = [render(n) for n in order]
        # Already right, wherever they sit (a package may append its system user after ours):
        # keep the file as it is.
        if [line for line in lines if _name(line) in touched] == wanted_lines:
            return list(lines)
        return [line for line in lines if _name(line) not in touched] + wanted_lines

    new_passwd = rebuild(passwd, users_touched, managed_lines.__getitem__)
    shadow = {_name(line): line for line in accounts["shadow"]}
    new_shadow = rebuild(accounts["shadow"], users_touched,
                         lambda n: shadow.get(n) or f"{n}:!:{today}::::::")

    groups = {_name(line): line for line in accounts["group"]}
    if shared_group and shared_group not in groups:
        raise ValueError(f"group {shared_group} does not exist")
    # Groups of the range: each user's own; one without its user goes with prune only.
    stale_groups = {_name(line) for line in accounts["group"] if _number(line) in managed
                    and _name(line) not in managed_lines and (prune or _name(line) in removed)}
    groups_touched = set(managed_lines) | stale_groups
    members = ",".join(sorted(wanted))

    def with_members(line: str) -> str:
        fields = line.split(":")
        if shared_group and fields[0] == shared_group and len(fields) >= 4:
            fields[3] = members
        return ":".join(fields)

    def own_group(name: str) -> str:
        return (f"{name}:x:{_number(managed_lines[name])}:" if name in wanted
                else groups.get(name) or f"{name}:x:{_number(managed_lines[name])}:")

    new_group = rebuild([with_members(line) for line in accounts["group"]], groups_touched, own_group)
    gshadow = {_name(line): line for line in accounts["gshadow"]}
    new_gshadow = rebuild([with_members(line) for line in accounts["gshadow"]], groups_touched,
                          lambda n: gshadow.get(n) or f"{n}:!::")
    for name in wanted:
        if name in groups and groups[name] != own_group(name) and name not in added + changed:
            changed.append(name)
    return {"accounts": {"passwd": new_passwd, "group": new_group, "shadow": new_shadow,
                      "gshadow": new_gshadow},
            "added": sorted(added), "removed": sorted(removed), "changed_users": sorted(changed),
            "kept": sorted(kept)}


def _write(path: str, lines: list, mode: int, gid: int) -> None:
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=f".{os.path.basename(path)}.")
    try:
        os.write(fd, ("\n".join(lines) + "\n").encode("utf-8"))
        os.fchown(fd, 0, gid)
        os.fchmod(fd, mode)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def give_back(paths: list, check: bool) -> list:
    """Chown each space's dir (and everything below, deepest first) when its owner is wrong.

    :param paths: ``{path, uid}`` (GID = UID).
    :param check: report only.
    :returns: the dirs given back.
    """
    done = []
    for item in paths:
        path, uid = item["path"], int(item["uid"])
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            continue
        if st.st_uid == uid:   # the owner decides (the config dir's group is nginx's, by design)
            continue
        done.append(path)
        if check:
            continue
        # Deepest first, the dir itself last: a run killed half-way leaves the dir wrong, so the
        # next run walks it again.
        for top, dirs, names in os.walk(path, topdown=False):
            for name in dirs + names:
                os.lchown(os.path.join(top, name), uid, uid)
        os.lchown(path, uid, uid)
    return done


class _Lock:
    """The account files' lock (``lckpwdf``), as useradd and passwd take it."""

    def __init__(self, enabled: bool):
        self.libc = ctypes.CDLL(ctypes.util.find_library("c")) if enabled else None

    def __enter__(self):
        if self.libc is not None and self.libc.lckpwdf() != 0:
            raise OSError("cannot take the account files' lock (lckpwdf): another tool holds it")
        return self

    def __exit__(self, *exc):
        if self.libc is not None:
            self.libc.ulckpwdf()


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "users": {"type": "list", "elements": "dict", "required": True},
            "shared_group": {"type": "str", "default": ""},
            "uid_min": {"type": "int", "required": True},
            "uid_count": {"type": "int", "required": True},
            "prune": {"type": "bool", "default": False},
            "owned_dirs": {"type": "list", "elements": "str", "default": []},
            "files_dir": {"type": "path", "default": "/etc"},
        },
        supports_check_mode=True,
    )
    p = module.params
    base = p["files_dir"]
    paths = {kind: os.path.join(base, kind) for kind in ("passwd", "group", "shadow", "gshadow")}
    changed = False
    if p["shared_group"] and not module.check_mode and \
            p["shared_group"] not in {_name(line) for line in _read(paths["group"])}:
        if base != "/etc":
            module.fail_json(msg=f"group {p['shared_group']} is missing in {base}")
        module.run_command(["groupadd", "--system", p["shared_group"]], check_rc=True)
        changed = True
    try:
        with _Lock(base == "/etc" and not module.check_mode):
            accounts = {kind: _read(path) for kind, path in paths.items()}
            if module.check_mode and p["shared_group"] and \
                    p["shared_group"] not in {_name(line) for line in accounts["group"]}:
                accounts["group"].append(f"{p['shared_group']}:x:999:")
                accounts["gshadow"].append(f"{p['shared_group']}:!::")
            result = plan(accounts, p["users"], p["shared_group"], p["uid_min"], p["uid_count"],
                          p["prune"], os.path.exists, int(time.time() // 86400))
            for kind, lines in result["accounts"].items():
                if lines == accounts[kind]:
                    continue
                changed = True
                if module.check_mode:
                    continue
                st = os.stat(paths[kind]) if os.path.exists(paths[kind]) else None
                secret = kind in ("shadow", "gshadow")
                _write(paths[kind], lines, st.st_mode & 0o7777 if st else (0o640 if secret else 0o644),
                       st.st_gid if st else 0)
        # After the accounts exist: give each space's dirs back to it (a www-data farm migrating).
        chowned = give_back([{"path": os.path.join(str(user["home"]), sub), "uid": user["uid"]}
                             for user in p["users"] for sub in p["owned_dirs"]], module.check_mode)
    except (OSError, ValueError, KeyError) as exc:
        module.fail_json(msg=f"nuagerie_unix_users: {exc}")
    module.exit_json(changed=changed or bool(chowned), added=result["added"],
                     removed=result["removed"], changed_users=result["changed_users"],
                     kept=result["kept"], chowned=chowned)


if __name__ == "__main__":
    main()
