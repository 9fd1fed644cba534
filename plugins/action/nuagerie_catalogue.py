"""Action plugin ``nuagerie_catalogue``: load, validate and resolve the space catalogue.

Runs on the controller only (no connection to the target, check-mode safe, never changes
anything). All file I/O of the catalogue lives here; parsing, validation and resolution are the
pure functions of ``filter_plugins/nuagerie_catalogue.py``.

Sharing code with ``filter_plugins/``: the pure module is imported *by path* with importlib
(:func:`catalogue_library`), under the stable module name ``nuagerie_filter_nuagerie_catalogue``
that the filter module itself uses for its siblings. The path is found from this file's location
(``<repo>/plugins/action/`` → ``<repo>/filter_plugins/``), so it works from any working directory,
under molecule (which points ``action_plugins`` at the same tree) and in the unit tests.
"""

from __future__ import annotations

import errno
import importlib.util
import os
import stat
import sys

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FILTER_DIR = os.path.join(REPO_ROOT, "filter_plugins")

#: Files of a catalogue directory that are not spaces.
IGNORED_FILES = frozenset(("README.md",))

#: Above this many spaces a successful result is hidden from callbacks (as with
#: no_log): at 10,000 spaces the records weigh ~13 MB, and formatting them for the console costs
#: about 2 s of CPU on every run for output nobody reads. Failures are always shown in full.
QUIET_ABOVE = 100


def catalogue_library():
    """Import ``filter_plugins/nuagerie_catalogue.py`` (once) and return it.

    :returns: the module object.
    :raises AnsibleActionFail: if the file is missing (broken checkout).
    """
    name = "nuagerie_filter_nuagerie_catalogue"
    module = sys.modules.get(name)
    if module is None:
        path = os.path.join(FILTER_DIR, "nuagerie_catalogue.py")
        if not os.path.isfile(path):
            raise AnsibleActionFail(f"nuagerie_catalogue: {path} is missing")
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return module


def display_path(path: str) -> str:
    """Path for messages and the record's ``source``: relative to the repository when inside it.

    :param path: an absolute path.
    :returns: the path to show.
    """
    relative = os.path.relpath(path, REPO_ROOT)
    return path if relative.startswith("..") else relative


