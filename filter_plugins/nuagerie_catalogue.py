"""Nuagerie space catalogue: parse, validate and resolve space documents into space records.

Pure functions: text in, data out (no file system access; the action plugin
``plugins/action/nuagerie_catalogue.py`` reads the directory and calls :func:`parse_document` and
:func:`resolve_catalogue`). The record shape is the contract of ``docs/space-record.md``; the file
format and every rule are described in ``docs/catalogue.md``.

Validation never stops at the first problem: :func:`resolve_catalogue` returns *every* error,
each naming the file, the field and the fix.

This module uses its sibling ``nuagerie_names.py``. Ansible loads filter plugin files under
private module names and does not put ``filter_plugins/`` on ``sys.path``, so the sibling is
loaded by path (:func:`_sibling`), under a stable name shared with the action plugin.
"""

from __future__ import annotations

import datetime
import difflib
import importlib.util
import os
import re
import sys
from collections.abc import Iterable, Mapping
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

#: Per-space secret purposes that ``rotation`` may name (same list as nuagerie_secrets.py).
ROTATION_PURPOSES = ("db_password", "s3_secret_key", "redis_password", "admin_password")

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

_FILE_RE = re.compile(r"(?P<stem>.+)\.ya?ml\Z")
_RELEASE_RE = re.compile(r"[0-9]+\.[0-9]+\.[0-9]+\Z")
_DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")
_LABEL_RE = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\Z")
_EMAIL_LOCAL_RE = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+\Z")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
DISPLAY_NAME_MAX = 120


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


# --------------------------------------------------------------------------------------------
# Parsing


class _CatalogueLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """Safe YAML loader (libyaml when available) whose implicit types exclude timestamps."""


# A date written `created: 2026-11-01` stays the string "2026-11-01": the validator checks it
# instead of PyYAML failing the whole file on `2026-13-01`.
_CatalogueLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}

_TAG = "tag:yaml.org,2002:"
_SCALAR_TAGS = frozenset(_TAG + name for name in ("int", "float", "bool", "null"))
_MAX_DEPTH = 32


def _to_python(loader, node, depth: int = 0):
    """Build Python data from a YAML node tree: a lean SafeConstructor for space files.

    Only plain data is accepted (str, int, float, bool, null, lists, mappings, merge keys); it
    rejects duplicate mapping keys (PyYAML silently keeps the last one) and other tags. It is
    about a third faster than ``construct_document``, which matters at 10,000 files.
    """
    if depth > _MAX_DEPTH:
        raise yaml.constructor.ConstructorError(None, None, "is nested too deep (a recursive "
                                                "alias?)", node.start_mark)
    kind = node.__class__
    if kind is yaml.ScalarNode:
        if node.tag == _TAG + "str":
            return node.value
        if node.tag in _SCALAR_TAGS:
            return loader.yaml_constructors[node.tag](loader, node)
    elif kind is yaml.SequenceNode and node.tag == _TAG + "seq":
        return [_to_python(loader, child, depth + 1) for child in node.value]
    elif kind is yaml.MappingNode and node.tag == _TAG + "map":
        seen = set()
        for key_node, _ in node.value:
            if key_node.__class__ is yaml.ScalarNode and key_node.tag != _TAG + "merge":
                if key_node.value in seen:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"duplicate key {key_node.value!r}", key_node.start_mark)
                seen.add(key_node.value)
        loader.flatten_mapping(node)  # resolves `<<: *anchor` merge keys
        data = {}
        for key_node, value_node in node.value:
            if key_node.__class__ is not yaml.ScalarNode:
                raise yaml.constructor.ConstructorError(None, None, "a mapping key must be a "
                                                        "plain value", key_node.start_mark)
            data[_to_python(loader, key_node, depth + 1)] = _to_python(loader, value_node,
                                                                       depth + 1)
        return data
    raise yaml.constructor.ConstructorError(None, None, f"unsupported YAML tag {node.tag!r}",
                                            node.start_mark)


def parse_document(text: str | bytes, file: str) -> dict:
    """Parse the text of one space file.

    :param text: the file content (bytes are decoded as UTF-8).
    :param file: the file's path as it should appear in messages.
    :returns: a document ``{"file": file, "data": <parsed> , "error": None}``, or with
        ``"error"`` set to a message (``data`` ``None``) when the file cannot be decoded or parsed.
    """
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            return {"file": file, "data": None,
                    "error": f"is not UTF-8 (byte {exc.start}): save it as UTF-8"}
    loader = _CatalogueLoader(text)
    try:
        node = loader.get_single_node()
        data = None if node is None else _to_python(loader, node)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        context = getattr(exc, "context", None)
        if context:
            problem = f"{context}, {problem}"
        return {"file": file, "data": None, "error": f"is not valid YAML{where}: {problem}"}
    finally:
        loader.dispose()
    return {"file": file, "data": data, "error": None}


