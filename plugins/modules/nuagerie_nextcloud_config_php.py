#!/usr/bin/python
"""Module ``nuagerie_nextcloud_config_php``: read, compare and write the spaces' config.php.

Nextcloud keeps what only it writes (installed, version, maintenance...) in each space's
``config/config.php``; every frontend must hold the same file (docs/web.md). The playbook reads
the hashes everywhere, then copies only the files that differ, in a few tasks for all spaces.
"""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: nuagerie_nextcloud_config_php
short_description: Hash, read or write every space's Nextcloud-owned config.php at once
description:
  - Without C(read) or C(write), returns the sha256 of C(<root>/<slug>/config/config.php) of
    every space directory that has one (read-only).
  - With C(expected) (slug -> sha256, e.g. the first frontend's hashes), also returns C(stale) -
    the expected slugs whose file here is missing or different.
  - C(read) returns the content (base64) of the listed spaces' files (read-only).
  - C(write) replaces the listed spaces' files (atomic rename) where the content differs;
    check mode reports them and writes nothing. A space directory that does not exist is an error.
options:
  root:
    description: Parent of the space directories.
    type: path
    required: true
  expected:
    description: Slug -> sha256 the files should have (read-only comparison).
    type: dict
    default: {}
  read:
    description: Slugs whose file to return.
    type: list
    elements: str
    default: []
  write:
    description: Slug -> base64 content to write (never logged).
    type: dict
    default: {}
  owner:
    description:
      - Owner of written files. "" = the owner of the space's config dir, i.e. the space's own
        Unix user (occ and Nextcloud run as it and rewrite the file; upstream's occ refuses any
        other user than the owner of config.php).
    type: str
    default: ""
  group:
    description: Group of written files ("" = the owner's primary group, the space's own group; never the config dir's, which is nginx's).
    type: str
    default: ""
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
author: Nuagerie
"""

EXAMPLES = r"""
- name: sync | Hash every space's config.php on this frontend
  nuagerie_nextcloud_config_php:
    root: /srv/nextcloud/spaces
  register: __hashes
"""

RETURN = r"""
hashes:
  description: Slug -> sha256 of every space's file (empty with O(read) or O(write)).
  type: dict
  returned: always
contents:
  description: Slug -> base64 content of the O(read) spaces' files (empty without O(read)).
  type: dict
  returned: always
stale:
  description: Slugs of O(expected) whose file here is missing or differs.
  type: list
  elements: str
  returned: always
written:
  description: Slugs whose file was (or, in check mode, would be) replaced.
  type: list
  elements: str
  returned: always
"""

import base64
import grp
import hashlib
import os
import pwd
import re
import tempfile

from ansible.module_utils.basic import AnsibleModule

_SLUG = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


def config_path(root: str, slug: str) -> str:
    if not _SLUG.match(slug):
        raise ValueError(f"invalid slug {slug!r}")
    return os.path.join(root, slug, "config", "config.php")


def hashes(root: str) -> dict:
    out = {}
    try:
        names = os.listdir(root)
    except FileNotFoundError:
        return out
    for slug in names:
        if not _SLUG.match(slug):
            continue
        try:
            with open(config_path(root, slug), "rb") as handle:
                out[slug] = hashlib.sha256(handle.read()).hexdigest()
        except (FileNotFoundError, NotADirectoryError):
            continue
    return out


def sync(params: dict, check: bool) -> dict:
    """Hash, read or write (see the module documentation).

    :returns: ``{hashes, contents, stale, written}``.
    :raises OSError, ValueError, KeyError: on a missing space directory, bad slug or unknown user.
    """
    root = params["root"]
    result = {"hashes": {}, "contents": {}, "stale": [], "written": []}
    if params["write"]:
        for slug, encoded in sorted(params["write"].items()):
            path = config_path(root, slug)
            data = base64.b64decode(encoded)
            if not os.path.isdir(os.path.dirname(path)):
                raise OSError(f"{os.path.dirname(path)} does not exist: converge the web tier first")
            dir_stat = os.stat(os.path.dirname(path))
            uid = pwd.getpwnam(params["owner"]).pw_uid if params["owner"] else dir_stat.st_uid
            # The owner's own group, never the dir's: the config dir's group is nginx's (it may
            # stat config.php), which must not read the file.
            gid = grp.getgrnam(params["group"]).gr_gid if params["group"] else pwd.getpwuid(uid).pw_gid
            try:
                with open(path, "rb") as handle:
                    same = handle.read() == data
                    st = os.fstat(handle.fileno())
                if same and (st.st_uid, st.st_gid, st.st_mode & 0o7777) == (uid, gid, 0o640):
                    continue
                if same:   # right content, wrong owner, group or mode: repair them in place
                    result["written"].append(slug)
                    if not check:
                        os.chown(path, uid, gid)
                        os.chmod(path, 0o640)
                    continue
            except FileNotFoundError:
                pass
            result["written"].append(slug)
            if check:
                continue
            fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".config.php.")
            try:
                os.write(fd, data)
                os.fchown(fd, uid, gid)
                os.fchmod(fd, 0o640)
            finally:
                os.close(fd)
            os.replace(tmp, path)
    elif params["read"]:
        for slug in params["read"]:
            with open(config_path(root, slug), "rb") as handle:
                result["contents"][slug] = base64.b64encode(handle.read()).decode("ascii")
    else:
        result["hashes"] = hashes(root)
        result["stale"] = sorted(slug for slug, sha in (params.get("expected") or {}).items()
                                 if result["hashes"].get(slug) != sha)
    return result


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "root": {"type": "path", "required": True},
            "expected": {"type": "dict", "default": {}},
            "read": {"type": "list", "elements": "str", "default": []},
            "write": {"type": "dict", "default": {}, "no_log": True},
            "owner": {"type": "str", "default": ""},
            "group": {"type": "str", "default": ""},
        },
        supports_check_mode=True,
    )
    try:
        result = sync(module.params, module.check_mode)
    except (OSError, ValueError, KeyError) as exc:
        module.fail_json(msg=f"nuagerie_nextcloud_config_php: {exc}")
    module.exit_json(changed=bool(result["written"]), **result)


if __name__ == "__main__":
    main()