#: What a directory entry that is neither a regular file nor a directory is, by ``stat`` test.
_SPECIAL_FILES = ((stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISSOCK, "a socket"),
                  (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"))

# Opening a space file never follows a symlink and never waits (a FIFO opened for reading
# blocks until a writer comes); the entry was checked before, these flags close the race.
_OPEN_FLAGS = os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)


def _open_space_file(path: str, flags: int) -> int:
    """``opener`` for :func:`open`: add :data:`_OPEN_FLAGS`.

    :param path: the file.
    :param flags: the flags ``open`` chose.
    :returns: the file descriptor.
    """
    return os.open(path, flags | _OPEN_FLAGS)


def _special_file(entry: os.DirEntry) -> str:
    """Describe a directory entry that is not a regular file, without opening it.

    :param entry: the entry.
    :returns: e.g. ``"a FIFO (named pipe)"``.
    """
    try:
        mode = entry.stat(follow_symlinks=False).st_mode
    except OSError:
        return "not a regular file"
    for test, what in _SPECIAL_FILES:
        if test(mode):
            return what
    return "not a regular file"


def _symlink_error(lib, entry: os.DirEntry, shown: str, real_directory: str):
    """The error for a symlink in the catalogue (never followed), pointing outside or inside.

    :param lib: the filter module (:func:`catalogue_library`).
    :param entry: the link.
    :param shown: the link's path for messages.
    :param real_directory: the catalogue directory, symlinks resolved.
    :returns: a ``CatalogueError``.
    """
    real = os.path.realpath(entry.path)
    if real != real_directory and not real.startswith(real_directory + os.sep):
        return lib.CatalogueError(shown, "(file)", f"is a symlink to {display_path(real)}, "
                                  "outside the catalogue",
                                  "copy the space file into the catalogue directory or remove "
                                  "the link: a catalogue reads no file from elsewhere")
    return lib.CatalogueError(shown, "(file)", f"is a symlink (to "
                              f"{os.path.relpath(real, real_directory)} in the catalogue)",
                              "remove the link: a space is one regular file named after its "
                              "slug, a link would describe a space twice")


def read_catalogue(directory: str) -> tuple[list, list]:
    """Read and parse every space file of a catalogue directory.

    Hostile or accidental entries are refused without being read: symlinks (a link to a file
    outside the catalogue would read any controller file; links are never followed, inside the
    directory either), subdirectories, FIFOs, sockets and devices (never opened: opening a FIFO
    would hang), and files over ``MAX_FILE_BYTES`` (checked with ``fstat`` on the opened file,
    and at most that many bytes plus one are ever read).

    :param directory: the catalogue directory (``inventories/<env>/spaces``).
    :returns: ``(documents, errors)``: parsed documents for :func:`resolve_catalogue` and
        the directory-level errors (subdirectories, files that are not ``.yml``, links, special
        or oversized files).
    :raises AnsibleActionFail: if the directory does not exist or cannot be read.
    """
    lib = catalogue_library()
    directory = os.path.abspath(directory)
    if not os.path.isdir(directory):
        raise AnsibleActionFail(f"catalogue directory {directory} does not exist: create it "
                                "(one <slug>.yml per space) or set catalogue_dir")
    documents = []
    errors = []
    try:
        entries = sorted(os.scandir(directory), key=lambda entry: entry.name)
    except OSError as exc:
        raise AnsibleActionFail(f"cannot read catalogue directory {directory}: {exc}") from exc
    shown_directory = display_path(directory)  # once: relpath per file costs 20 µs
    real_directory = os.path.realpath(directory)
    limit = lib.MAX_FILE_BYTES
    with lib.gc_paused():
        for entry in entries:
            name = entry.name
            shown = os.path.join(shown_directory, name)
            if name.startswith(".") or name in IGNORED_FILES:
                continue
            if entry.is_symlink():
                errors.append(_symlink_error(lib, entry, shown, real_directory))
                continue
            if entry.is_dir(follow_symlinks=False):
                errors.append(lib.CatalogueError(shown, "(file name)", "is a directory",
                                                 "keep one flat directory of <slug>.yml files"))
                continue
            if not name.endswith((".yml", ".yaml")):
                errors.append(lib.CatalogueError(shown, "(file name)",
                                                 f"{name!r} is not a .yml file",
                                                 "rename it <slug>.yml or remove it"))
                continue
            if not entry.is_file(follow_symlinks=False):
                errors.append(lib.CatalogueError(shown, "(file)", f"is {_special_file(entry)}, "
                                                 "not a regular file", "remove it: a space is a "
                                                 "regular <slug>.yml file"))
                continue
            try:
                with open(entry.path, "rb", buffering=0, opener=_open_space_file) as handle:
                    info = os.fstat(handle.fileno())
                    regular = stat.S_ISREG(info.st_mode)  # else replaced since it was listed
                    size = info.st_size if regular else 0
                    content = b"" if size > limit or not regular else handle.read(limit + 1)
                    while len(content) < min(size, limit + 1):  # a short read: read on
                        more = handle.read(limit + 1 - len(content))
                        if not more:
                            break
                        content += more
            except OSError as exc:
                if exc.errno == errno.ELOOP:  # a symlink since the directory was listed
                    errors.append(lib.CatalogueError(shown, "(file)", "is a symlink",
                                                     "remove the link: a space is one regular "
                                                     "file"))
                else:
                    errors.append(lib.CatalogueError(shown, "(file)", f"cannot be read "
                                                     f"({exc.strerror})", "fix its permissions"))
                continue
            if not regular:
                errors.append(lib.CatalogueError(shown, "(file)", "is not a regular file",
                                                 "remove it: a space is a regular <slug>.yml "
                                                 "file"))
                continue
            if size > limit or len(content) > limit:
                errors.append(lib.CatalogueError(shown, "(file)",
                                                 lib.too_large(max(size, len(content))),
                                                 lib.TOO_LARGE_FIX))
                continue
            documents.append(lib.parse_document(content, shown))
    return documents, errors


def load_catalogue(directory: str, farm: dict) -> tuple[list, list]:
    """Read, validate and resolve a catalogue directory.

    :param directory: the catalogue directory.
    :param farm: farm settings (see ``farm_settings`` in the filter module).
    :returns: ``(records, errors)``, errors sorted, records sorted by slug.
    :raises AnsibleActionFail: on an unreadable directory.
    """
    lib = catalogue_library()
    documents, errors = read_catalogue(directory)
    records, found = lib.resolve_catalogue(documents, farm, [error.file for error in errors])
    return records, sorted(errors + found)


class ActionModule(ActionBase):
    """Load the catalogue on the controller and return the space records."""

    TRANSFERS_FILES = False
    _requires_connection = False
    _supports_check_mode = True

    def run(self, tmp=None, task_vars=None):
        """Run the action.

        :param tmp: unused.
        :param task_vars: task variables.
        :returns: the result: ``spaces`` (every record), ``selected_spaces`` (the records this
            run acts on), ``selection`` (a strict subset), ``total``, ``selected`` or
            ``failed`` with ``msg`` and ``errors`` (file, field, problem, fix).
        """
        result = super().run(tmp, task_vars)
        del tmp
        _, args = self.validate_argument_spec(argument_spec={
            "path": {"type": "path", "required": True},
            "farm": {"type": "dict", "required": True},
            "only": {"type": "raw", "default": ""},
        })
        lib = catalogue_library()
        try:
            records, errors = load_catalogue(args["path"], args["farm"])
        except lib.AnsibleFilterError as exc:  # invalid farm settings
            raise AnsibleActionFail(str(exc)) from exc
        result["changed"] = False
        if errors:
            result["failed"] = True
            result["msg"] = lib.format_errors(errors, display_path(os.path.abspath(args["path"])))
            result["errors"] = [error.as_dict() for error in errors]
            return result
        try:
            selected = lib.select_spaces(records, args["only"])
        except lib.AnsibleFilterError as exc:
            raise AnsibleActionFail(str(exc)) from exc
        # Two lists under two names (issue 11): whole-farm artefacts are rendered from
        # ``spaces`` (always the whole catalogue); per-space actions use ``selected_spaces``.
        result["spaces"] = records
        result["selected_spaces"] = selected if len(selected) < len(records) else records
        result["selection"] = len(selected) < len(records)
        result["total"] = len(records)
        result["selected"] = len(selected)
        result["msg"] = f"{len(records)} space(s) valid, {len(selected)} selected"
        if len(records) > QUIET_ABOVE:
            result["_ansible_no_log"] = True
        return result