# --------------------------------------------------------------------------------------------
# Field checks: each returns (value, [(field, problem, fix)])


def _closest(word: str, choices: Iterable[str]) -> str | None:
    matches = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return matches[0] if matches else None


def _type_problem(value: object, expected: str) -> tuple[str, str]:
    if isinstance(value, bool):
        return (f"must be {expected}; YAML read an unquoted yes/no/on/off/true/false as the "
                f"boolean {str(value).lower()}", "quote the value or correct it")
    if value is None:
        return (f"is empty; it must be {expected}", "set a value or remove the line")
    return (f"must be {expected}, not {type(value).__name__} {value!r}", f"write {expected}")


def _check_int(value: object, field: str, maximum: int, farm_key: str) -> list:
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, str) and value.strip().isdigit():
            return [(field, f"is the string {value!r}", "remove the quotes")]
        if isinstance(value, float) and value.is_integer():
            return [(field, f"is the float {value!r}", f"write {int(value)}")]
        problem, fix = _type_problem(value, "a whole number")
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
    if not isinstance(name, str) or not name:
        problem, fix = _type_problem(name, "a domain name")
        return [(problem, fix)]
    if not name.isascii():
        try:
            puny = name.lower().encode("idna").decode("ascii")
            fix = f"write it in punycode: '{puny}'"
        except UnicodeError:
            fix = "write it in punycode (xn--…)"
        return [(f"{what} {name!r} is not ASCII (IDN must be given as punycode)", fix)]
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
            return [("admin_email", f"{value!r} is not an email address", "write name@domain")]
        problem, fix = _type_problem(value, "an email address")
        return [("admin_email", problem, fix)]
    local, _, domain = value.rpartition("@")
    problems = []
    if not local or not _EMAIL_LOCAL_RE.match(local) or ".." in local \
            or local.startswith(".") or local.endswith("."):
        problems.append(("admin_email", f"{value!r}: the part before '@' is not a valid "
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
            return None, [("created", f"{value!r} is not a YYYY-MM-DD date",
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
            return [(field, f"{value!r} is not a full release number MAJOR.MINOR.PATCH",
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
    if not isinstance(value, Mapping):
        problem, fix = _type_problem(value, "a mapping purpose: counter")
        return {}, [("rotation", problem, fix)]
    problems = []
    rotation = {purpose: 0 for purpose in ROTATION_PURPOSES}
    for purpose, counter in value.items():
        field = f"rotation.{purpose}"
        if purpose not in ROTATION_PURPOSES:
            close = _closest(str(purpose), ROTATION_PURPOSES)
            hint = f"did you mean '{close}'?" if close else f"use one of {', '.join(ROTATION_PURPOSES)}"
            problems.append((field, "is not a secret purpose", hint))
            continue
        if isinstance(counter, bool) or not isinstance(counter, int) or counter < 0:
            problems.append((field, f"must be an integer >= 0, not {counter!r}",
                             "write the rotation count, e.g. 1"))
            continue
        rotation[purpose] = counter
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


def _resolve_document(document: Mapping, farm: Mapping) -> tuple[dict | None, dict, list]:
    """Validate one parsed document (without cross-file checks).

    Returns ``(record, claims, errors)``: ``record`` is ``None`` when the document has errors;
    ``claims`` always holds the valid slug, domains and names it asks for, so the cross-file checks
    also cover documents that have other errors.
    """
    file = document["file"]
    errors: list[CatalogueError] = []
    claims: dict = {"file": file, "slug": None, "domains": [], "names": {}}

    def add(field: str, problem: str, fix: str) -> None:
        errors.append(CatalogueError(file, field, problem, fix))

    basename = os.path.basename(file)
    match = _FILE_RE.match(basename)
    if not match:
        add("(file name)", f"{basename!r} is not a .yml file",
            "name the file <slug>.yml or move it out of the catalogue directory")
    if document.get("error"):
        add("(file)", document["error"], "fix the file so it parses as a YAML mapping")
        return None, claims, errors
    data = document.get("data")
    if data is None:
        add("(file)", "is empty", "write the space's fields (docs/catalogue.md) or delete the file")
        return None, claims, errors
    if not isinstance(data, Mapping):
        add("(file)", f"holds a {type(data).__name__}, not a mapping of fields",
            "write one 'field: value' per line (docs/catalogue.md)")
        return None, claims, errors

    for field in data:
        if field not in KNOWN_FIELDS:
            close = _closest(str(field), KNOWN_FIELDS)
            add(str(field), "is not a known field",
                f"did you mean '{close}'?" if close else
                f"remove it; known fields: {', '.join(KNOWN_FIELDS)}")
    for field in REQUIRED_FIELDS:
        if field not in data:
            add(field, "is missing", f"add '{field}:' (docs/catalogue.md)")

    slug = data.get("slug")
    if "slug" in data:
        for problem, fix in _names.slug_problems(slug):
            add("slug", f"{slug!r} {problem}", fix)
        if isinstance(slug, str) and _names.is_valid_slug(slug):
            claims["slug"] = slug
            claims["domains"].append((slug + "." + farm["domain"], "slug"))
            claims["names"] = _names.space_names(slug, farm["spaces_root"])
            if slug in BUILTIN_RESERVED or slug in farm["reserved"]:
                add("slug", f"{slug!r} is a reserved name (farm service or host name)",
                    "choose another slug, e.g. 'asso-" + slug + "'")
            if match and match.group("stem") != slug:
                add("slug", f"{slug!r} does not match the file name {basename!r}",
                    f"rename the file to {slug}.yml or set slug: {match.group('stem')}")

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
    if office not in farm["offices"]:
        close = _closest(str(office), farm["offices"]) if isinstance(office, str) else None
        add("office", f"{office!r} is not an office suite of this farm",
            f"did you mean '{close}'?" if close else f"use one of {', '.join(farm['offices'])}")

    quota = data.get("quota_gb", farm["default_quota_gb"])
    for field, problem, fix in _check_int(quota, "quota_gb", farm["max_quota_gb"],
                                          "nuagerie_space_max_quota_gb"):
        add(field, problem, fix)
    accounts = data.get("max_accounts", farm["default_max_accounts"])
    for field, problem, fix in _check_int(accounts, "max_accounts", farm["max_accounts"],
                                          "nuagerie_space_max_accounts"):
        add(field, problem, fix)

    state = data.get("state", "active")
    if state not in STATES or isinstance(state, bool):
        if isinstance(state, str):
            close = _closest(state, STATES)
            add("state", f"{state!r} is not a state",
                f"did you mean '{close}'?" if close else f"use one of {', '.join(STATES)}")
        else:
            problem, fix = _type_problem(state, f"one of {', '.join(STATES)}")
            add("state", problem, fix)

    pinned = "nextcloud_release" in data and data["nextcloud_release"] is not None
    release = data["nextcloud_release"] if pinned else farm["default_release"]
    if pinned:
        for field, problem, fix in _check_release(release, farm):
            add(field, problem, fix)
    elif release is None:
        add("nextcloud_release", "is not set and the farm has no default release",
            "set nuagerie_nextcloud_release in group_vars or pin a release here")

    aliases, problems = _check_aliases(data.get("aliases"), farm["domain"])
    for field, problem, fix in problems:
        add(field, problem, fix)
    if isinstance(data.get("aliases"), list):
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

    rotation, problems = _check_rotation({} if data.get("rotation") is None
                                         else data["rotation"])
    for field, problem, fix in problems:
        add(field, problem, fix)

    notes = data.get("notes")
    if notes is not None and not isinstance(notes, str):
        add("notes", f"must be text, not {type(notes).__name__}", "quote the notes")

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


def resolve_catalogue(documents: Iterable[Mapping], farm: Mapping) -> tuple[list, list]:
    """Validate every document and resolve the valid ones into space records.

    Cross-file checks: duplicate slugs, a domain claimed twice (an alias equal to another
    space's primary domain or alias), and any derived name claimed twice in one system.

    :param documents: ``{"file", "data", "error"}`` mappings from :func:`parse_document`.
    :param farm: farm settings (see :func:`farm_settings`).
    :returns: ``(records, errors)``: records sorted by slug (only complete when ``errors`` is
        empty) and the sorted list of :class:`CatalogueError`.
    :raises AnsibleFilterError: if the farm settings themselves are invalid.
    """
    settings = farm_settings(farm)
    records = []
    all_claims = []
    errors: list[CatalogueError] = []
    for document in documents:
        record, claims, found = _resolve_document(document, settings)
        errors.extend(found)
        all_claims.append(claims)
        if record is not None:
            records.append(record)

    # Cross-file checks in a stable order (valid slugs by slug, then the rest by file): the first
    # claimant owns a domain or name, later ones get the error.
    slug_owner: dict[str, str] = {}
    domain_owner: dict[str, str] = {}
    name_owner: dict[tuple[str, str], str] = {}
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
            if (system, name) in name_owner:
                errors.append(CatalogueError(file, "slug", f"derived {system} {name!r} collides "
                                             f"with {name_owner[(system, name)]}",
                                             "choose another slug (hash collision)"))
                rejected.add(file)
            else:
                name_owner[(system, name)] = file
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
