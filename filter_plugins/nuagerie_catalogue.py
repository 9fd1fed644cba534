"""Nuagerie space catalogue: parse, validate and resolve space documents into space records.

Pure functions: text in, data out (no file system access; the action plugin
``plugins/action/nuagerie_catalogue.py`` reads the directory and calls :func:`parse_document` and
:func:`resolve_catalogue`). The record shape is the contract of ``docs/space-record.md``; the file
format and every rule are described in ``docs/catalogue.md``.

Validation never stops at the first problem: :func:`resolve_catalogue` returns *every* error,
each naming the file, the field and the fix. Hostile or accidental files are refused within the
limits below (``MAX_*``), fast. The one process-wide effect is :func:`gc_paused`, which pauses
the garbage collector while a catalogue is built and restores it.

This module uses its sibling ``nuagerie_names.py``. Ansible loads filter plugin files under
private module names and does not put ``filter_plugins/`` on ``sys.path``, so the sibling is
loaded by path (:func:`_sibling`), under a stable name shared with the action plugin.
"""

from __future__ import annotations

import contextlib
import datetime
import difflib
import gc
import importlib.util
import os
import re
import sys
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass

import yaml
from ansible.errors import AnsibleFilterError


def _sibling(name: str):
    """Import ``filter_plugins/<name>.py`` once, as module ``nuagerie_filter_<name>``.

    :param name: file stem of the sibling, e.g. ``nuagerie_names``.
    :returns: the module object.
    """
    module_name = f"nuagerie_filter_{name}"
    module = sys.modules.get(module_name)
    if module is None:
        path = os.path.join(os.path.dirname(os.path.abspath(__file__)), f"{name}.py")
        spec = importlib.util.spec_from_file_location(module_name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        spec.loader.exec_module(module)
    return module


_names = _sibling("nuagerie_names")

#: Values of ``state``.
STATES = ("active", "disabled", "absent")

#: Fields a space file may contain (``slug``, ``display_name``, ``admin_email`` and ``created`` are
#: required; the others have farm defaults).
KNOWN_FIELDS = ("slug", "display_name", "admin_email", "office", "quota_gb", "max_accounts",
                "state", "nextcloud_release", "aliases", "created", "rotation", "notes")
REQUIRED_FIELDS = ("slug", "display_name", "admin_email", "created")
_KNOWN = frozenset(KNOWN_FIELDS)
_REQUIRED = frozenset(REQUIRED_FIELDS)

#: Per-space secret purposes that ``rotation`` may name (same list as nuagerie_secrets.py).
ROTATION_PURPOSES = ("db_password", "s3_secret_key", "redis_password", "admin_password")
_NO_ROTATION = dict.fromkeys(ROTATION_PURPOSES, 0)

#: Names no space may take, whatever the farm adds (``nuagerie_space_reserved_names``).
BUILTIN_RESERVED = frozenset((
    "admin", "api", "autoconfig", "autodiscover", "cloud", "collabora", "dav", "dns", "ftp",
    "grafana", "imap", "imaginary", "localhost", "logs", "mail", "minio", "monitoring", "mx",
    "nextcloud", "ns", "ns1", "ns2", "nuagerie", "office", "onlyoffice", "pop", "postgres",
    "postgresql", "push", "redis", "root", "s3", "smtp", "sso", "static", "status", "support",
    "webmail", "www",
))

#: Farm settings accepted by :func:`resolve_catalogue` and their defaults.
FARM_DEFAULTS = {
    "domain": None,
    "max_quota_gb": 40,
    "max_accounts": 50,
    "default_quota_gb": 40,
    "default_max_accounts": 50,
    "offices": ["collabora", "onlyoffice"],
    "default_office": "collabora",
    "default_release": None,
    "releases": [],
    "reserved": [],
    "spaces_root": _names.DEFAULT_SPACES_ROOT,
}

_RELEASE_RE = re.compile(r"[0-9]+\.[0-9]+\.[0-9]+\Z")
_DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")
_LABEL_RE = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\Z")
_HOST_RE = re.compile(r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+"
                      r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\Z")
_EMAIL_LOCAL_RE = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+\Z")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")

# Limits (docs/catalogue.md, "Limits"). A space file holds a dozen short fields; anything far
# beyond is a mistake or an attack on the controller, refused with the limit named.

#: Largest space file, checked before the file is read (the action plugin reads at most this
#: many bytes plus one).
MAX_FILE_BYTES = 64 * 1024
#: YAML aliases (``*name``, merges ``<<: *name`` included) one file may use.
MAX_YAML_ALIASES = 10
#: Values (scalars, lists, mappings, keys included) one file may hold once aliases are expanded.
MAX_VALUES = 1000
#: Nesting levels of lists and mappings.
MAX_DEPTH = 32
#: Entries of ``aliases`` (extra domains of a space).
MAX_DOMAIN_ALIASES = 20
#: Characters of ``display_name`` and of ``notes``.
DISPLAY_NAME_MAX = 120
NOTES_MAX = 2000
#: Unknown fields (and rotation purposes) named one by one in a file; the rest are counted.
MAX_NAMED_UNKNOWN = 10


@dataclass(frozen=True, order=True)
class CatalogueError:
    """One validation error: where, what, and how to fix it."""

    file: str
    field: str
    problem: str
    fix: str

    def __str__(self) -> str:
        end = "" if self.fix.endswith((".", "?", "!")) else "."
        return f"{self.file}: {self.field}: {self.problem}. Fix: {self.fix}{end}"

    def as_dict(self) -> dict[str, str]:
        """Return the error as a plain dict (for module results).

        :returns: ``file``, ``field``, ``problem``, ``fix``.
        """
        return {"file": self.file, "field": self.field, "problem": self.problem, "fix": self.fix}


@contextlib.contextmanager
def gc_paused():
    """Pause Python's cyclic garbage collector while a block builds many objects.

    Reading and validating 10,000 spaces allocates a few hundred thousand small containers and
    none of them in a reference cycle; with the collector on, the runs it triggers scan the
    whole heap again and again (in Ansible's process, a large heap) and cost up to a third of
    the time, growing faster than the catalogue. The previous state is restored afterwards.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


# --------------------------------------------------------------------------------------------
# Parsing
#
# Two readers give the same data for every file: a fast line reader for the shapes space files
# have (``key: value`` lines, one-line flow lists and mappings, one level of block list or
# mapping), and libyaml (composed nodes, built by :func:`_to_python`) for everything else. The
# fast reader never guesses: on any line it does not fully recognise it hands the whole file to
# libyaml. ``tests/unit/test_nuagerie_catalogue.py`` checks that both readers agree.
#
# Scalars are read the same way by both: quoted scalars are strings; unquoted ones go through
# :func:`plain_scalar`: YAML 1.1 booleans and nulls, but numbers only in plain decimal form
# (YAML 1.2 core style), so ``020``, ``0x1F``, ``1:20``, ``0o17``, ``1_000``, ``+5`` or ``.inf``
# stay the text written and the validator names the YAML 1.1 reading in its message.

_NULL_WORDS = ("", "~", "null", "Null", "NULL")
_BOOL_WORDS = {word: value for value, words in (
    (True, ("yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON")),
    (False, ("no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"))) for word in words}
_PLAIN_WORDS: dict[str, object] = {**dict.fromkeys(_NULL_WORDS), **_BOOL_WORDS}
_INT_RE = re.compile(r"-?(?:0|[1-9][0-9]{0,99})\Z")  # longer stays text (int() refuses 4,300+)
_FLOAT_RE = re.compile(r"-?(?:0|[1-9][0-9]*)\.[0-9]+(?:[eE][-+]?[0-9]+)?\Z")


def plain_scalar(text: str) -> object:
    """Read an unquoted YAML scalar as the catalogue does.

    ``null``/``~``/empty are ``None``; YAML 1.1 booleans (``yes``, ``no``, ``on``, ``off``,
    ``true``, ``false`` in three cases) are booleans, so the validator can say "YAML read a
    boolean"; integers are only ``-?(0|[1-9][0-9]*)`` (at most 100 digits) and floats
    ``-?(0|[1-9][0-9]*).[0-9]+`` with an optional exponent. Everything else, including YAML
    1.1 octal, hexadecimal, binary, base-60, underscored, signed ``+`` numbers,
    ``.inf``/``.nan`` and dates, stays text.

    :param text: the scalar as written (no quotes).
    :returns: ``None``, a bool, an int, a float or ``text`` itself.
    """
    value = _PLAIN_WORDS.get(text, text)
    if value is not text or text[0] not in "-0123456789":
        return value
    if _INT_RE.match(text):
        return int(text)
    if _FLOAT_RE.match(text):
        return float(text)
    return text


# Fast reader. A file goes to libyaml when it has a character the YAML reader treats specially
# (controls, tab, CR, NEL, LS/PS, BOM, non-characters; DEL and C1 are not printable in YAML).
_FAST_REFUSE = re.compile("[^\n\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd"
                          "\U00010000-\U0010ffff]")
_F_KEY = r"[a-z_][a-z0-9_]{0,127}"  # libyaml refuses implicit keys over 1,024 characters
# A plain scalar in block context: no indicator first ('-' only before a letter, digit or '.'),
# never ': ' or ' #' inside, no trailing space. Possessive: the longest run is the only one.
_F_PLAIN = (r"(?:[^\s\-?:,\[\]{}#&*!|>'\"%@`]|-(?=[0-9A-Za-z.]))"
            r"(?:[^\s#:]++|:(?=\S)|(?<=\S)#|[ ]++(?=[^\s#]))*+")
# A scalar token: "double-quoted without escapes", 'single-quoted without quotes', or plain.
_F_TOKEN = rf"\"[^\"\\\n]*\"|'[^'\n]*'|{_F_PLAIN}"
# A plain scalar inside [...] or {...}: host-name-like words, single spaces between words.
_F_FLOW_PLAIN = (r"(?:[A-Za-z0-9._/+~]|-(?=[0-9A-Za-z.]))[A-Za-z0-9._/+~-]*+"
                 r"(?:[ ]+[A-Za-z0-9._/+~-]+)*+")
_F_FLOW_TOKEN = rf"\"[^\"\\\n]*\"|'[^'\n]*'|{_F_FLOW_PLAIN}"
_F_FLOW_SEQ = rf"\[[ ]*(?:(?:{_F_FLOW_TOKEN})(?:[ ]*,[ ]*(?:{_F_FLOW_TOKEN}))*)?[ ]*\]"
_F_FLOW_PAIR = rf"{_F_KEY}:[ ]+(?:{_F_FLOW_TOKEN})"
_F_FLOW_MAP = rf"\{{[ ]*(?:{_F_FLOW_PAIR}(?:[ ]*,[ ]*{_F_FLOW_PAIR})*)?[ ]*\}}"
_F_TAIL = r"(?:[ ]+\#.*)?[ ]*"
# One match per line, two groups: the head (`key:` at column 0, `  key:` indented, `  -` or
# `---`) and the value (a scalar token, a [flow list] or a {flow mapping}); blank and comment
# lines match with both groups empty. Which value may follow which head is checked in Python.
_FAST_LINES = re.compile(
    rf"(?m)^(?:(---|[ ]*-|[ ]*{_F_KEY}:)(?:[ ]+({_F_TOKEN}|{_F_FLOW_SEQ}|{_F_FLOW_MAP}))?"
    rf"{_F_TAIL}|[ ]*(?:\#.*)?)$")
_FAST_FLOW_TOKENS = re.compile(_F_FLOW_TOKEN)
_FAST_FLOW_PAIRS = re.compile(rf"({_F_KEY}):[ ]+({_F_FLOW_TOKEN})")
_SLOW = object()  # the fast reader's "not mine": parse with libyaml


def _token(token: str) -> object:
    """Value of a scalar token of the fast reader (quoted: the text inside; plain: resolved)."""
    first = token[0]
    if first == '"' or first == "'":
        return token[1:-1]
    return plain_scalar(token)


def _fast_parse(text: str) -> object:
    """Read the common shapes of a space file without libyaml, or give up.

    Recognised lines: blank lines, comments, one ``---`` first, ``key: value`` at column 0 where
    the value is a one-line scalar (plain, or quoted without escapes), a one-line flow list or
    flow mapping of such scalars, or nothing; after ``key:`` without a value, block list items
    (``- value``) or block mapping pairs (``  key: value``) at one indentation. One regular
    expression matches every line (:data:`_FAST_LINES`); a file with a line it does not match
    goes to libyaml.

    :param text: the decoded file.
    :returns: the data (a dict, or ``None`` for a file of comments), or ``_SLOW`` when the file
        has anything else: anchors, tags, multi-line scalars, escapes, deeper nesting, a
        duplicate key, more than :data:`MAX_VALUES` values...
    """
    if _FAST_REFUSE.search(text):
        return _SLOW
    lines = _FAST_LINES.findall(text)
    if len(lines) != text.count("\n") + 1:
        return _SLOW  # a line no alternative matches
    data: dict = {}
    keys: set[str] = set()
    nested: list | dict | None = None  # the block list or mapping under the last `key:`
    nested_keys: set[str] = set()
    open_key: object = _SLOW  # the last `key:` without a value, which nested lines may fill
    indent = 0
    values = 1
    started = False
    words = _PLAIN_WORDS
    for head, token in lines:
        if not head:
            continue  # blank or comment
        first = head[0]
        if first != " " and first != "-":  # `key: value` at column 0
            key = head[:-1]
            if key in keys:
                return _SLOW  # libyaml reports the duplicate with its line
            keys.add(key)
            nested = None
            open_key = _SLOW
            first = token[:1]
            if not first:
                value = None
                open_key = key
            elif first == '"' or first == "'":
                value = token[1:-1]
            elif first == "[":
                value = [_token(each) for each in _FAST_FLOW_TOKENS.findall(token[1:-1])]
                values += len(value)
            elif first == "{":
                value = {}
                flow_keys = set()
                for flow_key, flow_token in _FAST_FLOW_PAIRS.findall(token[1:-1]):
                    if flow_key in flow_keys:
                        return _SLOW  # libyaml reports the duplicate with its line
                    flow_keys.add(flow_key)
                    value[plain_scalar(flow_key)] = _token(flow_token)
                values += 2 * len(flow_keys)
            else:
                value = words.get(token, token)
                if value is token and first in "-0123456789":
                    value = plain_scalar(token)
            data[words.get(key, key)] = value  # a key is never a number: words only
            values += 2
            continue
        if head == "---":
            if started or keys or token:
                return _SLOW
            started = True
            continue
        # A nested line: `  - value` or `  key: value` under the last `key:` without a value.
        if open_key is _SLOW or not token or token[0] == "[" or token[0] == "{":
            return _SLOW
        name = head.lstrip(" ")
        spaces = len(head) - len(name)
        if name == "-":
            if nested is None:
                nested, indent = [], spaces
                data[plain_scalar(open_key)] = nested
            elif nested.__class__ is not list or spaces != indent:
                return _SLOW
            nested.append(_token(token))
            values += 1
            continue
        key = name[:-1]
        if nested is None:
            nested, indent, nested_keys = {}, spaces, set()
            data[plain_scalar(open_key)] = nested
        elif nested.__class__ is not dict or spaces != indent or key in nested_keys:
            return _SLOW
        nested_keys.add(key)
        nested[plain_scalar(key)] = _token(token)
        values += 2
    if values > MAX_VALUES:
        return _SLOW  # libyaml's path reports the limit
    return data if keys else None


class _CatalogueLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """Safe YAML loader (libyaml when available) that leaves unquoted scalars to
    :func:`plain_scalar`: every untagged plain scalar gets the tag ``_PLAIN`` instead of PyYAML's
    YAML 1.1 implicit types (no timestamps, no octal or base-60 numbers)."""

    def resolve(self, kind, value, implicit):
        """Tag of an untagged node (called by the composer).

        :param kind: the node class.
        :param value: the scalar text (scalars only).
        :param implicit: ``(plain, quoted)`` flags of an untagged scalar.
        :returns: ``_PLAIN`` for plain scalars, else the default tag of the kind.
        """
        if kind is yaml.ScalarNode:
            return _PLAIN if implicit[0] else _STR
        return _SEQ if kind is yaml.SequenceNode else _MAP


_TAG = "tag:yaml.org,2002:"
_PLAIN = "nuagerie:plain"
_STR, _SEQ, _MAP = _TAG + "str", _TAG + "seq", _TAG + "map"


class _Refused(Exception):
    """A file the loader refuses to build: ``problem`` and ``fix`` at node ``mark``."""

    def __init__(self, problem: str, fix: str, mark) -> None:
        super().__init__(problem)
        self.problem, self.fix, self.mark = problem, fix, mark


class _Budget:
    """What building one document has used so far (see :data:`MAX_YAML_ALIASES`)."""

    __slots__ = ("values", "aliases", "seen", "building")

    def __init__(self) -> None:
        self.values = 0
        self.aliases = 0
        self.seen: set[int] = set()
        self.building: set[int] = set()


def _at(mark) -> str:
    """`` at line L, column C`` of a YAML mark (1-based), or nothing without a mark."""
    return f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""


def _to_python(node, budget: _Budget, depth: int = 0, copy: bool = False):
    """Build Python data from a composed YAML node graph, within the limits.

    Only plain data is accepted (strings, numbers, booleans, null, lists, mappings, merge keys
    ``<<``); duplicate keys are refused (PyYAML silently keeps the last one), and so are other
    tags. A node reached a second time is an alias (``*name``): each one counts against
    :data:`MAX_YAML_ALIASES`, and every value built, aliased copies included, against
    :data:`MAX_VALUES`, so a "billion laughs" file is refused after a few hundred values instead
    of exhausting the controller's memory. ``copy`` is true inside an aliased node (its nodes
    are all seen again, but only the alias counts).

    :raises _Refused: beyond a limit, or on a recursive alias.
    :raises yaml.constructor.ConstructorError: on data that is not plain.
    """
    identity = id(node)
    if identity in budget.seen:
        if identity in budget.building:
            raise _Refused("is nested too deep: an alias refers to the node that contains it "
                           f"(a recursive alias; the anchor is{_at(node.start_mark)})",
                           "remove the recursive alias", node.start_mark)
        if not copy:
            budget.aliases += 1
            copy = True
        if budget.aliases > MAX_YAML_ALIASES:
            raise _Refused(f"uses more than {MAX_YAML_ALIASES} YAML aliases (*name), the limit of "
                           "a space file (MAX_YAML_ALIASES)",
                           "write the values out instead of anchors (&name) and aliases (*name)",
                           node.start_mark)
    else:
        budget.seen.add(identity)
    budget.values += 1
    if budget.values > MAX_VALUES:
        raise _Refused(f"holds more than {MAX_VALUES} values (counting what YAML aliases "
                       "repeat), the limit of a space file (MAX_VALUES)",
                       "a space file holds a dozen fields: remove the repeated content",
                       node.start_mark)
    if depth > MAX_DEPTH:
        raise _Refused(f"is nested too deep (more than {MAX_DEPTH} levels, MAX_DEPTH)"
                       f"{_at(node.start_mark)}",
                       "a space file is a flat mapping of fields: remove the nesting",
                       node.start_mark)
    kind = node.__class__
    if kind is yaml.ScalarNode:
        if node.tag == _PLAIN:
            return plain_scalar(node.value)
        if node.tag == _STR:
            return node.value
    elif kind is yaml.SequenceNode and node.tag == _SEQ:
        budget.building.add(identity)
        data = [_to_python(child, budget, depth + 1, copy) for child in node.value]
        budget.building.discard(identity)
        return data
    elif kind is yaml.MappingNode and node.tag == _MAP:
        budget.building.add(identity)
        data = _build_mapping(node, budget, depth, copy)
        budget.building.discard(identity)
        return data
    raise yaml.constructor.ConstructorError(None, None, f"unsupported YAML tag {node.tag!r}",
                                            node.start_mark)


def _build_mapping(node, budget: _Budget, depth: int, copy: bool) -> dict:
    """Build a mapping node, with its merge key as the YAML merge type says
    (https://yaml.org/type/merge.html): ``<<: *a`` or ``<<: [*a, *b]`` adds the keys of those
    mappings that the node does not have, earlier mappings winning over later ones. Keys come
    in order of first appearance, merged ones first. One ``<<`` per mapping (PyYAML 6 accepts
    several and lets the text's interning decide which value wins)."""
    seen = set()
    merges = []
    pairs = []
    for key_node, value_node in node.value:
        if key_node.__class__ is not yaml.ScalarNode:
            raise yaml.constructor.ConstructorError(None, None, "a mapping key must be a "
                                                    "plain value", key_node.start_mark)
        if key_node.tag == _PLAIN and key_node.value == "<<" and not merges:
            merges.append(value_node)
            continue
        if key_node.value in seen or (key_node.value == "<<" and key_node.tag == _PLAIN):
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key "
                                                    f"{key_node.value!r}", key_node.start_mark)
        seen.add(key_node.value)
        pairs.append((key_node, value_node))
    data: dict = {}
    for value_node in merges:
        sources = value_node.value if value_node.__class__ is yaml.SequenceNode else [value_node]
        for source in sources:
            if source.__class__ is not yaml.MappingNode:
                raise yaml.constructor.ConstructorError(
                    None, None, "expected a mapping or list of mappings for merging, but found "
                    f"{source.id}", source.start_mark)
            for key, value in _to_python(source, budget, depth + 1, copy).items():
                data.setdefault(key, value)
    for key_node, value_node in pairs:
        data[_to_python(key_node, budget, depth + 1, copy)] = _to_python(value_node, budget,
                                                                         depth + 1, copy)
    return data


def _yaml_error(exc: yaml.YAMLError, text: str) -> tuple[str, str]:
    """Problem and fix for a file libyaml cannot read (with line and column, tabs named).

    :param exc: the error raised by the loader.
    :param text: the file, to look at the character the error points to.
    :returns: ``(problem, fix)``.
    """
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    if mark is not None:
        lines = text.split("\n")
        line = lines[mark.line] if mark.line < len(lines) else ""
        column = mark.column if line[mark.column:mark.column + 1] == "\t" else \
            line.find("\t") if "tab" in problem else -1
        if column >= 0:
            if not line[:column].strip(" "):
                return (f"uses a tab for indentation at line {mark.line + 1}",
                        "indent with spaces (YAML does not allow tabs there)")
            return (f"has a tab at line {mark.line + 1}, column {column + 1} where YAML expects "
                    "spaces", "replace the tab with spaces")
    context = getattr(exc, "context", None)
    if context:
        problem = f"{context}, {problem}"
    return f"is not valid YAML{_at(mark)}: {problem}", "fix the file so it parses as a YAML mapping"


def parse_document(text: str | bytes, file: str) -> dict:
    """Parse the text of one space file.

    :param text: the file content (bytes are decoded as UTF-8).
    :param file: the file's path as it should appear in messages.
    :returns: a document ``{"file": file, "data": <parsed> , "error": None}``, or with
        ``"error"`` set to a message and ``"fix"`` to its fix (``data`` ``None``) when the file
        is too large, cannot be decoded or parsed, or goes beyond a limit.
    """
    size = len(text) if isinstance(text, bytes) or text.isascii() else len(text.encode())
    if size > MAX_FILE_BYTES:
        return {"file": file, "data": None, "error": too_large(size), "fix": TOO_LARGE_FIX}
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            return {"file": file, "data": None, "error": f"is not UTF-8 (byte {exc.start})",
                    "fix": "save it as UTF-8"}
    data = _fast_parse(text)
    if data is not _SLOW:
        return {"file": file, "data": data, "error": None}
    loader = _CatalogueLoader(text)
    try:
        node = loader.get_single_node()
        data = None if node is None else _to_python(node, _Budget())
    except _Refused as exc:
        return {"file": file, "data": None, "error": exc.problem, "fix": exc.fix}
    except yaml.YAMLError as exc:
        problem, fix = _yaml_error(exc, text)
        return {"file": file, "data": None, "error": problem, "fix": fix}
    finally:
        loader.dispose()
    return {"file": file, "data": data, "error": None}


def too_large(size: int) -> str:
    """Problem text for a file of ``size`` bytes over :data:`MAX_FILE_BYTES` (the action plugin
    uses it too, before reading such a file).

    :param size: the file size in bytes.
    :returns: the problem.
    """
    return (f"is {size:,} bytes, over the limit of {MAX_FILE_BYTES:,} bytes for a space file "
            "(MAX_FILE_BYTES)")


#: Fix of :func:`too_large`.
TOO_LARGE_FIX = "a space file holds a dozen short fields: remove what does not belong there"


# --------------------------------------------------------------------------------------------
# Field checks: each returns (value, [(field, problem, fix)])


def _closest(word: str, choices: Iterable[str]) -> str | None:
    """The choice closest to ``word`` (``difflib``, only on errors; long words are cut: no
    choice is longer than 64 characters, and difflib's time grows with the word)."""
    matches = difflib.get_close_matches(word[:64], list(choices), n=1, cutoff=0.6)
    return matches[0] if matches else None


def _shown(value: object, limit: int = 60) -> str:
    """``repr`` of a value for a message, cut to ``limit`` characters: a hostile file must not
    turn into megabytes of messages.

    :param value: the value read.
    :param limit: the longest text to return.
    :returns: the repr, or its beginning followed by ``…`` and its length.
    """
    text = repr(value)
    if len(text) <= limit:
        return text
    return f"{text[:limit - 1]}… ({len(text):,} characters)"


def _type_problem(value: object, expected: str, fix: str | None = None) -> tuple[str, str]:
    """Problem and fix for a value of the wrong type.

    :param value: the value read.
    :param expected: what the field must be, e.g. ``"a whole number"``.
    :param fix: the fix to give (default: quote a boolean, ``write <expected>`` otherwise).
    :returns: ``(problem, fix)``; a boolean is explained as YAML 1.1 reading ``yes``/``no``/
        ``on``/``off`` unquoted as booleans.
    """
    if isinstance(value, bool):
        return (f"must be {expected}; YAML read an unquoted yes/no/on/off/true/false as the "
                f"boolean {str(value).lower()}", fix or "quote the value or correct it")
    if value is None:
        return (f"is empty; it must be {expected}", "set a value or remove the line")
    return (f"must be {expected}, not {type(value).__name__} {_shown(value)}",
            fix or f"write {expected}")


# How YAML 1.1 (PyYAML, Ansible's own YAML) would read a number the catalogue keeps as text:
# (pattern, description with {value}, base for int(), whether the digits are the intended
# decimal number). Checked in order.
_YAML11_NUMBERS = (
    (re.compile(r"[-+]?0[0-7_]+\Z"),
     "a leading zero: YAML 1.1 reads it as the octal number {value}", 8, True),
    (re.compile(r"[-+]?0[0-9_]+\Z"), "a leading zero, the mark of octal in YAML 1.1", None, True),
    (re.compile(r"[-+]?0x[0-9a-fA-F_]+\Z"),
     "YAML 1.1 reads it as the hexadecimal number {value}", 16, False),
    (re.compile(r"[-+]?0o[0-7_]+\Z"), "YAML 1.2 reads it as the octal number {value}", 8, False),
    (re.compile(r"[-+]?0b[01_]+\Z"), "YAML 1.1 reads it as the binary number {value}", 2, False),
    (re.compile(r"[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+\Z"),
     "YAML 1.1 reads it as the base-60 number {value}", 60, False),
    (re.compile(r"[-+]?[0-9][0-9_]*\Z"), "YAML 1.1 reads it as the number {value}", 10, True),
)
_INFINITY_RE = re.compile(r"[-+]?\.(?:inf|Inf|INF)\Z")
_NAN_RE = re.compile(r"\.(?:nan|NaN|NAN)\Z")


def _number_text(text: str) -> tuple[str, int | None] | None:
    """Explain a text that YAML 1.1 would read as a number (``020``, ``0x1F``, ``1:20``...).

    :param text: a string value of a numeric field.
    :returns: ``(explanation, the whole number the author most likely meant or None)``, or
        ``None`` when the text is no number form at all.
    """
    if len(text) > 100:
        return None  # no number anyone meant
    if _INFINITY_RE.match(text):
        return "YAML 1.1 reads it as infinity", None
    if _NAN_RE.match(text):
        return "YAML 1.1 reads it as not-a-number", None
    for pattern, explanation, base, decimal in _YAML11_NUMBERS:
        if pattern.match(text):
            digits = text.replace("_", "")
            sign = -1 if digits.startswith("-") else 1
            digits = digits.lstrip("+-")
            if base == 60:
                value = 0
                for part in digits.split(":"):
                    value = value * 60 + int(part)
                value *= sign
            elif base is not None:
                value = sign * int(digits[2:] if digits[1:2] in ("x", "o", "b") else digits, base)
            else:
                value = None
            if "_" in text and base == 10:
                explanation = "digits grouped with '_': YAML 1.1 reads it as the number {value}"
            elif text.startswith("+") and base == 10:
                explanation = "a '+' sign"
            meant = sign * int(digits) if decimal else value
            return explanation.format(value=value), meant
    return None


def _range_text(minimum: int, maximum: int | None) -> str:
    """``from 1 to 40``, or ``of at least 0`` without a maximum."""
    return f"from {minimum} to {maximum}" if maximum is not None else f"of at least {minimum}"


def _number_fix(meant: int | None, minimum: int, maximum: int | None) -> str:
    """The fix for a number: write ``meant`` only when it is allowed, else the allowed range."""
    if meant is not None and meant >= minimum and (maximum is None or meant <= maximum):
        return f"write {meant}"
    return f"write a whole number {_range_text(minimum, maximum)}"


def _whole_number_problem(value: object, minimum: int, maximum: int | None) -> tuple[str, str]:
    """Problem and fix for a numeric field whose value is not an int (bool, float, text...).

    :param value: the value read.
    :param minimum: the smallest allowed value.
    :param maximum: the largest allowed value (``None``: no maximum).
    :returns: ``(problem, fix)``; the fix never names a value outside the range.
    """
    if isinstance(value, str):
        text = value.strip()
        if _INT_RE.match(text):
            number = int(text)
            if number >= minimum and (maximum is None or number <= maximum):
                return f"is the string {value!r}", "remove the quotes"
            return (f"is the string {_shown(value)}",
                    f"{_number_fix(None, minimum, maximum)}, unquoted")
        reading = _number_text(text)
        if reading is not None:
            explanation, meant = reading
            return (f"{_shown(value)} is not a plain whole number ({explanation})",
                    _number_fix(meant, minimum, maximum))
    if isinstance(value, float) and not isinstance(value, bool):
        if value.is_integer():
            return f"is the float {value!r}", _number_fix(int(value), minimum, maximum)
        return (f"must be a whole number, not the float {value!r}",
                _number_fix(None, minimum, maximum))
    return _type_problem(value, "a whole number", _number_fix(None, minimum, maximum))


def _check_int(value: object, field: str, maximum: int, farm_key: str) -> list:
    if isinstance(value, bool) or not isinstance(value, int):
        problem, fix = _whole_number_problem(value, 1, maximum)
        return [(field, problem, fix)]
    if value <= 0:
        return [(field, f"is {value}; it must be at least 1", f"set 1..{maximum}")]
    if value > maximum:
        return [(field, f"is {value}, above the farm maximum of {maximum} ({farm_key})",
                 f"set at most {maximum}")]
    return []


def hostname_problems(name: object, what: str) -> list[tuple[str, str]]:
    """Check a fully qualified domain name (aliases, email domains).

    :param name: the candidate domain.
    :param what: a short description for messages (``alias``…).
    :returns: ``(problem, fix)`` pairs, empty when valid.
    """
    if name.__class__ is str and len(name) <= 253 and _HOST_RE.match(name) \
            and not name.rpartition(".")[2].isdigit():
        return []  # the common case, in one regular expression
    if not isinstance(name, str) or not name:
        problem, fix = _type_problem(name, "a domain name")
        return [(problem, fix)]
    if len(name) > 253:
        return [(f"{what} {_shown(name)} is not a valid host name (253 characters at most)",
                 "correct the domain")]
    if not name.isascii():
        try:
            puny = name.lower().encode("idna").decode("ascii")
            fix = f"write it in punycode: '{puny}'"
        except UnicodeError:
            fix = "write it in punycode (xn--…)"
        return [(f"{what} {_shown(name)} is not ASCII (IDN must be given as punycode)", fix)]
    if name != name.lower():
        return [(f"{what} {name!r} contains uppercase letters", f"write '{name.lower()}'")]
    if name.endswith("."):
        return [(f"{what} {name!r} ends with '.'", f"write '{name.rstrip('.')}'")]
    labels = name.split(".")
    if labels[-1].isdigit():
        return [(f"{what} {name!r} looks like an IP address, not a domain name",
                 "use a domain name")]
    if len(name) > 253 or len(labels) < 2 or not all(_LABEL_RE.match(label) for label in labels):
        return [(f"{what} {name!r} is not a valid host name (labels of [a-z0-9-], 1..63 chars, "
                 "no leading/trailing '-', at least two labels, 253 chars in all)",
                 "correct the domain")]
    return []


def _check_email(value: object) -> list:
    if not isinstance(value, str) or "@" not in value:
        if isinstance(value, str):
            return [("admin_email", f"{_shown(value)} is not an email address",
                     "write name@domain")]
        problem, fix = _type_problem(value, "an email address")
        return [("admin_email", problem, fix)]
    local, _, domain = value.rpartition("@")
    problems = []
    if not local or not _EMAIL_LOCAL_RE.match(local) or ".." in local \
            or local.startswith(".") or local.endswith("."):
        problems.append(("admin_email", f"{_shown(value)}: the part before '@' is not a valid "
                         "address (ASCII letters, digits, . and !#$%&'*+/=?^_`{|}~- only)",
                         "correct the address"))
    for problem, fix in hostname_problems(domain, "the domain of"):
        problems.append(("admin_email", problem, fix))
    return problems


def _check_created(value: object) -> tuple[str | None, list]:
    if isinstance(value, datetime.datetime):
        return None, [("created", f"is a date and time {value!r}",
                       "write the day only: YYYY-MM-DD")]
    if isinstance(value, datetime.date):
        return value.isoformat(), []
    if not isinstance(value, str) or not _DATE_RE.match(value):
        if isinstance(value, str):
            return None, [("created", f"{_shown(value)} is not a YYYY-MM-DD date",
                           "write the creation day as YYYY-MM-DD, e.g. 2026-11-01")]
        problem, fix = _type_problem(value, "a YYYY-MM-DD date")
        return None, [("created", problem, fix)]
    try:
        datetime.date.fromisoformat(value)
    except ValueError as exc:
        return None, [("created", f"{value!r} is not a real date ({exc})", "correct the date")]
    return value, []


def _check_release(value: object, farm: Mapping) -> list:
    field = "nextcloud_release"
    if isinstance(value, float):
        return [(field, f"is the number {value!r}, not a version string",
                 "quote a full release, e.g. \"31.0.9\"")]
    if not isinstance(value, str) or not _RELEASE_RE.match(value):
        if isinstance(value, str):
            return [(field, f"{_shown(value)} is not a full release number MAJOR.MINOR.PATCH",
                     "pin an exact release such as \"31.0.9\" or remove the field to follow "
                     "the farm default")]
        problem, fix = _type_problem(value, "a quoted release such as \"31.0.9\"")
        return [(field, problem, fix)]
    releases = farm["releases"]
    if releases and value not in releases:
        return [(field, f"{value!r} is not a release this farm provides",
                 f"pin one of {', '.join(releases)} (nuagerie_nextcloud_releases) or remove "
                 "the field")]
    return []


def _check_rotation(value: object) -> tuple[dict, list]:
    if value.__class__ is not dict and not isinstance(value, Mapping):
        problem, fix = _type_problem(value, "a mapping purpose: counter")
        return {}, [("rotation", problem, fix)]
    problems = []
    rotation = dict(_NO_ROTATION)
    unknown = 0
    for purpose, counter in value.items():
        field = f"rotation.{purpose}"
        if purpose not in ROTATION_PURPOSES:
            unknown += 1
            if unknown > MAX_NAMED_UNKNOWN:
                continue
            close = _closest(str(purpose), ROTATION_PURPOSES)
            hint = f"did you mean '{close}'?" if close else f"use one of {', '.join(ROTATION_PURPOSES)}"
            problems.append((field, "is not a secret purpose", hint))
            continue
        if isinstance(counter, bool) or not isinstance(counter, int):
            _, fix = _whole_number_problem(counter, 0, None)
            problem = f"must be an integer >= 0, not {_shown(counter)}"
            reading = _number_text(counter.strip()) if isinstance(counter, str) else None
            if reading is not None:
                problem += f" ({reading[0]})"
            elif isinstance(counter, bool):
                problem += " (YAML read an unquoted yes/no/on/off/true/false as a boolean)"
            problems.append((field, problem, fix))
            continue
        if counter < 0:
            problems.append((field, f"must be an integer >= 0, not {counter!r}",
                             "write the rotation count, e.g. 1"))
            continue
        rotation[purpose] = counter
    if unknown > MAX_NAMED_UNKNOWN:
        problems.append(("rotation", f"has {unknown - MAX_NAMED_UNKNOWN} more unknown purposes "
                         f"(only the first {MAX_NAMED_UNKNOWN} are named, MAX_NAMED_UNKNOWN)",
                         f"keep only {', '.join(ROTATION_PURPOSES)}"))
    return rotation, problems


def _check_aliases(value: object, farm_domain: str) -> tuple[list, list]:
    if value is None:
        return [], []
    if isinstance(value, str):
        return [], [("aliases", "must be a list of domains, not a single string",
                     f"write aliases: [{value}]")]
    if not isinstance(value, list):
        problem, fix = _type_problem(value, "a list of domains")
        return [], [("aliases", problem, fix)]
    if len(value) > MAX_DOMAIN_ALIASES:
        return [], [("aliases", f"lists {len(value)} domains, over the limit of "
                     f"{MAX_DOMAIN_ALIASES} per space (MAX_DOMAIN_ALIASES)",
                     f"keep at most {MAX_DOMAIN_ALIASES} aliases: the domains the association "
                     "really uses")]
    problems = []
    aliases = []
    seen = set()
    for index, alias in enumerate(value):
        field = f"aliases[{index}]"
        found = hostname_problems(alias, "alias")
        if found:
            problems.extend((field, problem, fix) for problem, fix in found)
            continue
        if alias == farm_domain or alias.endswith("." + farm_domain):
            problems.append((field, f"alias {alias!r} is inside the farm domain {farm_domain}",
                             "aliases are the association's own domains; remove it"))
            continue
        if alias in seen:
            problems.append((field, f"alias {alias!r} is listed twice", "remove the duplicate"))
            continue
        seen.add(alias)
        aliases.append(alias)
    return aliases, problems


# --------------------------------------------------------------------------------------------
# Farm settings


def farm_settings(farm: Mapping | None) -> dict:
    """Complete and check the farm settings used by validation.

    :param farm: partial settings (see :data:`FARM_DEFAULTS`); ``domain`` is required.
    :returns: the complete settings.
    :raises AnsibleFilterError: on unknown keys or inconsistent settings.
    """
    farm = dict(farm or {})
    unknown = sorted(set(farm) - set(FARM_DEFAULTS))
    if unknown:
        raise AnsibleFilterError(f"unknown farm setting(s) {unknown}; known: {sorted(FARM_DEFAULTS)}")
    settings = {**FARM_DEFAULTS, **{k: v for k, v in farm.items() if v is not None}}
    domain = settings["domain"]
    if not isinstance(domain, str) or hostname_problems(domain, "farm domain"):
        raise AnsibleFilterError(f"farm domain {domain!r} is not a valid domain "
                                 "(nuagerie_farm_domain)")
    for key in ("max_quota_gb", "max_accounts", "default_quota_gb", "default_max_accounts"):
        value = settings[key]
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise AnsibleFilterError(f"farm setting {key} must be a positive integer, got {value!r}")
    if settings["default_quota_gb"] > settings["max_quota_gb"]:
        raise AnsibleFilterError("farm setting default_quota_gb is above max_quota_gb")
    if settings["default_max_accounts"] > settings["max_accounts"]:
        raise AnsibleFilterError("farm setting default_max_accounts is above max_accounts")
    offices = list(settings["offices"])
    if not offices or settings["default_office"] not in offices:
        raise AnsibleFilterError(f"farm default office {settings['default_office']!r} is not one "
                                 f"of the farm offices {offices}")
    settings["offices"] = offices
    settings["releases"] = [str(release) for release in settings["releases"] or []]
    release = settings["default_release"]
    if release is not None and (not isinstance(release, str) or not _RELEASE_RE.match(release)):
        raise AnsibleFilterError(f"farm default release {release!r} is not MAJOR.MINOR.PATCH "
                                 "(nuagerie_nextcloud_release)")
    if release is not None and settings["releases"] and release not in settings["releases"]:
        raise AnsibleFilterError(f"farm default release {release} is not in the farm releases "
                                 f"{settings['releases']}")
    settings["reserved"] = frozenset(str(name).lower() for name in settings["reserved"] or [])
    settings["domain"] = domain.lower()
    _names.config_dir("x", settings["spaces_root"])  # raises on a relative root
    return settings


# --------------------------------------------------------------------------------------------
# One document


def _free_slug(slug: str, farm: Mapping, taken: Collection[str]) -> str | None:
    """A slug to suggest instead of a reserved one: valid, not reserved, not used in the
    catalogue, at most 63 characters (``asso-<slug>``, ``<slug>-asso``, ``<slug>-2``...).

    :param slug: the refused slug.
    :param farm: farm settings (``reserved``).
    :param taken: the slugs of the catalogue.
    :returns: the suggestion, or ``None`` when no candidate is free.
    """
    for prefix, suffix in [("asso-", ""), ("", "-asso")] + [("", f"-{n}") for n in range(2, 10)]:
        room = _names.SLUG_MAX_LENGTH - len(prefix) - len(suffix)
        candidate = prefix + slug[:room].strip("-") + suffix
        if not _names.slug_problems(candidate) and candidate not in BUILTIN_RESERVED \
                and candidate not in farm["reserved"] and candidate not in taken:
            return candidate
    return None


def _free_suggestions(problems: list, slug: str, farm: Mapping,
                      taken: Collection[str]) -> list:
    """Keep the slug suggested by ``nuagerie_names`` only when it is free.

    ``slug_problems`` suggests the closest valid slug (``WWW`` → ``www``) without knowing the
    farm: when that one is reserved or used by another space, suggest a free one instead.

    :param problems: ``(problem, fix)`` pairs from ``slug_problems``.
    :param slug: the invalid slug.
    :param farm: farm settings (``reserved``).
    :param taken: the slugs of the catalogue.
    :returns: the pairs, fixes rewritten where needed.
    """
    suggestion = _names.suggest_slug(slug)
    if not suggestion or (suggestion not in BUILTIN_RESERVED and suggestion not in farm["reserved"]
                          and suggestion not in taken):
        return problems
    other = _free_slug(suggestion, farm, taken)
    quoted = f"'{suggestion}'"
    return [(problem, fix.replace(quoted, f"'{other}'") if other else
             fix if quoted not in fix else "choose a free slug of [a-z0-9-]")
            for problem, fix in problems]


def _mismatch_fix(slug: str, stem: str, file: str, farm: Mapping, context: Mapping) -> str:
    """Fix for a slug that differs from its file name, suggesting only what is free.

    :param slug: the valid slug written in the file.
    :param stem: the file name without ``.yml``.
    :param file: the file.
    :param farm: farm settings (``reserved``).
    :param context: ``slugs`` and ``files`` of the whole catalogue.
    :returns: rename the file to ``<slug>.yml`` unless that file exists, and/or set the slug to
        the file name when that is a valid, unreserved, unused slug.
    """
    directory = os.path.dirname(file)
    existing = [name for name in (slug + ".yml", slug + ".yaml")
                if os.path.join(directory, name) in context["files"]]
    fixes = []
    if not existing:
        fixes.append(f"rename the file to {slug}.yml")
    if not _names.slug_problems(stem) and stem not in BUILTIN_RESERVED \
            and stem not in farm["reserved"] and stem not in context["slugs"]:
        fixes.append(f"set slug: {stem}")
    fix = " or ".join(fixes) if fixes else "give the space a free slug and name the file after it"
    if existing:
        fix += f" ({existing[0]} already exists)"
    return fix


def _resolve_document(document: Mapping, farm: Mapping,
                      context: Mapping | None = None) -> tuple[dict | None, dict, list]:
    """Validate one parsed document (without cross-file checks).

    Returns ``(record, claims, errors)``: ``record`` is ``None`` when the document has errors;
    ``claims`` always holds the valid slug, domains and names it asks for, so the cross-file checks
    also cover documents that have other errors. ``context`` (``slugs``: every slug of the
    catalogue, ``files``: every file) keeps suggested slugs and file names free.
    """
    if context is None:
        context = {"slugs": frozenset(), "files": frozenset()}
    file = document["file"]
    errors: list[CatalogueError] = []
    claims: dict = {"file": file, "slug": None, "domains": [], "names": {}}

    def add(field: str, problem: str, fix: str) -> None:
        errors.append(CatalogueError(file, field, problem, fix))

    basename = file.rpartition("/")[2]
    stem = basename[:-4] if basename.endswith(".yml") else \
        basename[:-5] if basename.endswith(".yaml") else ""
    if not stem:
        add("(file name)", f"{basename!r} is not a .yml file",
            "name the file <slug>.yml or move it out of the catalogue directory")
    if document.get("error"):
        add("(file)", document["error"],
            document.get("fix") or "fix the file so it parses as a YAML mapping")
        return None, claims, errors
    data = document.get("data")
    if data is None:
        add("(file)", "is empty", "write the space's fields (docs/catalogue.md) or delete the file")
        return None, claims, errors
    if data.__class__ is not dict and not isinstance(data, Mapping):
        add("(file)", f"holds a {type(data).__name__}, not a mapping of fields",
            "write one 'field: value' per line (docs/catalogue.md)")
        return None, claims, errors

    unknown = [field for field in data if field not in _KNOWN] \
        if not _KNOWN.issuperset(data) else []
    for field in unknown[:MAX_NAMED_UNKNOWN]:
        close = _closest(str(field), KNOWN_FIELDS)
        add(str(field), "is not a known field",
            f"did you mean '{close}'?" if close else
            f"remove it; known fields: {', '.join(KNOWN_FIELDS)}")
    if len(unknown) > MAX_NAMED_UNKNOWN:
        add("(file)", f"has {len(unknown) - MAX_NAMED_UNKNOWN} more unknown fields (only the "
            f"first {MAX_NAMED_UNKNOWN} are named, MAX_NAMED_UNKNOWN)",
            f"remove them; known fields: {', '.join(KNOWN_FIELDS)}")
    for field in REQUIRED_FIELDS if not data.keys() >= _REQUIRED else ():
        if field not in data:
            add(field, "is missing", f"add '{field}:' (docs/catalogue.md)")

    slug = data.get("slug")
    if "slug" in data:
        problems = _names.slug_problems(slug)
        if problems and isinstance(slug, str):
            problems = _free_suggestions(problems, slug, farm, context["slugs"])
        for problem, fix in problems:
            add("slug", f"{_shown(slug)} {problem}", fix)
        if not problems:  # a valid slug (always a string)
            claims["slug"] = slug
            claims["domains"].append((slug + "." + farm["domain"], "slug"))
            claims["names"] = _names.space_names(slug, farm["spaces_root"])
            if slug in BUILTIN_RESERVED or slug in farm["reserved"]:
                other = _free_slug(slug, farm, context["slugs"])
                add("slug", f"{slug!r} is a reserved name (farm service or host name)",
                    f"choose another slug, e.g. '{other}'" if other else "choose another slug")
            if stem and stem != slug:
                add("slug", f"{slug!r} does not match the file name {basename!r}",
                    _mismatch_fix(slug, stem, file, farm, context))

    display_name = data.get("display_name")
    if "display_name" in data:
        if not isinstance(display_name, str) or not display_name.strip():
            problem, fix = _type_problem(display_name, "a non-empty name")
            add("display_name", problem, fix)
        elif _CONTROL_RE.search(display_name):
            add("display_name", "contains control characters (newline, tab…)",
                "write the name on one line")
        elif len(display_name) > DISPLAY_NAME_MAX:
            add("display_name", f"is {len(display_name)} characters long",
                f"shorten it to {DISPLAY_NAME_MAX} characters")

    if "admin_email" in data:
        for field, problem, fix in _check_email(data["admin_email"]):
            add(field, problem, fix)

    office = data.get("office", farm["default_office"])
    if office not in farm["offices"] or not isinstance(office, str):
        offices = ", ".join(farm["offices"])
        if isinstance(office, bool) or office is None:
            problem, fix = _type_problem(office, f"one of {offices}", f"use one of {offices}")
            add("office", problem, fix)
        else:
            close = _closest(office, farm["offices"]) if isinstance(office, str) else None
            add("office", f"{_shown(office)} is not an office suite of this farm",
                f"did you mean '{close}'?" if close else f"use one of {offices}")

    quota = data.get("quota_gb", farm["default_quota_gb"])
    if quota.__class__ is not int or not 0 < quota <= farm["max_quota_gb"]:
        for field, problem, fix in _check_int(quota, "quota_gb", farm["max_quota_gb"],
                                              "nuagerie_space_max_quota_gb"):
            add(field, problem, fix)
    accounts = data.get("max_accounts", farm["default_max_accounts"])
    if accounts.__class__ is not int or not 0 < accounts <= farm["max_accounts"]:
        for field, problem, fix in _check_int(accounts, "max_accounts", farm["max_accounts"],
                                              "nuagerie_space_max_accounts"):
            add(field, problem, fix)

    state = data.get("state", "active")
    if state not in STATES or isinstance(state, bool):
        if isinstance(state, str):
            close = _closest(state, STATES)
            add("state", f"{_shown(state)} is not a state",
                f"did you mean '{close}'?" if close else f"use one of {', '.join(STATES)}")
        else:
            problem, fix = _type_problem(state, f"one of {', '.join(STATES)}",
                                         f"use one of {', '.join(STATES)}")
            add("state", problem, fix)

    pinned = "nextcloud_release" in data and data["nextcloud_release"] is not None
    release = data["nextcloud_release"] if pinned else farm["default_release"]
    if pinned:
        for field, problem, fix in _check_release(release, farm):
            add(field, problem, fix)
    elif release is None:
        add("nextcloud_release", "is not set and the farm has no default release",
            "set nuagerie_nextcloud_release in group_vars or pin a release here")

    raw_aliases = data.get("aliases")
    aliases, problems = ([], []) if raw_aliases is None else \
        _check_aliases(raw_aliases, farm["domain"])
    for field, problem, fix in problems:
        add(field, problem, fix)
    if isinstance(raw_aliases, list):
        unclaimed = set(aliases)
        for index, alias in enumerate(data["aliases"]):
            if alias in unclaimed:  # valid, and first occurrence in this file
                unclaimed.discard(alias)
                claims["domains"].append((alias, f"aliases[{index}]"))

    created = None
    if "created" in data:
        created, problems = _check_created(data["created"])
        for field, problem, fix in problems:
            add(field, problem, fix)

    raw_rotation = data.get("rotation")
    rotation, problems = (dict(_NO_ROTATION), []) if raw_rotation is None else \
        _check_rotation(raw_rotation)
    for field, problem, fix in problems:
        add(field, problem, fix)

    notes = data.get("notes")
    if notes is not None and not isinstance(notes, str):
        if isinstance(notes, bool):
            problem, fix = _type_problem(notes, "text", "quote the notes")
            add("notes", problem, fix)
        else:
            add("notes", f"must be text, not {type(notes).__name__}", "quote the notes")
    elif notes is not None and len(notes) > NOTES_MAX:
        add("notes", f"is {len(notes):,} characters long, over the limit of {NOTES_MAX:,} "
            "(NOTES_MAX)", f"shorten the notes to at most {NOTES_MAX:,} characters; keep longer "
            "documents elsewhere and link to them")

    if errors:
        return None, claims, errors
    primary = f"{slug}.{farm['domain']}"
    record = {
        "slug": slug,
        "display_name": display_name,
        "admin_email": data["admin_email"],
        "office": office,
        "quota_gb": quota,
        "max_accounts": accounts,
        "state": state,
        "nextcloud_release": release,
        "nextcloud_release_pinned": pinned,
        "aliases": aliases,
        "domains": [primary, *aliases],
        "created": created,
        "rotation": rotation,
        "notes": notes or "",
        "source": file,
        "names": claims["names"],
    }
    return record, claims, errors


# --------------------------------------------------------------------------------------------
# Whole catalogue


def resolve_catalogue(documents: Iterable[Mapping], farm: Mapping,
                      other_files: Iterable[str] = ()) -> tuple[list, list]:
    """Validate every document and resolve the valid ones into space records.

    Cross-file checks: duplicate slugs, a domain claimed twice (an alias equal to another
    space's primary domain or alias), and any derived name claimed twice in one system.

    :param documents: ``{"file", "data", "error"}`` mappings from :func:`parse_document`.
    :param farm: farm settings (see :func:`farm_settings`).
    :param other_files: files of the catalogue directory that are not documents (refused by
        the reader), so that no fix suggests renaming a file to one of their names.
    :returns: ``(records, errors)``: records sorted by slug (only complete when ``errors`` is
        empty) and the sorted list of :class:`CatalogueError`.
    :raises AnsibleFilterError: if the farm settings themselves are invalid.
    """
    with gc_paused():
        return _resolve_all(documents, farm, other_files)


def _all_distinct(claims: list) -> bool:
    """Tell whether no slug, domain or derived name is claimed twice (the usual case), with set
    sizes instead of the per-claim bookkeeping that names the first claimant of each.

    :param claims: the claims of every document.
    :returns: ``True`` when the cross-file checks have nothing to report.
    """
    slugs = [claim["slug"] for claim in claims if claim["slug"] is not None]
    domains = [domain for claim in claims for domain, _ in claim["domains"]]
    names = [(system, name) for claim in claims for system, name in claim["names"].items()
             if system != "db_role"]
    return len(set(slugs)) == len(slugs) and len(set(domains)) == len(domains) \
        and len(set(names)) == len(names)


def _resolve_all(documents: Iterable[Mapping], farm: Mapping,
                 other_files: Iterable[str]) -> tuple[list, list]:
    """Body of :func:`resolve_catalogue` (which runs it with the collector paused)."""
    settings = farm_settings(farm)
    documents = list(documents)
    context = {
        "slugs": {slug for slug in (document["data"].get("slug") for document in documents
                                    if document.get("data").__class__ is dict
                                    or isinstance(document.get("data"), Mapping))
                  if slug.__class__ is str},
        "files": {document["file"] for document in documents} | set(other_files),
    }
    records = []
    all_claims = []
    errors: list[CatalogueError] = []
    for document in documents:
        record, claims, found = _resolve_document(document, settings, context)
        errors.extend(found)
        all_claims.append(claims)
        if record is not None:
            records.append(record)

    if _all_distinct(all_claims):
        return sorted(records, key=lambda record: record["slug"]), sorted(errors)
    # Cross-file checks in a stable order (valid slugs by slug, then the rest by file): the first
    # claimant owns a domain or name, later ones get the error.
    slug_owner: dict[str, str] = {}
    domain_owner: dict[str, str] = {}
    name_owner: dict[str, dict[str, str]] = {}  # system -> name -> file
    rejected: set[str] = set()
    all_claims.sort(key=lambda claim: (claim["slug"] is None, claim["slug"] or "", claim["file"]))
    for claim in all_claims:
        file, slug = claim["file"], claim["slug"]
        if slug is not None and slug in slug_owner:
            errors.append(CatalogueError(file, "slug", f"{slug!r} is already used by "
                                         f"{slug_owner[slug]}", "give each space its own slug"))
            rejected.add(file)
            continue
        if slug is not None:
            slug_owner[slug] = file
        for domain, field in claim["domains"]:
            if domain in domain_owner:
                errors.append(CatalogueError(file, field, f"domain {domain!r} is already served "
                                             f"by {domain_owner[domain]}",
                                             "a domain can point to one space only; remove it"))
                rejected.add(file)
            else:
                domain_owner[domain] = file
        for system, name in claim["names"].items():
            if system == "db_role":
                continue  # same value as database, by design
            owners = name_owner.setdefault(system, {})
            if name in owners:
                fix = ("choose another slug for the newer of the two spaces (two slugs hash to "
                       "one Unix UID; an existing space's UID never changes)"
                       if system == "unix_uid" else "choose another slug (hash collision)")
                errors.append(CatalogueError(file, "slug", f"derived {system} {name!r} collides "
                                             f"with {owners[name]}", fix))
                rejected.add(file)
            else:
                owners[name] = file
    unique = sorted((record for record in records if record["source"] not in rejected),
                    key=lambda record: record["slug"])
    errors.sort()
    return unique, errors


def format_errors(errors: list, directory: str = "the catalogue") -> str:
    """Format errors for humans: a count, then one line per error, grouped by file.

    :param errors: :class:`CatalogueError` objects.
    :param directory: the catalogue directory, for the heading.
    :returns: the message.
    """
    files = sorted({error.file for error in errors})
    lines = [f"{len(errors)} error(s) in {len(files)} file(s) of {directory}; nothing was "
             "changed:"]
    lines.extend(f"  - {error}" for error in sorted(errors))
    return "\n".join(lines)


def parse_subset(only: object) -> list[str]:
    """Normalise a ``-e spaces=a,b`` value into a list of slugs.

    :param only: ``None``/``""`` (all), a comma or space separated string, or a list.
    :returns: slugs in the given order, duplicates removed; empty means "all spaces".
    :raises AnsibleFilterError: if ``only`` is neither a string nor a list of strings.
    """
    if only is None or only == "":
        return []
    if isinstance(only, str):
        items = re.split(r"[,\s]+", only.strip())
    elif isinstance(only, (list, tuple)) and all(isinstance(item, str) for item in only):
        items = list(only)
    else:
        raise AnsibleFilterError(f"spaces must be a comma separated string or a list of slugs, "
                                 f"got {only!r}")
    return list(dict.fromkeys(item.strip() for item in items if item.strip()))


def select_spaces(records: list, only: object) -> list:
    """Keep the records named in ``only`` (``-e spaces=slug1,slug2``), in catalogue order.

    Call it after the *whole* catalogue validated: a subset never hides an error elsewhere.

    :param records: resolved space records.
    :param only: see :func:`parse_subset`.
    :returns: the selected records (all of them when ``only`` is empty).
    :raises AnsibleFilterError: if a slug in ``only`` is not in the catalogue.
    """
    wanted = parse_subset(only)
    if not wanted:
        return list(records)
    known = {record["slug"] for record in records}
    unknown = [slug for slug in wanted if slug not in known]
    if unknown:
        hints = []
        for slug in unknown:
            close = _closest(slug, known)
            hints.append(f"{slug!r}" + (f" (did you mean {close!r}?)" if close else ""))
        raise AnsibleFilterError(f"spaces: unknown slug(s) {', '.join(hints)}; the catalogue "
                                 f"has {len(known)} space(s)")
    selected = set(wanted)
    return [record for record in records if record["slug"] in selected]


def catalogue_records(documents: Iterable[Mapping], farm: Mapping) -> list:
    """Filter form of :func:`resolve_catalogue` that fails on any error.

    Usage: ``documents | nuagerie_catalogue_resolve({'domain': nuagerie_farm_domain, ...})``.

    :param documents: parsed documents (``file``, ``data``, optional ``error``).
    :param farm: farm settings.
    :returns: the space records, sorted by slug.
    :raises AnsibleFilterError: listing every validation error.
    """
    records, errors = resolve_catalogue(documents, farm)
    if errors:
        raise AnsibleFilterError(format_errors(errors))
    return records


class FilterModule:
    """Catalogue filters of Nuagerie."""

    def filters(self) -> dict:
        """Map filter names to functions.

        :returns: the filter table.
        """
        return {
            "nuagerie_catalogue_resolve": catalogue_records,
            "nuagerie_spaces_select": select_spaces,
        }
