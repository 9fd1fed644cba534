"""Action plugin ``nuagerie_web_files``: render one kind of per-space file for ALL spaces on the
controller, ship them as one gzipped JSON bundle, converge them on the host in one module run.

This is how the web tier stays set-based: 10,000 spaces are one task (one transfer, one module
run), never a loop. The rendering is the pure ``web_bundle`` of
``filter_plugins/nuagerie_nextcloud.py`` (imported by path, as ``nuagerie_catalogue`` does).

Arguments: ``kind`` (config | pools | nginx | timers), ``spaces``, ``settings``, ``master_key``
(config), ``hosts`` (timers: every web host; this host is ``inventory_hostname``), ``extra`` (more
entries, e.g. a role template, converged and validated together), and the module's
``root``, ``prune``, ``validate``. The result never holds file contents (they carry secrets).
"""

from __future__ import annotations

import gzip
import importlib.util
import json
import os
import sys
import tempfile

from ansible.errors import AnsibleActionFail, AnsibleFilterError
from ansible.plugins.action import ActionBase

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FILTER_DIR = os.path.join(REPO_ROOT, "filter_plugins")

_MODULE_ARGS = ("root", "prune", "validate")
_ACTION_ARGS = ("kind", "spaces", "settings", "master_key", "hosts", "extra")


def nextcloud_library():
    """Import ``filter_plugins/nuagerie_nextcloud.py`` once (shared module name).

    :returns: the module object.
    """
    name = "nuagerie_filter_nuagerie_nextcloud"
    module = sys.modules.get(name)
    if module is None:
        spec = importlib.util.spec_from_file_location(name, os.path.join(FILTER_DIR, "nuagerie_nextcloud.py"))
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return module


def _plain(value):
    """Turn Ansible's tagged/lazy containers into plain Python data (for json and speed)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, str):
        return str(value)
    return value


class ActionModule(ActionBase):
    """Render, ship and converge one kind of web-tier file for every space."""

    TRANSFERS_FILES = True
    _VALID_ARGS = frozenset(_MODULE_ARGS + _ACTION_ARGS)

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp
        args = self._task.args
        unknown = set(args) - self._VALID_ARGS
        if unknown:
            raise AnsibleActionFail(f"nuagerie_web_files: unknown argument(s) {sorted(unknown)}")
        for required in ("kind", "spaces", "settings", "root"):
            if required not in args:
                raise AnsibleActionFail(f"nuagerie_web_files: {required!r} is required")
        library = nextcloud_library()
        try:
            entries = library.web_bundle(
                _plain(args["spaces"]), args["kind"], _plain(args["settings"]),
                master_key=str(args.get("master_key") or ""),
                host=(task_vars or {}).get("inventory_hostname", ""),
                hosts=_plain(args.get("hosts")))
        except AnsibleFilterError as exc:
            raise AnsibleActionFail(f"nuagerie_web_files ({args['kind']}): {exc}") from exc
        extra = _plain(args.get("extra") or [])
        if not isinstance(extra, list) or not all(isinstance(e, dict) and "path" in e for e in extra):
            raise AnsibleActionFail("nuagerie_web_files: extra must be a list of entries with a path")
        entries = entries + extra

        fd, local = tempfile.mkstemp(prefix="nuagerie-web-", suffix=".json.gz")
        os.close(fd)
        try:
            with gzip.open(local, "wt", encoding="utf-8", compresslevel=3) as handle:
                json.dump(entries, handle, separators=(",", ":"))
            self._make_tmp_path()
            remote = self._connection._shell.join_path(self._connection._shell.tmpdir, "bundle.json.gz")
            self._transfer_file(local, remote)
            self._fixup_perms2((self._connection._shell.tmpdir, remote))
            module_args = {key: args[key] for key in _MODULE_ARGS if key in args}
            module_args["bundle"] = remote
            result.update(self._execute_module(module_name="nuagerie_web_files",
                                               module_args=module_args, task_vars=task_vars))
        finally:
            os.unlink(local)
            self._remove_tmp_path(self._connection._shell.tmpdir)
        result["entries"] = len(entries)
        return result
